package conformance

import (
	"context"
	"encoding/json"
	"math"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procreg/procreg"
)

// selfOwner is a live local_process owner: this OS process.
func selfOwner(t *testing.T, id string) procreg.LeaseOwner {
	t.Helper()
	lv, err := procreg.CurrentProcessLiveness()
	if err != nil {
		t.Fatalf("CurrentProcessLiveness: %v; want this process's liveness", err)
	}
	return procreg.LeaseOwner{OwnerID: id, IncarnationID: id + "-inc", Liveness: lv}
}

// exitedPID runs a short-lived child process, waits for it and returns its
// (now unused) pid.
func exitedPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatalf("running a child process to get a dead pid: %v", err)
	}
	return cmd.Process.Pid
}

// deadOwner is a local_process owner on this host and boot whose process
// has exited: provably dead for selfOwner claimants.
func deadOwner(t *testing.T, id string) procreg.LeaseOwner {
	t.Helper()
	o := selfOwner(t, id)
	o.Liveness.PID = exitedPID(t)
	return o
}

// restartedOwner is this pid with a different process start time: the pid
// was reused, so the owner is provably dead.
func restartedOwner(t *testing.T, id string) procreg.LeaseOwner {
	t.Helper()
	o := selfOwner(t, id)
	o.Liveness.ProcessStart = o.Liveness.ProcessStart + "1"
	return o
}

// mustClaim claims a lease and fails the test on error.
func mustClaim(t *testing.T, r procreg.Registry, id string, o procreg.LeaseOwner, ttl time.Duration) procreg.LeaseClaim {
	t.Helper()
	c, err := r.ClaimProcessLease(t.Context(), id, o, ttl)
	if err != nil {
		t.Fatalf("ClaimProcessLease(%q, %s, %v): %v; want a claim outcome", id, o.OwnerID, ttl, err)
	}
	return c
}

// mustAcquire claims a lease and fails unless it was acquired.
func mustAcquire(t *testing.T, r procreg.Registry, id string, o procreg.LeaseOwner, ttl time.Duration) procreg.Lease {
	t.Helper()
	c := mustClaim(t, r, id, o, ttl)
	if !c.Acquired {
		t.Fatalf("ClaimProcessLease(%q, %s): busy with %s; want acquired", id, o.OwnerID, c.Lease.Owner.OwnerID)
	}
	return c.Lease
}

// wantBusy checks that a claim was refused and names holder as the live holder.
func wantBusy(t *testing.T, what string, c procreg.LeaseClaim, holder procreg.Lease) {
	t.Helper()
	if c.Acquired {
		t.Fatalf("%s: acquired by %s (fencing %d); want busy with holder %s", what, c.Lease.Owner.OwnerID, c.Lease.FencingToken, holder.Owner.OwnerID)
	}
	wantSame(t, what+": observed holder", c.Lease, holder)
}

// mustLease reads a process's lease.
func mustLease(t *testing.T, r procreg.Registry, id string) *procreg.Lease {
	t.Helper()
	l, err := r.GetProcessLease(t.Context(), id)
	wantOK(t, err, "GetProcessLease("+id+")")
	return l
}

// wantLeaseLost checks an ErrLeaseLost error and its message.
func wantLeaseLost(t *testing.T, err error, id, what string) {
	t.Helper()
	wantErr(t, err, procreg.ErrLeaseLost, id, what)
	if !strings.Contains(err.Error(), "missing or expired") {
		t.Errorf("%s: error %q; want it to say \"missing or expired\"", what, err)
	}
}

