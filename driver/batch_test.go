package driver_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/driver"
)

// permissiveStore is a memory store whose ClaimCandidates pre-filter lets
// every process through, in every state: what ClaimNext claims from it is
// decided by the engine's rules alone.
type permissiveStore struct {
	driver.Store
	candidates int // rows the last ClaimCandidates returned
}

func (s *permissiveStore) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	return s.Store.Write(ctx, func(ctx context.Context, tx driver.Tx) error {
		return fn(ctx, permissiveTx{Tx: tx, s: s})
	})
}

type permissiveTx struct {
	driver.Tx
	s *permissiveStore
}

func (t permissiveTx) ClaimCandidates(ctx context.Context, _ driver.ListQuery, _ int) ([]driver.ProcessRow, error) {
	rows, err := t.Tx.ListProcesses(ctx, driver.ListQuery{}) // every state, no filter, no limit
	t.s.candidates = len(rows)
	return rows, err
}

// TestClaimNextRulesAreTheEngines: the store's candidate query is only a
// pre-filter. Handed every process, ClaimNext still leases only what
// core.Claimable, the filter and DecideClaim accept, at most limit of them,
// in id order.
func TestClaimNextRulesAreTheEngines(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	ps := &permissiveStore{Store: memory.NewStore(memory.WithClock(clk.now))}
	r := driver.NewRegistry(ps, driver.Options{Clock: clk.now})
	ctx := context.Background()
	me := procreg.LeaseOwner{OwnerID: "me", IncarnationID: "i1"}
	other := procreg.LeaseOwner{OwnerID: "other", IncarnationID: "i2"}

	withDisposition := func(id string, d procreg.Disposition) procreg.Registration {
		g := reg(id)
		g.Disposition = d
		return g
	}
	regs := []procreg.Registration{
		withDisposition("a-external", procreg.DispositionExternallyOwned),
		withDisposition("b-owner-bound-started", procreg.DispositionOwnerBound),
		reg("c-completed"), reg("d-live-other"), reg("e-expired"), reg("f-free"), reg("g-waiting"),
		reg("h-live-mine"), withDisposition("i-owner-bound-fresh", procreg.DispositionOwnerBound),
	}
	if _, err := r.RegisterProcesses(ctx, regs); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := r.RecordFirstStarted(ctx, "b-owner-bound-started", procreg.Started{Owner: other, At: clk.now()})
	must(err)
	_, err = r.CompleteProcess(ctx, "c-completed", procreg.AwaitOutput{Kind: procreg.OutputCancelled})
	must(err)
	expired, err := r.ClaimProcessLease(ctx, "e-expired", other, time.Second)
	must(err)
	clk.add(2 * time.Second)
	_, err = r.ClaimProcessLease(ctx, "d-live-other", other, time.Minute)
	must(err)
	_, err = r.ClaimProcessLease(ctx, "h-live-mine", me, time.Minute)
	must(err)
	_, err = r.SetProcessWait(ctx, "g-waiting", procreg.WaitState{Kind: "input", Since: clk.now()})
	must(err)

	notWaiting := false
	got, err := r.ClaimNext(ctx, me, time.Minute, procreg.ListFilter{Waiting: &notWaiting}, 10)
	must(err)
	if ps.candidates != len(regs) {
		t.Fatalf("the store offered %d candidates; want all %d", ps.candidates, len(regs))
	}
	var ids []string
	for _, c := range got {
		ids = append(ids, c.Record.ID)
		if !c.Lease.Owner.SameIncarnation(me) || c.Lease.ProcessID != c.Record.ID || !c.Lease.IsLive(clk.now()) {
			t.Errorf("%s: lease %+v is not a live lease of %s for me", c.Record.ID, c.Lease, c.Record.ID)
		}
	}
	if want := "e-expired f-free i-owner-bound-fresh"; strings.Join(ids, " ") != want {
		t.Fatalf("ClaimNext claimed %q; want %q", ids, want)
	}
	if got[0].Lease.FencingToken != expired.Lease.FencingToken+1 {
		t.Errorf("fencing token %d after an expired lease %d; want the next", got[0].Lease.FencingToken, expired.Lease.FencingToken)
	}
	for _, id := range []string{"d-live-other", "h-live-mine"} {
		l, err := r.GetProcessLease(ctx, id)
		must(err)
		if l == nil || l.FencingToken != 1 || !l.IsLive(clk.now()) {
			t.Errorf("%s: lease %+v changed; a live lease is not claimed", id, l)
		}
	}

	// The limit holds whatever the store returns.
	clk.add(2 * time.Minute) // every lease above expires
	got, err = r.ClaimNext(ctx, other, time.Minute, procreg.ListFilter{}, 2)
	must(err)
	if len(got) != 2 || got[0].Record.ID != "d-live-other" || got[1].Record.ID != "e-expired" {
		t.Fatalf("limit 2 over expired leases: %+v; want d-live-other and e-expired", got)
	}
}

