package driver

import "github.com/procreg/procreg"

// QueuedCalls reports how many calls wait in the group-commit queue of a
// registry made by NewRegistry, so that the external tests can line calls
// up behind a transaction they hold open.
func QueuedCalls(r procreg.Registry) int {
	e := r.(*engine)
	if e.group == nil {
		return 0
	}
	e.group.mu.Lock()
	defer e.group.mu.Unlock()
	return len(e.group.queue)
}