func leaseRules() []rule {
	return []rule{
		{"UnknownAndTerminal", testLeaseUnknownTerminal},
		{"FirstClaim", testLeaseFirstClaim},
		{"BusyCarriesHolder", testLeaseBusy},
		{"SameIncarnationReentry", testLeaseReentry},
		{"TTLZeroIsExpired", testLeaseTTLZero},
		{"FencingGrowsAcrossRelease", testLeaseFencing},
		{"RenewalOutlivesOriginalExpiry", testLeaseRenew},
		{"RenewExpired", testLeaseRenewExpired},
		{"RenewSupersededOrMissing", testLeaseRenewLost},
		{"StaleCompletionIsNoOp", testLeaseStaleCompletion},
		{"GetProcessLease", testLeaseGet},
		{"ReclaimExitedHolder", func(t *testing.T, r procreg.Registry) { testReclaimDead(t, r, deadOwner(t, "dead")) }},
		{"ReclaimRestartedHolder", func(t *testing.T, r procreg.Registry) { testReclaimDead(t, r, restartedOwner(t, "dead")) }},
		{"ReclaimStaleObservedHolder", testReclaimStale},
		{"ReclaimLiveHoldersStayBusy", testReclaimLive},
		{"ReclaimFreeLease", testReclaimFree},
		{"ReclaimRace", testReclaimRace},
		{"ClaimRace", testClaimRace},
		{"TTLSaturates", testLeaseSaturate},
	}
}

func testLeaseUnknownTerminal(t *testing.T, r procreg.Registry) {
	ctx := t.Context()
	o := selfOwner(t, "w1")
	_, err := r.ClaimProcessLease(ctx, "ghost", o, time.Minute)
	wantErr(t, err, procreg.ErrNotFound, "ghost", "ClaimProcessLease of an unknown process")
	_, err = r.ReclaimProcessLease(ctx, "ghost", o, procreg.Lease{}, time.Minute)
	wantErr(t, err, procreg.ErrNotFound, "ghost", "ReclaimProcessLease of an unknown process")

	mustRegister(t, r, toolReg("p1"))
	l := mustAcquire(t, r, "p1", deadOwner(t, "dead"), time.Minute)
	mustComplete(t, r, "p1", success(`1`))
	_, err = r.ClaimProcessLease(ctx, "p1", o, time.Minute)
	wantErr(t, err, procreg.ErrTerminal, "p1", "ClaimProcessLease of a terminal process")
	_, err = r.ReclaimProcessLease(ctx, "p1", o, l, time.Minute)
	wantErr(t, err, procreg.ErrTerminal, "p1", "ReclaimProcessLease of a terminal process")
	wantSame(t, "lease after refused claims", mustLease(t, r, "p1"), &l)
}

func testLeaseFirstClaim(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	o := selfOwner(t, "w1")
	l := mustAcquire(t, r, "p1", o, time.Minute)
	wantEqual(t, "ProcessID", l.ProcessID, "p1")
	wantSame(t, "Owner", l.Owner, o)
	wantEqual(t, "FencingToken", l.FencingToken, uint64(1))
	if l.Token == "" {
		t.Error("Token is empty; want a fresh token")
	}
	wantTime(t, "ClaimedAt", l.ClaimedAt)
	wantTime(t, "ExpiresAt", l.ExpiresAt)
	if !l.ExpiresAt.Equal(l.ClaimedAt.Add(time.Minute)) {
		t.Errorf("ExpiresAt = %v; want ClaimedAt + ttl = %v", l.ExpiresAt, l.ClaimedAt.Add(time.Minute))
	}
	if d := time.Since(l.ClaimedAt); d > time.Minute || d < -time.Minute {
		t.Errorf("ClaimedAt = %v; want about now", l.ClaimedAt)
	}
	wantSame(t, "GetProcessLease", mustLease(t, r, "p1"), &l)
	mustRegister(t, r, toolReg("p2"))
	l2 := mustAcquire(t, r, "p2", o, time.Minute)
	wantEqual(t, "first fencing token of another process", l2.FencingToken, uint64(1))
	if l2.Token == l.Token {
		t.Errorf("two leases share token %q; want unique tokens", l.Token)
	}
}

func testLeaseBusy(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	held := mustAcquire(t, r, "p1", selfOwner(t, "w1"), time.Minute)
	wantBusy(t, "claim by another owner", mustClaim(t, r, "p1", selfOwner(t, "w2"), time.Minute), held)
	other := selfOwner(t, "w1")
	other.IncarnationID = "w1-inc-2"
	wantBusy(t, "claim by another incarnation of the same owner", mustClaim(t, r, "p1", other, time.Minute), held)
	wantSame(t, "lease after busy claims", mustLease(t, r, "p1"), &held)
}

