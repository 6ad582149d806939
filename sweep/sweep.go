// Package sweep is the disposition-driven recovery pass over a
// procreg.Registry (SPEC §9): after a crash, it finds the work that is still
// running on paper and decides, for each process, what recovery may do.
//
// A Pass with a Run function first claims work in batches (the claim
// phase): ClaimNext (SPEC §10) hands it up to ClaimBatch processes at a
// time — running, not externally owned, not owner-bound-and-started, whose
// lease is free or expired, matching Sweeper.Claim — each with its lease,
// in one transaction. The Sweeper holds (renews) every lease of a batch and
// runs the processes one after another; a claimed process with a pending
// abandon request is reconciled instead of run (see below). The claim phase
// stops when a batch comes back short, when a batch brings nothing new (a
// Filter that refused it), or after PageSize processes, so that the scan
// below still runs under a steady stream of new work.
//
// Then the Pass reads the worklist page by page (ListNonTerminalPage) and
// treats each row the claim phase did not handle by its declared
// disposition and recovery facts:
//
//   - rerunnable: when its lease is free, expired, or held by a provably dead
//     holder (procreg.LeaseOwner.IsDefinitelyDeadFor; the takeover is a
//     fenced ReclaimProcessLease on the observed holder), the sweeper claims
//     it and hands it to the caller's Run function as a Work;
//   - owner-bound, not yet started: claimable exactly like rerunnable;
//   - owner-bound, started (a first-started fact exists) by another owner:
//     never run again (the incarnation that started it may take it up again).
//     When the owner that started it is provably dead, the sweeper takes the
//     lease (which fences off any late write of that owner) and completes the
//     process as abandoned with evidence {writer "sweep", owner: the dead
//     starter, at: now}. Otherwise it is left alone;
//   - externally owned: never claimed;
//   - any row with a pending abandon request is reconciled into abandoned
//     (evidence writer "reconciled_request") only once its lease has lapsed —
//     for claimable rows the proof is a plain claim succeeding, which only
//     happens on a free or expired lease; for externally owned rows, which
//     are never claimed, a missing or expired lease.
//
// Elapsed time alone never terminates anything: an expired lease only makes a
// row claimable again; abandoning needs a provably dead owner or an explicit
// abandon request.
//
// Every write the sweeper and the Run function make goes through a Work, which
// renews the lease in the background and fences each write (see Work). Appends
// and completions are the registry's fenced writes (AppendEventWithLease,
// CompleteProcessWithLease, SPEC §10): the lease check is part of the write's
// own transaction, by the lease clock, so a worker paused past its ttl (the
// demo stops one with SIGSTOP) can never land an event or an outcome after
// another owner took the lease — the renew-then-write window earlier versions
// documented here is gone for them. Only RecordFirstStarted and Work.Do, which
// have no fenced form in the registry, still renew first and then write. A
// Sweeper runs its Pass sequentially; run several workers (each with its own
// owner incarnation) for parallelism. Two Sweepers must not share one
// incarnation id: a claim by the same incarnation re-enters its own lease.
//
// # Logging
//
// A Sweeper with a Logger (log/slog) writes structured records; without
// one (nil, the default) it logs nothing, since a library should not write
// to slog.Default unasked and every decision is in the Report and Observe
// anyway. Records and their fields:
//
//   - "sweep outcome", one per Outcome: process_id, disposition, action,
//     and when set takeover, holder (a group: owner_id, incarnation_id,
//     pid), fencing_token, refused_writes, error. Level Warn for Failed,
//     Info for what changed something (Ran, Abandoned, Reconciled, a
//     takeover, a refused write), Debug for a process left alone;
//   - "sweep pass done" (Debug): listed, outcomes, ran, failed, elapsed;
//     "sweep pass failed" (Warn) and "sweep pass interrupted" (Info) with
//     error;
//   - from each Work (HoldOptions.Logger, which the Sweeper sets to its
//     Logger): "lease lost" (Warn), "lease renewal failed; retrying"
//     (Warn), "fenced write refused" (Info), each with process_id,
//     fencing_token and error, and "lease release failed" (Warn).
package sweep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/procreg/procreg"
)

