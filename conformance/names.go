package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// testLongNames: names, keys and ids other than process ids are at most
// procreg.MaxNameBytes bytes (wait kinds procreg.MaxWaitKindBytes) on every
// backend, so a longer one is ErrInvalid and changes nothing, and the
// longest allowed one is stored.
func testLongNames(t *testing.T, r procreg.Registry) {
	held := badInputFixture(t, r)
	long := strings.Repeat("n", procreg.MaxNameBytes+1)
	longScope := procreg.SessionScope{SessionID: "s1", AgentFrameID: strings.Repeat("f", procreg.MaxNameBytes)}
	owner := exampleOwner("me")
	owner.OwnerID = long
	wantRejected(t, r, "p1", map[string]func(ctx context.Context) error{
		"AppendEvent event type": func(ctx context.Context) error {
			_, err := r.AppendEvent(ctx, "p1", appendReq(long, `{}`))
			return err
		},
		"AppendEvent replay key": func(ctx context.Context) error {
			req := appendReq(noteType, `{}`)
			req.ReplayKey = long
			_, err := r.AppendEvent(ctx, "p1", req)
			return err
		},
		"GrantHandle scope": func(ctx context.Context) error {
			_, err := r.GrantHandle(ctx, longScope, "p1", descA)
			return err
		},
		"GrantHandle descriptor kind": func(ctx context.Context) error {
			_, err := r.GrantHandle(ctx, scopeS2, "p1", procreg.HandleDescriptor{Kind: long})
			return err
		},
		"SetExternalRef backend": func(ctx context.Context) error {
			_, err := r.SetExternalRef(ctx, "p1", procreg.ExternalRef{Backend: long, ID: "1"})
			return err
		},
		"SetProcessWait kind": func(ctx context.Context) error {
			w := exampleWait()
			w.Kind = strings.Repeat("k", procreg.MaxWaitKindBytes+1)
			_, err := r.SetProcessWait(ctx, "p1", w)
			return err
		},
		"SetProcessWait key": func(ctx context.Context) error {
			w := exampleWait()
			w.Key = long
			_, err := r.SetProcessWait(ctx, "p1", w)
			return err
		},
		"RequestProcessAbandon requested_by": func(ctx context.Context) error {
			_, err := r.RequestProcessAbandon(ctx, "p1", procreg.AbandonRequest{RequestedBy: long, RequestedAt: time.Now()})
			return err
		},
		"ReclaimProcessLease owner id": func(ctx context.Context) error {
			_, err := r.ReclaimProcessLease(ctx, "p1", owner, held, time.Minute)
			return err
		},
	})
	wantRejected(t, r, "", map[string]func(ctx context.Context) error{
		"DeleteSessionProcessState session id": func(ctx context.Context) error {
			_, err := r.DeleteSessionProcessState(ctx, long)
			return err
		},
	})
	wantRegistrationsRejected(t, r, "a long", map[string]func(g *procreg.Registration){
		"EventTypeName": func(g *procreg.Registration) { g.EventTypes = []procreg.EventType{eventType(long)} },
		"IdentityKind":  func(g *procreg.Registration) { g.Identity = procreg.Identity{Kind: long} },
		"WakeTarget":    func(g *procreg.Registration) { g.WakeTarget = &longScope },
	})

	// The longest names are stored and read back.
	max := strings.Repeat("m", procreg.MaxNameBytes)
	mustRegister(t, r, toolReg("p2", eventType(max)))
	req := appendReq(max, `{}`)
	req.ReplayKey = max
	ev := mustAppend(t, r, "p2", req).Event
	wantEqual(t, "longest event type read back", ev.EventType, max)
	wantEqual(t, "replay of the longest key", mustAppend(t, r, "p2", req).Event.Sequence, ev.Sequence)
	maxScope := procreg.SessionScope{SessionID: "s", AgentFrameID: strings.Repeat("f", procreg.MaxNameBytes-len("session:s/frame:"))}
	mustGrant(t, r, maxScope, "p2", procreg.HandleDescriptor{Kind: max})
	if es := mustList(t, r, maxScope); len(es) != 1 || es[0].Grant.Descriptor.Kind != max {
		t.Errorf("grants of the longest scope = %+v; want the one grant with the longest kind", es)
	}
}

// testFrameSeparator: a session id may not contain "/frame:", so session
// "x/frame:y" cannot alias session "x" with frame "y" (same scope id, hence
// the same grant and wake id).
func testFrameSeparator(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1", eventType(noteType)))
	framed := procreg.SessionScope{SessionID: "x", AgentFrameID: "y"}
	alias := procreg.SessionScope{SessionID: "x/frame:y"}
	mustGrant(t, r, framed, "p1", descA)
	wantRejected(t, r, "p1", map[string]func(ctx context.Context) error{
		"GrantHandle":    func(ctx context.Context) error { _, err := r.GrantHandle(ctx, alias, "p1", descB); return err },
		"HasHandleGrant": func(ctx context.Context) error { _, err := r.HasHandleGrant(ctx, alias, "p1"); return err },
		"RevokeHandle":   func(ctx context.Context) error { return r.RevokeHandle(ctx, alias, "p1") },
	})
	wantRejected(t, r, "", map[string]func(ctx context.Context) error{
		"ListHandleGrants": func(ctx context.Context) error { _, err := r.ListHandleGrants(ctx, alias); return err },
		"DeleteSessionProcessState": func(ctx context.Context) error {
			_, err := r.DeleteSessionProcessState(ctx, alias.SessionID)
			return err
		},
		"RegisterProcess wake target": func(ctx context.Context) error {
			reg := toolReg("p2")
			reg.WakeTarget = &alias
			_, err := r.RegisterProcess(ctx, reg)
			return err
		},
	})
	// A frame id may contain the separator: it only ends the session id.
	nested := procreg.SessionScope{SessionID: "x", AgentFrameID: "y/frame:z"}
	mustGrant(t, r, nested, "p1", descB)
	wantEqual(t, "grants of frame y", len(mustList(t, r, framed)), 1)
	wantEqual(t, "grants of frame y/frame:z", len(mustList(t, r, nested)), 1)
}