func testLeaseReentry(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	o := selfOwner(t, "w1")
	first := mustAcquire(t, r, "p1", o, time.Minute)
	pause()
	again := mustAcquire(t, r, "p1", o, 2*time.Minute)
	wantEqual(t, "Token on re-entry", again.Token, first.Token)
	wantEqual(t, "FencingToken on re-entry", again.FencingToken, first.FencingToken)
	if !again.ExpiresAt.After(first.ExpiresAt) {
		t.Errorf("ExpiresAt on re-entry = %v; want extended past %v", again.ExpiresAt, first.ExpiresAt)
	}
	wantSame(t, "stored lease after re-entry", mustLease(t, r, "p1"), &again)
}

func testLeaseTTLZero(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	a := mustAcquire(t, r, "p1", selfOwner(t, "w1"), 0)
	if !a.ExpiresAt.Equal(a.ClaimedAt) {
		t.Errorf("ttl 0: ExpiresAt = %v; want ClaimedAt %v (already expired)", a.ExpiresAt, a.ClaimedAt)
	}
	b := mustAcquire(t, r, "p1", selfOwner(t, "w2"), time.Minute)
	wantEqual(t, "fencing token after an expired lease", b.FencingToken, uint64(2))
	_, err := r.RenewProcessLease(t.Context(), a, time.Minute)
	wantLeaseLost(t, err, "p1", "renewing a ttl-0 lease")
}

func testLeaseFencing(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	o := selfOwner(t, "w1")
	var tokens []string
	for want := uint64(1); want <= 3; want++ {
		l := mustAcquire(t, r, "p1", o, time.Minute)
		wantEqual(t, "fencing token of claim "+itoa(int(want)), l.FencingToken, want)
		for _, tok := range tokens {
			if tok == l.Token {
				t.Errorf("claim %d reuses token %q; want a fresh token", want, tok)
			}
		}
		tokens = append(tokens, l.Token)
		wantOK(t, r.CompleteProcessLease(t.Context(), procreg.LeaseCompletion{ProcessID: "p1", Token: l.Token}), "CompleteProcessLease")
		if got := mustLease(t, r, "p1"); got != nil {
			t.Errorf("GetProcessLease after release = %+v; want nil", got)
		}
	}
}

func testLeaseRenew(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	const ttl = 300 * time.Millisecond
	start := time.Now()
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), ttl)
	pause()
	renewed, err := r.RenewProcessLease(t.Context(), l, 5*time.Second)
	wantOK(t, err, "RenewProcessLease")
	wantEqual(t, "Token after renew", renewed.Token, l.Token)
	wantEqual(t, "FencingToken after renew", renewed.FencingToken, l.FencingToken)
	wantEqual(t, "ClaimedAt after renew", renewed.ClaimedAt, l.ClaimedAt)
	if !renewed.ExpiresAt.After(l.ExpiresAt) {
		t.Errorf("ExpiresAt after renew = %v; want past the original %v", renewed.ExpiresAt, l.ExpiresAt)
	}
	wantSame(t, "stored lease after renew", mustLease(t, r, "p1"), &renewed)
	time.Sleep(time.Until(start.Add(ttl + 100*time.Millisecond))) // past the original expiry
	wantBusy(t, "claim after the original expiry", mustClaim(t, r, "p1", selfOwner(t, "w2"), time.Minute), renewed)
	_, err = r.RenewProcessLease(t.Context(), renewed, time.Minute)
	wantOK(t, err, "renewing again after the original expiry")
}

func testLeaseRenewExpired(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), 30*time.Millisecond)
	time.Sleep(80 * time.Millisecond)
	_, err := r.RenewProcessLease(t.Context(), l, time.Minute)
	wantLeaseLost(t, err, "p1", "renewing an expired lease")
}

