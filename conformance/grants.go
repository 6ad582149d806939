package conformance

import (
	"testing"

	"github.com/procreg/procreg"
)

func externalRefRules() []rule {
	return []rule{
		{"UnknownProcess", testExternalRefUnknown},
		{"FirstSetStored", testExternalRefFirstSet},
		{"SameRefIsNoOp", testExternalRefSame},
		{"DifferentRefConflicts", testExternalRefConflict},
	}
}

// exampleRef is an external ref with metadata.
func exampleRef() procreg.ExternalRef {
	return procreg.ExternalRef{Backend: "k8s", ID: "job-7", Metadata: raw(`{"ns":"a","labels":{"x":"1","y":"2"}}`)}
}

func testExternalRefUnknown(t *testing.T, r procreg.Registry) {
	_, err := r.SetExternalRef(t.Context(), "ghost", exampleRef())
	wantErr(t, err, procreg.ErrNotFound, "ghost", "SetExternalRef on an unknown process")
}

func testExternalRefFirstSet(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	rec, err := r.SetExternalRef(t.Context(), "p1", exampleRef())
	wantOK(t, err, "SetExternalRef")
	ref := exampleRef()
	wantSame(t, "returned ExternalRef", rec.ExternalRef, &ref)
	wantSame(t, "stored ExternalRef", mustGet(t, r, "p1").ExternalRef, &ref)

	mustRegister(t, r, toolReg("p2"))
	rec, err = r.SetExternalRef(t.Context(), "p2", procreg.ExternalRef{Backend: "b", ID: "i", Metadata: raw(`null`)})
	wantOK(t, err, "SetExternalRef with null metadata")
	if rec.ExternalRef == nil || rec.ExternalRef.Metadata != nil {
		t.Errorf("ExternalRef with null metadata read back as %+v; want metadata nil", rec.ExternalRef)
	}
}

func testExternalRefSame(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	first, err := r.SetExternalRef(t.Context(), "p1", exampleRef())
	wantOK(t, err, "SetExternalRef")
	pause()
	same := exampleRef()
	same.Metadata = raw(`{ "labels": {"y":"2","x":"1"}, "ns": "a" }`)
	again, err := r.SetExternalRef(t.Context(), "p1", same)
	wantOK(t, err, "SetExternalRef with the same ref (metadata reordered)")
	wantSame(t, "record after repeating the same ref", again, first)

	mustRegister(t, r, toolReg("p2"))
	noMeta := procreg.ExternalRef{Backend: "b", ID: "i"}
	_, err = r.SetExternalRef(t.Context(), "p2", noMeta)
	wantOK(t, err, "SetExternalRef without metadata")
	noMeta.Metadata = raw(`null`)
	_, err = r.SetExternalRef(t.Context(), "p2", noMeta)
	wantOK(t, err, "SetExternalRef again with null metadata (absent means absent)")
}

func testExternalRefConflict(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	first, err := r.SetExternalRef(t.Context(), "p1", exampleRef())
	wantOK(t, err, "SetExternalRef")
	changes := map[string]func(*procreg.ExternalRef){
		"backend":          func(e *procreg.ExternalRef) { e.Backend = "nomad" },
		"id":               func(e *procreg.ExternalRef) { e.ID = "job-8" },
		"metadata":         func(e *procreg.ExternalRef) { e.Metadata = raw(`{"ns":"b"}`) },
		"missing metadata": func(e *procreg.ExternalRef) { e.Metadata = nil },
	}
	for what, change := range changes {
		ref := exampleRef()
		change(&ref)
		_, err := r.SetExternalRef(t.Context(), "p1", ref)
		wantErr(t, err, procreg.ErrExternalRefConflict, "p1", "SetExternalRef with a different "+what)
	}
	wantSame(t, "record after conflicts", mustGet(t, r, "p1"), first)
}

func grantRules() []rule {
	return []rule{
		{"GrantNeedsKnownProcess", testGrantUnknown},
		{"GrantAndList", testGrantAndList},
		{"GrantOverwritesDescriptor", testGrantOverwrite},
		{"FrameScopesAreDistinct", testGrantFrames},
		{"Revoke", testGrantRevoke},
		{"Transfer", testGrantTransfer},
		{"TransferAllOrNothing", testGrantTransferAtomic},
		{"ListSortedByteOrder", testGrantOrder},
		{"ListLiveOmitsTerminal", testGrantLive},
		{"ForProcessSortedBySession", testGrantsForProcess},
		{"DeleteSessionReport", testDeleteSession},
		{"DeleteSessionClearsWakeTarget", testDeleteSessionWakeTarget},
	}
}

