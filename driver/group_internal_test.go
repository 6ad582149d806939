package driver

import (
	"context"
	"errors"
	"testing"
)

// Every statement that changes state and that a callTx does not buffer
// fails the group (errGroupUse), so that a grouped body can never write
// past the buffer, and records it so the whole group reruns alone.
func TestCallTxRefusesWhatItCannotBuffer(t *testing.T) {
	ctx := context.Background()
	for name, call := range map[string]func(t *callTx) error{
		"LockProcesses":         func(t *callTx) error { _, err := t.LockProcesses(ctx, []string{"a"}); return err },
		"InsertProcess":         func(t *callTx) error { return t.InsertProcess(ctx, ProcessRow{}) },
		"UpsertGrant":           func(t *callTx) error { return t.UpsertGrant(ctx, GrantRow{}) },
		"DeleteGrant":           func(t *callTx) error { return t.DeleteGrant(ctx, "s", "a") },
		"DeleteGrantsBySession": func(t *callTx) error { _, err := t.DeleteGrantsBySession(ctx, "s"); return err },
		"PruneBatch":            func(t *callTx) error { _, _, err := t.PruneBatch(ctx, 0, 1); return err },
		"UpdateProcessLeases":   func(t *callTx) error { return t.UpdateProcessLeases(ctx, []ProcessRow{{ID: "a"}}) },
		"ClaimCandidates":       func(t *callTx) error { _, err := t.ClaimCandidates(ctx, ListQuery{}, 1); return err },
	} {
		ct := &callTx{id: "a"} // no Tx underneath: a call that reached it would panic
		if err := call(ct); !errors.Is(err, errGroupUse) || !errors.Is(ct.failed, errGroupUse) {
			t.Errorf("%s in a grouped call: %v (recorded %v); want errGroupUse, recorded", name, err, ct.failed)
		}
	}
}