func testLeaseRenewLost(t *testing.T, r procreg.Registry) {
	ctx := t.Context()
	_, err := r.RenewProcessLease(ctx, procreg.Lease{ProcessID: "ghost", Owner: selfOwner(t, "w1"), Token: "t", FencingToken: 1}, time.Minute)
	wantLeaseLost(t, err, "ghost", "renewing a lease of an unknown process")
	mustRegister(t, r, toolReg("p1"))
	_, err = r.RenewProcessLease(ctx, procreg.Lease{ProcessID: "p1", Owner: selfOwner(t, "w1"), Token: "t", FencingToken: 1}, time.Minute)
	wantLeaseLost(t, err, "p1", "renewing a lease that was never claimed")
	a := mustAcquire(t, r, "p1", selfOwner(t, "w1"), 0)
	b := mustAcquire(t, r, "p1", selfOwner(t, "w2"), time.Minute)
	_, err = r.RenewProcessLease(ctx, a, time.Minute)
	wantLeaseLost(t, err, "p1", "renewing a superseded lease")
	forged := []struct {
		what   string
		change func(*procreg.Lease)
	}{
		{"token", func(l *procreg.Lease) { l.Token = a.Token }},
		{"fencing token", func(l *procreg.Lease) { l.FencingToken = 1 }},
		{"incarnation", func(l *procreg.Lease) { l.Owner.IncarnationID = "other" }},
	}
	for _, f := range forged {
		l := b
		f.change(&l)
		_, err = r.RenewProcessLease(ctx, l, time.Minute)
		wantLeaseLost(t, err, "p1", "renewing with a wrong "+f.what)
	}
	wantSame(t, "lease after refused renewals", mustLease(t, r, "p1"), &b)
	wantOK(t, r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "p1", Token: b.Token}), "CompleteProcessLease")
	_, err = r.RenewProcessLease(ctx, b, time.Minute)
	wantLeaseLost(t, err, "p1", "renewing a released lease")
}

func testLeaseStaleCompletion(t *testing.T, r procreg.Registry) {
	ctx := t.Context()
	mustRegister(t, r, toolReg("p1"))
	a := mustAcquire(t, r, "p1", selfOwner(t, "w1"), 0)
	b := mustAcquire(t, r, "p1", selfOwner(t, "w2"), time.Minute)
	wantOK(t, r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "p1", Token: a.Token}), "stale CompleteProcessLease")
	wantSame(t, "lease after a stale completion", mustLease(t, r, "p1"), &b)
	wantOK(t, r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "p1", Token: b.Token}), "CompleteProcessLease")
	wantOK(t, r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "p1", Token: b.Token}), "repeated CompleteProcessLease")
	if got := mustLease(t, r, "p1"); got != nil {
		t.Errorf("lease after release = %+v; want nil", got)
	}
	wantOK(t, r.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "ghost", Token: "t"}), "CompleteProcessLease of an unknown process")
	c := mustAcquire(t, r, "p1", selfOwner(t, "w3"), time.Minute)
	wantEqual(t, "fencing token after release", c.FencingToken, uint64(3))
}

func testLeaseGet(t *testing.T, r procreg.Registry) {
	if got := mustLease(t, r, "ghost"); got != nil {
		t.Errorf("GetProcessLease(unknown) = %+v; want nil", got)
	}
	mustRegister(t, r, toolReg("p1"))
	if got := mustLease(t, r, "p1"); got != nil {
		t.Errorf("GetProcessLease(never leased) = %+v; want nil", got)
	}
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), 0)
	got := mustLease(t, r, "p1")
	wantSame(t, "GetProcessLease of an expired lease (returned as is)", got, &l)
	wantSame(t, "GetProcessLease again (never mutates)", mustLease(t, r, "p1"), &l)
	wantOK(t, r.CompleteProcessLease(t.Context(), procreg.LeaseCompletion{ProcessID: "p1", Token: l.Token}), "CompleteProcessLease")
	if got := mustLease(t, r, "p1"); got != nil {
		t.Errorf("GetProcessLease(released) = %+v; want nil", got)
	}
}

func testReclaimDead(t *testing.T, r procreg.Registry, dead procreg.LeaseOwner) {
	mustRegister(t, r, toolReg("p1"))
	held := mustAcquire(t, r, "p1", dead, time.Hour)
	me := selfOwner(t, "me")
	wantBusy(t, "plain claim over a dead but unexpired holder", mustClaim(t, r, "p1", me, time.Minute), held)
	c, err := r.ReclaimProcessLease(t.Context(), "p1", me, held, time.Minute)
	wantOK(t, err, "ReclaimProcessLease")
	if !c.Acquired {
		t.Fatalf("reclaim of a dead holder: busy with %+v; want acquired", c.Lease.Owner)
	}
	wantSame(t, "reclaimed owner", c.Lease.Owner, me)
	wantEqual(t, "reclaimed fencing token", c.Lease.FencingToken, held.FencingToken+1)
	if c.Lease.Token == held.Token {
		t.Error("reclaimed lease kept the dead holder's token; want a fresh token")
	}
	wantSame(t, "stored lease after reclaim", mustLease(t, r, "p1"), &c.Lease)
	_, err = r.RenewProcessLease(t.Context(), held, time.Minute)
	wantLeaseLost(t, err, "p1", "renewal by the reclaimed holder")
}