var (
	scopeS1  = procreg.SessionScope{SessionID: "s1"}
	scopeS1F = procreg.SessionScope{SessionID: "s1", AgentFrameID: "f1"}
	scopeS2  = procreg.SessionScope{SessionID: "s2"}
	descA    = procreg.HandleDescriptor{Kind: "tool", Label: "A"}
	descB    = procreg.HandleDescriptor{Kind: "job", Label: "B"}
)

// mustHas checks HasHandleGrant.
func mustHas(t *testing.T, r procreg.Registry, scope procreg.SessionScope, id string, want bool) {
	t.Helper()
	got, err := r.HasHandleGrant(t.Context(), scope, id)
	wantOK(t, err, "HasHandleGrant")
	if got != want {
		t.Errorf("HasHandleGrant(%s, %q) = %v; want %v", scope.ID(), id, got, want)
	}
}

// mustList lists a scope's grants.
func mustList(t *testing.T, r procreg.Registry, scope procreg.SessionScope) []procreg.HandleGrantEntry {
	t.Helper()
	es, err := r.ListHandleGrants(t.Context(), scope)
	wantOK(t, err, "ListHandleGrants("+scope.ID()+")")
	return es
}

func testGrantUnknown(t *testing.T, r procreg.Registry) {
	_, err := r.GrantHandle(t.Context(), scopeS1, "ghost", descA)
	wantErr(t, err, procreg.ErrNotFound, "ghost", "GrantHandle on an unknown process")
	_, err = r.HandleGrantsForProcess(t.Context(), "ghost")
	wantErr(t, err, procreg.ErrNotFound, "ghost", "HandleGrantsForProcess on an unknown process")
	mustHas(t, r, scopeS1, "ghost", false)
}

func testGrantAndList(t *testing.T, r procreg.Registry) {
	rec := mustRegister(t, r, toolReg("p1"))
	mustRegister(t, r, toolReg("p2"))
	g := mustGrant(t, r, scopeS1F, "p1", descA)
	wantEqual(t, "returned grant", g, procreg.HandleGrant{SessionID: "s1", ProcessID: "p1", Descriptor: descA})
	es := mustList(t, r, scopeS1F)
	if len(es) != 1 {
		t.Fatalf("ListHandleGrants = %d entries; want 1", len(es))
	}
	wantEqual(t, "listed grant", es[0].Grant, g)
	wantSame(t, "listed process", es[0].Process, rec)
	mustHas(t, r, scopeS1F, "p1", true)
	mustHas(t, r, scopeS1F, "p2", false)
	got, err := r.HandleGrantsForProcess(t.Context(), "p2")
	wantOK(t, err, "HandleGrantsForProcess(p2)")
	if len(got) != 0 {
		t.Errorf("HandleGrantsForProcess(p2) = %+v; want no grants", got)
	}
	wantStrings(t, "grants of an empty scope", entryIDs(mustList(t, r, scopeS2)))
}

func testGrantOverwrite(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	mustGrant(t, r, scopeS1, "p1", descA)
	g := mustGrant(t, r, scopeS1, "p1", descB)
	wantEqual(t, "overwritten grant", g.Descriptor, descB)
	es := mustList(t, r, scopeS1)
	if len(es) != 1 {
		t.Fatalf("ListHandleGrants = %d entries; want 1 after overwriting", len(es))
	}
	wantEqual(t, "stored descriptor", es[0].Grant.Descriptor, descB)
}

func testGrantFrames(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	mustRegister(t, r, toolReg("p2"))
	mustGrant(t, r, scopeS1, "p1", descA)
	mustGrant(t, r, scopeS1F, "p2", descB)
	wantStrings(t, "session scope grants", entryIDs(mustList(t, r, scopeS1)), "p1")
	wantStrings(t, "frame scope grants", entryIDs(mustList(t, r, scopeS1F)), "p2")
	mustHas(t, r, scopeS1, "p2", false)
	mustHas(t, r, scopeS1F, "p1", false)
}

func testGrantRevoke(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	mustGrant(t, r, scopeS1, "p1", descA)
	mustGrant(t, r, scopeS2, "p1", descA)
	wantOK(t, r.RevokeHandle(t.Context(), scopeS1, "p1"), "RevokeHandle")
	mustHas(t, r, scopeS1, "p1", false)
	mustHas(t, r, scopeS2, "p1", true)
	wantOK(t, r.RevokeHandle(t.Context(), scopeS1, "p1"), "RevokeHandle of a missing grant (no-op)")
	wantOK(t, r.RevokeHandle(t.Context(), scopeS1F, "p1"), "RevokeHandle of a never-granted scope (no-op)")
	mustHas(t, r, scopeS2, "p1", true)
}