// Action says what a Pass did with one process.
type Action string

const (
	// Ran: the lease was acquired and the process handed to Run.
	Ran Action = "ran"
	// Abandoned: an owner-bound process started by a provably dead owner was
	// completed as abandoned (writer "sweep").
	Abandoned Action = "abandoned"
	// Reconciled: a pending abandon request was completed as abandoned
	// (writer "reconciled_request") after the lease lapsed.
	Reconciled Action = "reconciled"
	// Claimable: the process could be claimed, but the Sweeper has no Run
	// function, so it was left for a worker.
	Claimable Action = "claimable"
	// Busy: a live lease is held by an owner that is not provably dead.
	Busy Action = "busy"
	// External: externally owned; recovery never claims it.
	External Action = "externally_owned"
	// StartedElsewhere: an owner-bound process that already started under an
	// owner that is not provably dead; it is never rerun and not abandoned.
	StartedElsewhere Action = "started_owner_not_dead"
	// AbandonPending: an abandon request waits for the live lease to lapse.
	AbandonPending Action = "abandon_pending"
	// Gone: the process turned terminal or was pruned since it was listed.
	Gone Action = "gone"
	// Failed: recovery of this process failed; Outcome.Error says why.
	Failed Action = "error"
)

// Outcome is what a Pass did with one process.
type Outcome struct {
	ProcessID   string              `json:"process_id"`
	Disposition procreg.Disposition `json:"disposition"`
	Action      Action              `json:"action"`
	// Takeover is set when the lease was taken from another owner: reclaimed
	// from a provably dead holder, or claimed after another owner's lease
	// expired. ClaimNext does not say who held a lease before it, so for a
	// process of the claim phase it is set when another incarnation had
	// started the process (its first-started fact), and Holder names that
	// starter.
	Takeover bool `json:"takeover,omitempty"`
	// Holder is the other owner involved: the live holder (Busy,
	// AbandonPending), the previous holder of a takeover, or the started owner
	// (Abandoned, StartedElsewhere).
	Holder *procreg.LeaseOwner `json:"holder,omitempty"`
	// FencingToken is the fencing token of the lease this sweeper held, if any.
	FencingToken uint64 `json:"fencing_token,omitempty"`
	// Refused counts writes of the run refused by the fence after the lease was lost.
	Refused int `json:"refused_writes,omitempty"`
	// Error is the run's or the recovery step's error, if any.
	Error string `json:"error,omitempty"`
	err   error
}

// Err returns the error behind Outcome.Error (nil when there was none).
func (o Outcome) Err() error { return o.err }

// Report is what one Pass did, one Outcome per process considered: first
// the processes of the claim phase, in the order they were claimed (id
// order within a batch), then those of the scan, in process id order.
type Report struct {
	Outcomes []Outcome `json:"outcomes"`
}

// Count returns how many processes ended with action a.
func (r Report) Count(a Action) int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Action == a {
			n++
		}
	}
	return n
}

// DefaultPageSize is the worklist page a Pass reads when Sweeper.PageSize
// is zero.
const DefaultPageSize = 500

// DefaultClaimBatch is how many processes one ClaimNext of a Pass claims
// when Sweeper.ClaimBatch is zero.
const DefaultClaimBatch = 4