func testReclaimStale(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	held := mustAcquire(t, r, "p1", deadOwner(t, "dead"), time.Hour)
	me := selfOwner(t, "me")
	stale := []struct {
		what   string
		change func(*procreg.Lease)
	}{
		{"token", func(l *procreg.Lease) { l.Token = "other-token" }},
		{"fencing token", func(l *procreg.Lease) { l.FencingToken++ }},
		{"incarnation", func(l *procreg.Lease) { l.Owner.IncarnationID = "dead-inc-0" }},
		{"owner id", func(l *procreg.Lease) { l.Owner.OwnerID = "someone" }},
		{"process id", func(l *procreg.Lease) { l.ProcessID = "p2" }},
	}
	for _, s := range stale {
		observed := held
		s.change(&observed)
		c, err := r.ReclaimProcessLease(t.Context(), "p1", me, observed, time.Minute)
		wantOK(t, err, "ReclaimProcessLease with a stale "+s.what)
		wantBusy(t, "reclaim with a stale observed "+s.what, c, held)
	}
	wantSame(t, "lease after stale reclaims", mustLease(t, r, "p1"), &held)
}

func testReclaimLive(t *testing.T, r procreg.Registry) {
	me := selfOwner(t, "me")
	otherHost := deadOwner(t, "h")
	otherHost.Liveness.HostID += "-elsewhere"
	otherBoot := deadOwner(t, "b")
	otherBoot.Liveness.BootID += "-previous"
	holders := map[string]procreg.LeaseOwner{
		"alive":      selfOwner(t, "alive"),
		"other-host": otherHost,
		"other-boot": otherBoot,
		"opaque":     {OwnerID: "opaque", IncarnationID: "opaque-1"},
		"opaque-pid": {OwnerID: "op", IncarnationID: "op-1", Liveness: procreg.Liveness{Kind: procreg.LivenessOpaque, PID: exitedPID(t)}},
	}
	for name, holder := range holders {
		mustRegister(t, r, toolReg(name))
		held := mustAcquire(t, r, name, holder, time.Hour)
		c, err := r.ReclaimProcessLease(t.Context(), name, me, held, time.Minute)
		wantOK(t, err, "ReclaimProcessLease of a "+name+" holder")
		wantBusy(t, "reclaim of a "+name+" holder", c, held)
	}
	mustRegister(t, r, toolReg("opaque-claimant"))
	held := mustAcquire(t, r, "opaque-claimant", deadOwner(t, "dead"), time.Hour)
	c, err := r.ReclaimProcessLease(t.Context(), "opaque-claimant", procreg.LeaseOwner{OwnerID: "o", IncarnationID: "o1"}, held, time.Minute)
	wantOK(t, err, "ReclaimProcessLease by an opaque claimant")
	wantBusy(t, "reclaim of a dead holder by an opaque claimant (cannot prove death)", c, held)
}

func testReclaimFree(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	me := selfOwner(t, "me")
	c, err := r.ReclaimProcessLease(t.Context(), "p1", me, procreg.Lease{}, time.Minute)
	wantOK(t, err, "ReclaimProcessLease of a free lease")
	if !c.Acquired || c.Lease.FencingToken != 1 {
		t.Fatalf("reclaim of a free lease = %+v; want acquired with fencing token 1", c)
	}
	mustRegister(t, r, toolReg("p2"))
	expired := mustAcquire(t, r, "p2", selfOwner(t, "alive"), 0)
	c, err = r.ReclaimProcessLease(t.Context(), "p2", me, procreg.Lease{}, time.Minute)
	wantOK(t, err, "ReclaimProcessLease of an expired lease")
	if !c.Acquired || c.Lease.FencingToken != expired.FencingToken+1 {
		t.Errorf("reclaim of an expired lease = %+v; want acquired with fencing token %d", c, expired.FencingToken+1)
	}
}