func testGrantTransfer(t *testing.T, r procreg.Registry) {
	for _, id := range []string{"a", "b", "c"} {
		mustRegister(t, r, toolReg(id))
	}
	mustGrant(t, r, scopeS1, "a", descA)
	mustGrant(t, r, scopeS1, "b", descB)
	mustGrant(t, r, scopeS1, "c", descA)
	wantOK(t, r.TransferHandleGrants(t.Context(), scopeS1, scopeS2F(), []string{"b", "a"}), "TransferHandleGrants")
	wantStrings(t, "from scope after transfer", entryIDs(mustList(t, r, scopeS1)), "c")
	es := mustList(t, r, scopeS2F())
	wantStrings(t, "to scope after transfer", entryIDs(es), "a", "b")
	if len(es) == 2 {
		wantEqual(t, "transferred grant a", es[0].Grant, procreg.HandleGrant{SessionID: "s2", ProcessID: "a", Descriptor: descA})
		wantEqual(t, "transferred grant b", es[1].Grant, procreg.HandleGrant{SessionID: "s2", ProcessID: "b", Descriptor: descB})
	}
	wantOK(t, r.TransferHandleGrants(t.Context(), scopeS1, scopeS2F(), nil), "TransferHandleGrants of no processes")
	wantStrings(t, "from scope after an empty transfer", entryIDs(mustList(t, r, scopeS1)), "c")

	// The target already holding a grant gets the moved descriptor.
	mustGrant(t, r, scopeS2F(), "c", descB)
	wantOK(t, r.TransferHandleGrants(t.Context(), scopeS1, scopeS2F(), []string{"c"}), "TransferHandleGrants onto an existing grant")
	wantStrings(t, "from scope after moving c", entryIDs(mustList(t, r, scopeS1)))
	es = mustList(t, r, scopeS2F())
	wantStrings(t, "to scope after moving c", entryIDs(es), "a", "b", "c")
	if len(es) == 3 {
		wantEqual(t, "descriptor of c after the move", es[2].Grant.Descriptor, descA)
	}
}

// scopeS2F is a frame scope of session s2.
func scopeS2F() procreg.SessionScope {
	return procreg.SessionScope{SessionID: "s2", AgentFrameID: "f9"}
}

func testGrantTransferAtomic(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("a"))
	mustRegister(t, r, toolReg("b"))
	mustGrant(t, r, scopeS1, "a", descA)
	mustGrant(t, r, scopeS2, "b", descB) // b is not granted to s1
	err := r.TransferHandleGrants(t.Context(), scopeS1, scopeS2, []string{"a", "b"})
	wantErr(t, err, procreg.ErrNotGranted, "b", "TransferHandleGrants with a process not granted to from")
	mustHas(t, r, scopeS1, "a", true)
	mustHas(t, r, scopeS2, "a", false)
	wantStrings(t, "to scope after failed transfer", entryIDs(mustList(t, r, scopeS2)), "b")
}

func testGrantOrder(t *testing.T, r procreg.Registry) {
	ids := []string{"b", "B", "a", "a ", "A", "_", "%"}
	for _, id := range ids {
		mustRegister(t, r, toolReg(id))
		mustGrant(t, r, scopeS1, id, descA)
	}
	wantStrings(t, "grants sorted by process id byte order", entryIDs(mustList(t, r, scopeS1)), "%", "A", "B", "_", "a", "a ", "b")
}

func testGrantLive(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("done"))
	mustRegister(t, r, toolReg("live"))
	mustGrant(t, r, scopeS1, "done", descA)
	mustGrant(t, r, scopeS1, "live", descA)
	mustComplete(t, r, "done", success(`1`))
	wantStrings(t, "ListHandleGrants", entryIDs(mustList(t, r, scopeS1)), "done", "live")
	live, err := r.ListLiveHandleGrants(t.Context(), scopeS1)
	wantOK(t, err, "ListLiveHandleGrants")
	wantStrings(t, "ListLiveHandleGrants", entryIDs(live), "live")
	es := mustList(t, r, scopeS1)
	if len(es) == 2 {
		wantEqual(t, "listed terminal process state", es[0].Process.Status.State, procreg.StateCompleted)
	}
}

func testGrantsForProcess(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	mustGrant(t, r, scopeS2, "p1", descA)
	mustGrant(t, r, scopeS1F, "p1", descB)
	mustGrant(t, r, scopeS1, "p1", descA)
	mustGrant(t, r, procreg.SessionScope{SessionID: "S0"}, "p1", descA)
	got, err := r.HandleGrantsForProcess(t.Context(), "p1")
	wantOK(t, err, "HandleGrantsForProcess")
	want := []procreg.HandleGrant{
		{SessionID: "S0", ProcessID: "p1", Descriptor: descA},
		{SessionID: "s1", ProcessID: "p1", Descriptor: descA},
		{SessionID: "s1", ProcessID: "p1", Descriptor: descB},
		{SessionID: "s2", ProcessID: "p1", Descriptor: descA},
	}
	wantEqual(t, "grants sorted by session id then scope id", got, want)
}