// TestClaimNextValidatesFirst: bad arguments are ErrInvalid before any
// storage access (a closed registry would fail otherwise).
func TestClaimNextValidatesFirst(t *testing.T) {
	r, _ := setup(t)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	me := procreg.LeaseOwner{OwnerID: "me", IncarnationID: "i1"}
	for name, call := range map[string]func() error{
		"limit 0": func() error {
			return errOf(r.ClaimNext(context.Background(), me, time.Second, procreg.ListFilter{}, 0))
		},
		"status failed": func() error {
			return errOf(r.ClaimNext(context.Background(), me, time.Second, procreg.ListFilter{Status: procreg.StatusFailed}, 1))
		},
		"empty owner": func() error {
			return errOf(r.ClaimNext(context.Background(), procreg.LeaseOwner{}, time.Second, procreg.ListFilter{}, 1))
		},
		"too many regs": func() error {
			return errOf(r.RegisterProcesses(context.Background(), make([]procreg.Registration, procreg.MaxBatch+1)))
		},
		"invalid reg [1]": func() error {
			return errOf(r.RegisterProcesses(context.Background(), []procreg.Registration{reg("a"), {ID: "b"}}))
		},
	} {
		if err := call(); !errors.Is(err, procreg.ErrInvalid) {
			t.Errorf("%s: %v; want ErrInvalid before any storage access", name, err)
		}
	}
	recs, err := r.RegisterProcesses(context.Background(), nil)
	if err != nil || recs == nil || len(recs) != 0 {
		t.Errorf("RegisterProcesses(nil) on a closed registry: %v, %v; want an empty slice without storage access", recs, err)
	}
}

// errOf is the error of a two-result call.
func errOf[T any](_ T, err error) error { return err }

// errUnique stands for a database's unique violation on the process key.
var errUnique = errors.New("duplicate key value violates unique constraint")

// racingStore is a memory store on which RegisterProcesses keeps losing
// insert races: each of the first `losses` writes fails its first insert
// with errUnique (classified ClassUniqueViolation) and, before reporting
// it, lets a concurrent registration (winner, through another engine on
// the same store) commit.
type racingStore struct {
	driver.Store
	losses, writes int
	winner         func(attempt int)
}

func (s *racingStore) Write(ctx context.Context, fn func(context.Context, driver.Tx) error) error {
	s.writes++
	attempt := s.writes
	lose := attempt <= s.losses
	err := s.Store.Write(ctx, func(ctx context.Context, tx driver.Tx) error {
		return fn(ctx, racingTx{Tx: tx, lose: lose})
	})
	if errors.Is(err, errUnique) && s.winner != nil {
		s.winner(attempt)
	}
	return err
}

func (s *racingStore) Classify(err error) driver.ErrorClass {
	if errors.Is(err, errUnique) {
		return driver.ClassUniqueViolation
	}
	return s.Store.Classify(err)
}

type racingTx struct {
	driver.Tx
	lose bool
}

func (t racingTx) InsertProcess(ctx context.Context, row driver.ProcessRow) error {
	if t.lose {
		return errUnique
	}
	return t.Tx.InsertProcess(ctx, row)
}

// TestRegisterProcessesRerunsALostRace: an insert that loses a race with a
// concurrent registration of the same new id reruns the whole batch, which
// then finds the winner's row: the same spec is the idempotent answer
// (the winner's record), another spec a conflict naming the index. The
// reruns are bounded.
func TestRegisterProcessesRerunsALostRace(t *testing.T) {
	ctx := context.Background()
	rs := &racingStore{Store: memory.NewStore(), losses: 1}
	r := driver.NewRegistry(rs, driver.Options{})
	concurrent := driver.NewRegistry(rs.Store, driver.Options{})
	var won procreg.Record
	rs.winner = func(int) {
		var err error
		if won, err = concurrent.RegisterProcess(ctx, reg("b")); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := r.RegisterProcesses(ctx, []procreg.Registration{reg("a"), reg("b")})
	if err != nil {
		t.Fatalf("RegisterProcesses after a lost race: %v; want the rerun to succeed", err)
	}
	if rs.writes != 2 || recs[1].CreatedAt != won.CreatedAt || recs[0].ID != "a" {
		t.Fatalf("%d writes, records %+v; want 2 writes and the winner's record of b", rs.writes, recs)
	}

	// The winner registered another spec: a conflict naming the index.
	rs = &racingStore{Store: memory.NewStore(), losses: 1}
	r = driver.NewRegistry(rs, driver.Options{})
	concurrent = driver.NewRegistry(rs.Store, driver.Options{})
	rs.winner = func(int) {
		g := reg("b")
		g.EnvRef = "another"
		if _, err := concurrent.RegisterProcess(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	_, err = r.RegisterProcesses(ctx, []procreg.Registration{reg("a"), reg("b")})
	if !errors.Is(err, procreg.ErrRegistrationConflict) || !strings.Contains(err.Error(), "registration 1") {
		t.Fatalf("rerun against another spec: %v; want ErrRegistrationConflict naming registration 1", err)
	}
	if _, err := concurrent.GetProcess(ctx, "a"); !errors.Is(err, procreg.ErrNotFound) {
		t.Fatalf("GetProcess(a) after the refused batch: %v; want ErrNotFound (all or nothing)", err)
	}

	// Races that never end: bounded reruns, then the storage error.
	rs = &racingStore{Store: memory.NewStore(), losses: 100}
	r = driver.NewRegistry(rs, driver.Options{})
	_, err = r.RegisterProcesses(ctx, []procreg.Registration{reg("a")})
	if !errors.Is(err, errUnique) || rs.writes != 3 {
		t.Fatalf("endless races: %v after %d writes; want the unique violation after 3", err, rs.writes)
	}
}