// Sweeper runs recovery passes for one worker identity.
type Sweeper struct {
	// Registry is swept. Required.
	Registry procreg.Registry
	// Owner is the claimant identity; give it local_process liveness
	// (procreg.CurrentProcessLiveness) so that others can prove it dead.
	Owner procreg.LeaseOwner
	// TTL is the lease ttl of every claim and renewal. Required (> 0).
	TTL time.Duration
	// Run executes one claimed process. Writes must go through the Work (they
	// are fenced). The Work's lease is released when Run returns; Run
	// completes the process itself (Work.Complete) when it finishes it. A nil
	// Run makes the sweeper report claimable rows instead of claiming them.
	Run func(ctx context.Context, w *Work) error
	// Filter, if set, limits the pass to the records it accepts.
	Filter func(procreg.Record) bool
	// RenewEvery is the background renewal period of a Work (TTL/3 when zero).
	RenewEvery time.Duration
	// Observe, if set, is called with each Outcome as soon as it is decided
	// (a Pass that runs work can take long; this reports progress live).
	Observe func(Outcome)
	// Clock stamps evidence and judges lease expiry on read; nil = time.Now.
	// Lease decisions themselves are the registry's.
	Clock func() time.Time
	// PageSize is how many records a Pass reads per ListNonTerminalPage
	// call (DefaultPageSize when zero; at most 10000); it also bounds how
	// many processes the claim phase of one Pass runs.
	PageSize int
	// Claim selects the processes the claim phase asks ClaimNext for (its
	// Status must be "" or running); the zero value selects every running
	// process. Filter, when set, still applies: a claimed process it
	// refuses is released at once, so give Claim the same selection where
	// a ListFilter can express it (the demo selects its run's definition).
	Claim procreg.ListFilter
	// ClaimBatch is how many processes one ClaimNext of the claim phase
	// claims (DefaultClaimBatch when zero; at most procreg.MaxBatch). The
	// Sweeper holds every lease of a batch while it runs them one after
	// another: a larger batch costs fewer claim transactions, but keeps
	// more processes from other workers meanwhile.
	ClaimBatch int
	// Logger, if set, receives structured records of what the sweeper
	// decides and does (see "Logging" in the package documentation). Nil
	// logs nothing: a library does not write to slog.Default unasked, and
	// every decision is in the Report and reaches Observe anyway; pass
	// slog.Default() to log there.
	Logger *slog.Logger

	mu       sync.Mutex
	inFlight map[string]bool
}