func testDeleteSession(t *testing.T, r procreg.Registry) {
	for _, id := range []string{"kept", "orphan", "done", "other", "Orphan", "Kept"} {
		mustRegister(t, r, toolReg(id))
	}
	mustGrant(t, r, scopeS1, "kept", descA)
	mustGrant(t, r, scopeS2, "kept", descA)
	mustGrant(t, r, scopeS1, "orphan", descA)
	mustGrant(t, r, scopeS1F, "orphan", descA)
	mustGrant(t, r, scopeS1F, "Orphan", descA)
	mustGrant(t, r, scopeS1, "Kept", descA)
	mustGrant(t, r, scopeS2F(), "Kept", descA)
	mustGrant(t, r, scopeS1F, "done", descA)
	mustComplete(t, r, "done", success(`1`))
	mustGrant(t, r, procreg.SessionScope{SessionID: "s10"}, "other", descA)
	mustGrant(t, r, procreg.SessionScope{SessionID: "s_"}, "other", descA)

	rep, err := r.DeleteSessionProcessState(t.Context(), "s1")
	wantOK(t, err, "DeleteSessionProcessState(s1)")
	wantEqual(t, "SessionID", rep.SessionID, "s1")
	wantEqual(t, "RevokedHandles", rep.RevokedHandles, 6)
	wantEqual(t, "DeletedWakes", rep.DeletedWakes, 0)
	wantStrings(t, "PreservedProcessIDs (sorted)", rep.PreservedProcessIDs, "Kept", "kept")
	wantStrings(t, "OrphanedProcessIDs (sorted, deduplicated, terminal excluded)", rep.OrphanedProcessIDs, "Orphan", "orphan")
	mustHas(t, r, scopeS1, "kept", false)
	mustHas(t, r, scopeS1F, "orphan", false)
	mustHas(t, r, scopeS2, "kept", true)
	mustHas(t, r, procreg.SessionScope{SessionID: "s10"}, "other", true)
	mustHas(t, r, procreg.SessionScope{SessionID: "s_"}, "other", true)

	rep, err = r.DeleteSessionProcessState(t.Context(), "s1")
	wantOK(t, err, "DeleteSessionProcessState(s1) again")
	wantEqual(t, "RevokedHandles on second delete", rep.RevokedHandles, 0)
	wantStrings(t, "orphaned on second delete", rep.OrphanedProcessIDs)
	wantStrings(t, "preserved on second delete", rep.PreservedProcessIDs)
}

func testDeleteSessionWakeTarget(t *testing.T, r procreg.Registry) {
	wake := wakeType("ping", procreg.WakeSpec{Input: constSel(`"hi"`)})
	a := toolReg("a", wake)
	a.WakeTarget = &scopeS1F
	b := toolReg("b", wake)
	b.WakeTarget = &scopeS2
	c := toolReg("c", wake)
	c.WakeTarget = &procreg.SessionScope{SessionID: "s10"}
	recA := mustRegister(t, r, a)
	recB := mustRegister(t, r, b)
	recC := mustRegister(t, r, c)
	mustAppend(t, r, "a", appendReq("ping", `{}`))
	wantOK(t, r.AckWake(t.Context(), "a", 1), "AckWake(a, 1)")
	mustAppend(t, r, "a", appendReq("ping", `{}`))
	recA = mustGet(t, r, "a")
	pause()

	rep, err := r.DeleteSessionProcessState(t.Context(), "s1")
	wantOK(t, err, "DeleteSessionProcessState(s1)")
	wantEqual(t, "RevokedHandles", rep.RevokedHandles, 0)
	wantStrings(t, "orphaned (a process without grants is not affected)", rep.OrphanedProcessIDs)
	got := mustGet(t, r, "a")
	if got.WakeTarget != nil {
		t.Errorf("WakeTarget = %+v; want cleared after deleting its session", got.WakeTarget)
	}
	if !got.UpdatedAt.After(recA.UpdatedAt) {
		t.Errorf("UpdatedAt = %v; want bumped past %v when the wake target is cleared", got.UpdatedAt, recA.UpdatedAt)
	}
	wantSame(t, "record of another session's wake target", mustGet(t, r, "b"), recB)
	wantSame(t, "record of a wake target session that only shares a prefix", mustGet(t, r, "c"), recC)
	wantSeqs(t, "wake events after deleting the session (acks kept)", mustWakeEvents(t, r, "a", 0), 2)
	res := mustAppend(t, r, "a", appendReq("ping", `{}`))
	if res.WakeDelivery != nil {
		t.Errorf("WakeDelivery = %+v; want nil once the wake target is cleared", res.WakeDelivery)
	}
}
