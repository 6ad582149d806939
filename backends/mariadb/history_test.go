package mariadb_test

import "testing"

// TestHistories checks concurrent histories for linearizability
// (internal/history) on this backend; TestGalera runs them with the
// registries on different nodes.
func TestHistories(t *testing.T) { backend.Histories(t) }