func (s *Sweeper) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// Pass makes one recovery pass. Per-process failures are reported in their
// Outcome; the error is for a failed listing, a misconfigured Sweeper or a
// cancelled context (the report then holds what was done so far).
func (s *Sweeper) Pass(ctx context.Context) (Report, error) {
	var rep Report
	if s.Registry == nil {
		return rep, fmt.Errorf("sweep: no registry: %w", procreg.ErrInvalid)
	}
	if s.TTL <= 0 {
		return rep, fmt.Errorf("sweep: lease ttl %v must be positive: %w", s.TTL, procreg.ErrInvalid)
	}
	if s.Owner.OwnerID == "" || s.Owner.IncarnationID == "" {
		return rep, fmt.Errorf("sweep: claimant owner needs an owner id and an incarnation id: %w", procreg.ErrInvalid)
	}
	if s.ClaimBatch < 0 || s.ClaimBatch > procreg.MaxBatch {
		return rep, fmt.Errorf("sweep: claim batch %d is outside 0..%d: %w", s.ClaimBatch, procreg.MaxBatch, procreg.ErrInvalid)
	}
	log := s.log()
	start := time.Now()
	// Processes the claim phase handled get no second outcome from the scan.
	handled := map[string]bool{}
	if s.Run != nil {
		if err := s.claimPhase(ctx, log, &rep, handled); err != nil {
			return rep, err
		}
	}
	// The worklist is read a page at a time (ListNonTerminalPage), so a
	// pass holds at most one page of records however large the registry:
	// the scan's bound is fixed by its first page, so processes registered
	// during the pass with greater ids wait for the next pass.
	limit := s.PageSize
	if limit <= 0 {
		limit = DefaultPageSize
	}
	listed := 0
	for cursor := ""; ; {
		page, err := s.Registry.ListNonTerminalPage(ctx, limit, cursor)
		if err != nil {
			err = fmt.Errorf("sweep: list non-terminal processes: %w", err)
			log.LogAttrs(ctx, slog.LevelWarn, "sweep pass failed", slog.String("error", err.Error()))
			return rep, err
		}
		listed += len(page.Records)
		for _, rec := range page.Records {
			if handled[rec.ID] || s.Filter != nil && !s.Filter(rec) {
				continue
			}
			if err := ctx.Err(); err != nil {
				err = fmt.Errorf("sweep: pass interrupted before process %q: %w", rec.ID, err)
				log.LogAttrs(ctx, slog.LevelInfo, "sweep pass interrupted", slog.String("process_id", rec.ID),
					slog.Int("outcomes", len(rep.Outcomes)), slog.String("error", err.Error()))
				return rep, err
			}
			o := s.one(ctx, rec)
			logOutcome(ctx, log, o)
			if s.Observe != nil {
				s.Observe(o)
			}
			rep.Outcomes = append(rep.Outcomes, o)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	log.LogAttrs(ctx, slog.LevelDebug, "sweep pass done", slog.Int("listed", listed), slog.Int("outcomes", len(rep.Outcomes)),
		slog.Int("ran", rep.Count(Ran)), slog.Int("failed", rep.Count(Failed)), slog.Duration("elapsed", time.Since(start)))
	return rep, nil
}

// claimPhase claims work with ClaimNext, a batch at a time, and runs it
// (see the package documentation), adding an Outcome per process to rep
// and its id to handled.
func (s *Sweeper) claimPhase(ctx context.Context, log *slog.Logger, rep *Report, handled map[string]bool) error {
	limit := s.ClaimBatch
	if limit == 0 {
		limit = DefaultClaimBatch
	}
	budget := s.PageSize
	if budget <= 0 {
		budget = DefaultPageSize
	}
	for ran := 0; ran < budget; {
		if err := ctx.Err(); err != nil {
			err = fmt.Errorf("sweep: pass interrupted while claiming: %w", err)
			log.LogAttrs(ctx, slog.LevelInfo, "sweep pass interrupted", slog.Int("outcomes", len(rep.Outcomes)), slog.String("error", err.Error()))
			return err
		}
		batch, err := s.Registry.ClaimNext(ctx, s.Owner, s.TTL, s.Claim, min(limit, budget-ran))
		if err != nil {
			err = fmt.Errorf("sweep: claim next processes: %w", err)
			log.LogAttrs(ctx, slog.LevelWarn, "sweep pass failed", slog.String("error", err.Error()))
			return err
		}
		// Hold every lease of the batch first, so that none lapses while
		// the ones before it run.
		var held []*Work
		var runCtxs []context.Context
		for _, c := range batch {
			id := c.Record.ID
			if handled[id] || s.Filter != nil && !s.Filter(c.Record) || !s.enter(id) {
				s.release(ctx, c.Lease)
				continue
			}
			handled[id] = true
			work, runCtx := Hold(ctx, s.Registry, c.Record, c.Lease, s.TTL, HoldOptions{RenewEvery: s.RenewEvery, Clock: s.Clock, Logger: s.Logger})
			held = append(held, work)
			runCtxs = append(runCtxs, runCtx)
		}
		for i, work := range held {
			if err := ctx.Err(); err != nil {
				for _, w := range held[i:] {
					_ = w.Release(ctx) // best effort: a lease left behind expires after the ttl
					s.leave(w.Record.ID)
				}
				err = fmt.Errorf("sweep: pass interrupted before process %q: %w", work.Record.ID, err)
				log.LogAttrs(ctx, slog.LevelInfo, "sweep pass interrupted", slog.String("process_id", work.Record.ID),
					slog.Int("outcomes", len(rep.Outcomes)), slog.String("error", err.Error()))
				return err
			}
			o := s.runClaimed(ctx, runCtxs[i], work)
			logOutcome(ctx, log, o)
			if s.Observe != nil {
				s.Observe(o)
			}
			rep.Outcomes = append(rep.Outcomes, o)
		}
		ran += len(held)
		if len(held) == 0 || len(batch) < limit {
			return nil
		}
	}
	return nil
}

// runClaimed runs (or, with a pending abandon request, reconciles) a
// process the claim phase holds, and releases its lease.
func (s *Sweeper) runClaimed(ctx, runCtx context.Context, work *Work) (o Outcome) {
	rec := work.Record
	o = Outcome{ProcessID: rec.ID, Disposition: rec.Disposition, FencingToken: work.Lease().FencingToken}
	if st := rec.FirstStarted; st != nil && !st.Owner.SameIncarnation(s.Owner) {
		starter := st.Owner
		o.Takeover, o.Holder = true, &starter
	}
	defer s.leave(rec.ID)
	defer func() {
		o.Refused = work.Refused()
		if err := work.Release(ctx); err != nil && o.err == nil {
			o.err = err
			o.Error = err.Error()
		}
	}()
	if rec.AbandonRequest != nil {
		// ClaimNext leases only free or expired leases: the request has
		// lapsed into a claim, as in the scan.
		_, err := work.Complete(ctx, procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{
			Writer: procreg.WriterReconciledRequest, Owner: o.Holder, At: s.now(),
		}})
		if err != nil {
			o.Action = Failed
			o.err = fmt.Errorf("sweep process %q: reconcile abandon request: %w", rec.ID, err)
			o.Error = o.err.Error()
			return o
		}
		o.Action = Reconciled
		return o
	}
	o.Action = Ran
	if err := s.Run(runCtx, work); err != nil {
		o.err = fmt.Errorf("run process %q: %w", rec.ID, err)
		o.Error = o.err.Error()
	}
	return o
}

// discardLogger stands in for a nil Logger.
var discardLogger = slog.New(slog.DiscardHandler)

func (s *Sweeper) log() *slog.Logger {
	if s.Logger == nil {
		return discardLogger
	}
	return s.Logger
}

// logOutcome logs one Outcome: a failure at Warn; what changed something
// (a run, an abandonment, a reconciliation, a takeover, a refused write)
// at Info; a process left alone at Debug.
func logOutcome(ctx context.Context, log *slog.Logger, o Outcome) {
	level := slog.LevelDebug
	switch {
	case o.Action == Failed:
		level = slog.LevelWarn
	case o.Action == Ran || o.Action == Abandoned || o.Action == Reconciled || o.Takeover || o.Refused > 0:
		level = slog.LevelInfo
	}
	if !log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String("process_id", o.ProcessID), slog.String("disposition", string(o.Disposition)),
		slog.String("action", string(o.Action)))
	if o.Takeover {
		attrs = append(attrs, slog.Bool("takeover", true))
	}
	if o.Holder != nil {
		attrs = append(attrs, ownerAttr("holder", *o.Holder))
	}
	if o.FencingToken != 0 {
		attrs = append(attrs, slog.Uint64("fencing_token", o.FencingToken))
	}
	if o.Refused > 0 {
		attrs = append(attrs, slog.Int("refused_writes", o.Refused))
	}
	if o.Error != "" {
		attrs = append(attrs, slog.String("error", o.Error))
	}
	log.LogAttrs(ctx, level, "sweep outcome", attrs...)
}

