package driver

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/procreg/procreg"
)

// growingStore is a store in which every listing of a session's grants names
// one more process than the last: a stand-in for writers that keep granting
// the session new processes while DeleteSessionProcessState runs. Only the
// calls an attempt makes before it widens are implemented.
type growingStore struct {
	Store
	n int
}

func (s *growingStore) Write(ctx context.Context, fn func(context.Context, Tx) error) error {
	return fn(ctx, growingTx{s: s})
}

func (s *growingStore) Classify(error) ErrorClass { return ClassOther }

type growingTx struct {
	Tx
	s *growingStore
}

func (t growingTx) LockProcess(context.Context, string) (ProcessRow, bool, error) {
	return ProcessRow{}, false, nil
}

func (t growingTx) ListGrantsBySession(_ context.Context, sessionID string) ([]GrantRow, error) {
	t.s.n++
	var rows []GrantRow
	for i := range t.s.n {
		rows = append(rows, GrantRow{ScopeID: "session:" + sessionID, SessionID: sessionID, ProcessID: "p" + strconv.Itoa(i)})
	}
	return rows, nil
}

func (t growingTx) ListProcessesByWakeTargetSession(context.Context, string) ([]ProcessRow, error) {
	return nil, nil
}

// TestDeleteSessionGivesUp: when every attempt finds the session touching a
// process it has not locked, the delete gives up after a bounded number of
// attempts with an error that names the session and says why (the last
// attempt's cause), and wraps no procreg sentinel: it is contention.
func TestDeleteSessionGivesUp(t *testing.T) {
	s := &growingStore{}
	_, err := NewRegistry(s, Options{}).DeleteSessionProcessState(t.Context(), "s1")
	if err == nil {
		t.Fatal("DeleteSessionProcessState succeeded; want it to give up")
	}
	msg := err.Error()
	if !strings.Contains(msg, `"s1"`) || !strings.Contains(msg, "gave up") ||
		!strings.Contains(msg, `first "p`+strconv.Itoa(maxSessionAttempts-1)+`"`) {
		t.Errorf("error %q does not name the session, the give-up and the last unlocked process", msg)
	}
	if !errors.Is(err, errWiden) {
		t.Errorf("error %q does not wrap the last attempt's cause", msg)
	}
	for _, sentinel := range []error{procreg.ErrInvalid, procreg.ErrNotFound, procreg.ErrNotGranted} {
		if errors.Is(err, sentinel) {
			t.Errorf("error %q wraps %v; contention is none of the contract's facts", msg, sentinel)
		}
	}
	if s.n != maxSessionAttempts {
		t.Errorf("attempts = %d; want %d", s.n, maxSessionAttempts)
	}
}