// raceOutcome runs fns at the same moment and returns their claims.
func raceClaims(t *testing.T, fns []func(ctx context.Context) (procreg.LeaseClaim, error)) []procreg.LeaseClaim {
	t.Helper()
	out := make([]procreg.LeaseClaim, len(fns))
	errs := make([]error, len(fns))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i], errs[i] = fn(t.Context())
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		wantOK(t, err, "racing claim "+itoa(i))
	}
	return out
}

// wantOneWinner checks that exactly one racing claim acquired the lease and
// every other one saw the winner as the holder.
func wantOneWinner(t *testing.T, what string, claims []procreg.LeaseClaim) procreg.Lease {
	t.Helper()
	var winners []procreg.Lease
	for _, c := range claims {
		if c.Acquired {
			winners = append(winners, c.Lease)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%s: %d winners; want exactly one", what, len(winners))
	}
	for _, c := range claims {
		if !c.Acquired && c.Lease.Token != winners[0].Token {
			t.Errorf("%s: loser saw holder token %q; want the winner's %q", what, c.Lease.Token, winners[0].Token)
		}
	}
	return winners[0]
}

func testReclaimRace(t *testing.T, r procreg.Registry) {
	for i := range 10 {
		id := "race-" + itoa(i)
		mustRegister(t, r, toolReg(id))
		held := mustAcquire(t, r, id, deadOwner(t, "dead"), time.Hour)
		var fns []func(ctx context.Context) (procreg.LeaseClaim, error)
		for _, name := range []string{"a", "b"} {
			o := selfOwner(t, name)
			fns = append(fns, func(ctx context.Context) (procreg.LeaseClaim, error) {
				return r.ReclaimProcessLease(ctx, id, o, held, time.Minute)
			})
		}
		w := wantOneWinner(t, "two reclaims of "+id, raceClaims(t, fns))
		wantEqual(t, "winner's fencing token", w.FencingToken, uint64(2))
		wantSame(t, "stored lease after the race", mustLease(t, r, id), &w)
	}
}

func testClaimRace(t *testing.T, r procreg.Registry) {
	for i := range 5 {
		id := "race-" + itoa(i)
		mustRegister(t, r, toolReg(id))
		var fns []func(ctx context.Context) (procreg.LeaseClaim, error)
		for j := range 8 {
			o := selfOwner(t, "w"+itoa(j))
			fns = append(fns, func(ctx context.Context) (procreg.LeaseClaim, error) {
				return r.ClaimProcessLease(ctx, id, o, time.Minute)
			})
		}
		w := wantOneWinner(t, "eight claims of "+id, raceClaims(t, fns))
		wantEqual(t, "winner's fencing token", w.FencingToken, uint64(1))
	}
}

func testLeaseSaturate(t *testing.T, r procreg.Registry) {
	mustRegister(t, r, toolReg("p1"))
	huge := time.Duration(math.MaxInt64)
	l := mustAcquire(t, r, "p1", selfOwner(t, "w1"), huge)
	if !l.ExpiresAt.After(l.ClaimedAt.AddDate(100, 0, 0)) {
		t.Errorf("ExpiresAt with ttl MaxInt64 = %v; want far in the future, not wrapped", l.ExpiresAt)
	}
	if _, err := json.Marshal(l); err != nil {
		t.Errorf("a lease with a saturated expiry must still encode as JSON: %v", err)
	}
	busy := mustClaim(t, r, "p1", selfOwner(t, "w2"), time.Minute)
	if busy.Acquired {
		t.Error("claim over a lease with a saturated ttl acquired; want busy")
	}
	renewed, err := r.RenewProcessLease(t.Context(), l, huge)
	wantOK(t, err, "RenewProcessLease with ttl MaxInt64")
	if renewed.ExpiresAt.Before(l.ExpiresAt) {
		t.Errorf("renewed ExpiresAt = %v; want not before %v", renewed.ExpiresAt, l.ExpiresAt)
	}
}