// ownerAttr is a lease owner as a group: owner_id, incarnation_id and, when
// it has a local process liveness, pid.
func ownerAttr(key string, o procreg.LeaseOwner) slog.Attr {
	attrs := []any{slog.String("owner_id", o.OwnerID), slog.String("incarnation_id", o.IncarnationID)}
	if o.Liveness.PID != 0 {
		attrs = append(attrs, slog.Int("pid", o.Liveness.PID))
	}
	return slog.Group(key, attrs...)
}

// one recovers a single listed process.
func (s *Sweeper) one(ctx context.Context, rec procreg.Record) (o Outcome) {
	o = Outcome{ProcessID: rec.ID, Disposition: rec.Disposition}
	fail := func(step string, err error) Outcome {
		if errors.Is(err, procreg.ErrTerminal) || errors.Is(err, procreg.ErrNotFound) {
			// Finished or pruned by someone else since the listing: nothing to recover.
			o.Action = Gone
			return o
		}
		o.Action = Failed
		o.err = fmt.Errorf("sweep process %q: %s: %w", rec.ID, step, err)
		o.Error = o.err.Error()
		return o
	}
	switch rec.Disposition {
	case procreg.DispositionExternallyOwned:
		return s.external(ctx, rec, o, fail)
	case procreg.DispositionRerunnable, procreg.DispositionOwnerBound:
	default:
		return fail("recover", fmt.Errorf("unknown disposition %q: %w", rec.Disposition, procreg.ErrInvalid))
	}
	if !s.enter(rec.ID) {
		o.Action = Busy
		o.Holder = &s.Owner
		return o
	}
	defer s.leave(rec.ID)

	// An owner-bound process started by this very incarnation is still its
	// owner's to continue (say, after its lease lapsed during a stall);
	// started by anyone else it is never run again.
	startedOnly := rec.Disposition == procreg.DispositionOwnerBound && rec.FirstStarted != nil &&
		!rec.FirstStarted.Owner.SameIncarnation(s.Owner)
	wantsRun := rec.AbandonRequest == nil && !startedOnly
	if startedOnly && rec.AbandonRequest == nil && !rec.FirstStarted.Owner.IsDefinitelyDeadFor(s.Owner) {
		// Started by an owner that may still be running it: never rerun,
		// never abandon, and no claim that would fence that owner off.
		starter := rec.FirstStarted.Owner
		o.Action = StartedElsewhere
		o.Holder = &starter
		return o
	}

	// Read the lease first so that a busy row costs a read, not a write
	// transaction. The claim below stays the authority.
	cur, err := s.Registry.GetProcessLease(ctx, rec.ID)
	if err != nil {
		return fail("read lease", err)
	}
	var prev *procreg.LeaseOwner // the other owner whose lease we take over
	if cur != nil && !cur.Owner.SameIncarnation(s.Owner) {
		owner := cur.Owner
		prev = &owner
	}
	live := cur.IsLive(s.now())
	if live && cur.Owner.SameIncarnation(s.Owner) {
		// Our incarnation holds it outside this pass: a claim would re-enter
		// that lease, so leave it until it is released or expires.
		o.Action = Busy
		o.Holder = &cur.Owner
		return o
	}
	if live && rec.AbandonRequest != nil {
		o.Action = AbandonPending
		o.Holder = prev
		return o
	}
	if live && !cur.Owner.IsDefinitelyDeadFor(s.Owner) {
		o.Action = Busy
		o.Holder = prev
		return o
	}
	if wantsRun && s.Run == nil {
		o.Action = Claimable
		o.Holder = prev
		return o
	}

	// Acquire: a reclaim fenced on the observed holder when it is live but
	// dead, else a plain claim (free or expired lease).
	var claim procreg.LeaseClaim
	if live {
		claim, err = s.Registry.ReclaimProcessLease(ctx, rec.ID, s.Owner, *cur, s.TTL)
	} else {
		claim, err = s.Registry.ClaimProcessLease(ctx, rec.ID, s.Owner, s.TTL)
		if err == nil && !claim.Acquired && rec.AbandonRequest == nil && claim.Lease.Owner.IsDefinitelyDeadFor(s.Owner) {
			// A holder appeared after our read and is already dead.
			holder := claim.Lease
			prev = &holder.Owner
			live = true
			claim, err = s.Registry.ReclaimProcessLease(ctx, rec.ID, s.Owner, holder, s.TTL)
		}
	}
	if err != nil {
		return fail("claim lease", err)
	}
	if !claim.Acquired {
		o.Holder = &claim.Lease.Owner
		o.Action = Busy
		if rec.AbandonRequest != nil {
			o.Action = AbandonPending
		}
		return o
	}
	o.FencingToken = claim.Lease.FencingToken
	o.Takeover = prev != nil && !prev.SameIncarnation(s.Owner)
	o.Holder = prev
	reclaimed := live

	// Decide on the record as it is now that we hold the lease: it may have
	// changed since the listing.
	fresh, err := s.Registry.GetProcess(ctx, rec.ID)
	if err != nil {
		s.release(ctx, claim.Lease)
		return fail("read process", err)
	}
	work, runCtx := Hold(ctx, s.Registry, fresh, claim.Lease, s.TTL, HoldOptions{RenewEvery: s.RenewEvery, Clock: s.Clock, Logger: s.Logger})
	defer func() {
		o.Refused = work.Refused()
		if err := work.Release(ctx); err != nil && o.err == nil {
			o.err = err
			o.Error = err.Error()
		}
	}()
	switch {
	case fresh.IsTerminal():
		o.Action = Gone
		return o
	case fresh.AbandonRequest != nil && reclaimed:
		// The lease was live (under a dead holder) when we took it; the
		// request is reconciled by a later pass once this release lapses it.
		o.Action = AbandonPending
		return o
	case fresh.AbandonRequest != nil:
		_, err := work.Complete(ctx, procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{
			Writer: procreg.WriterReconciledRequest, Owner: prev, At: s.now(),
		}})
		if err != nil {
			return fail("reconcile abandon request", err)
		}
		o.Action = Reconciled
		return o
	case fresh.Disposition == procreg.DispositionOwnerBound && fresh.FirstStarted != nil &&
		!fresh.FirstStarted.Owner.SameIncarnation(s.Owner):
		starter := fresh.FirstStarted.Owner
		o.Holder = &starter
		if !starter.IsDefinitelyDeadFor(s.Owner) {
			o.Action = StartedElsewhere
			return o
		}
		_, err := work.Complete(ctx, procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{
			Writer: procreg.WriterSweep, Owner: &starter, At: s.now(),
		}})
		if err != nil {
			return fail("abandon started owner-bound process", err)
		}
		o.Action = Abandoned
		return o
	case s.Run == nil:
		o.Action = Claimable
		return o
	}
	o.Action = Ran
	if err := s.Run(runCtx, work); err != nil {
		o.err = fmt.Errorf("run process %q: %w", rec.ID, err)
		o.Error = o.err.Error()
	}
	return o
}

// external handles an externally owned row: never claimed; a pending abandon
// request is reconciled once no live lease remains.
func (s *Sweeper) external(ctx context.Context, rec procreg.Record, o Outcome, fail func(string, error) Outcome) Outcome {
	if rec.AbandonRequest == nil {
		o.Action = External
		return o
	}
	cur, err := s.Registry.GetProcessLease(ctx, rec.ID)
	if err != nil {
		return fail("read lease", err)
	}
	var holder *procreg.LeaseOwner
	if cur != nil {
		holder = &cur.Owner
		if cur.IsLive(s.now()) {
			o.Action = AbandonPending
			o.Holder = holder
			return o
		}
	}
	_, err = s.Registry.CompleteProcess(ctx, rec.ID, procreg.AwaitOutput{Kind: procreg.OutputAbandoned, Evidence: &procreg.AbandonEvidence{
		Writer: procreg.WriterReconciledRequest, Owner: holder, At: s.now(),
	}})
	if err != nil {
		return fail("reconcile abandon request", err)
	}
	o.Action = Reconciled
	o.Holder = holder
	return o
}

// enter marks a process as being recovered by this Sweeper; false when it
// already is (a concurrent Pass of the same Sweeper).
func (s *Sweeper) enter(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[id] {
		return false
	}
	if s.inFlight == nil {
		s.inFlight = map[string]bool{}
	}
	s.inFlight[id] = true
	return true
}

func (s *Sweeper) leave(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inFlight, id)
}

// release frees a lease acquired but not yet held by a Work.
func (s *Sweeper) release(ctx context.Context, l procreg.Lease) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	// Best effort: a lease left behind expires after the ttl.
	_ = s.Registry.CompleteProcessLease(rctx, procreg.LeaseCompletion{ProcessID: l.ProcessID, Token: l.Token})
}
