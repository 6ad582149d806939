package otelreg

import (
	"context"
	"time"

	"github.com/procreg/procreg"
)

// method indexes the instrumented Registry methods.
type method int

const (
	mRegisterProcess method = iota
	mSetExternalRef
	mGrantHandle
	mRevokeHandle
	mTransferHandleGrants
	mListHandleGrants
	mListLiveHandleGrants
	mHasHandleGrant
	mHandleGrantsForProcess
	mDeleteSessionProcessState
	mAppendEvent
	mEventsAfter
	mWakeEventsAfter
	mCountEventsThrough
	mRecentEvents
	mCompleteProcess
	mRecordFirstStarted
	mRequestProcessAbandon
	mSetProcessWait
	mClearProcessWait
	mGetProcess
	mListProcesses
	mAckWake
	mListNonTerminal
	mClaimProcessLease
	mReclaimProcessLease
	mRenewProcessLease
	mGetProcessLease
	mCompleteProcessLease
	mPruneTerminalProcesses
	mClose
	mAppendEventWithLease
	mCompleteProcessWithLease
	mProcessesChangedSince
	mListProcessesPage
	mListNonTerminalPage
	mCountProcesses
	mClaimNext
	mRegisterProcesses
	numMethods
)

// methodNames are the Registry method names, by method.
var methodNames = [numMethods]string{
	mRegisterProcess:           "RegisterProcess",
	mSetExternalRef:            "SetExternalRef",
	mGrantHandle:               "GrantHandle",
	mRevokeHandle:              "RevokeHandle",
	mTransferHandleGrants:      "TransferHandleGrants",
	mListHandleGrants:          "ListHandleGrants",
	mListLiveHandleGrants:      "ListLiveHandleGrants",
	mHasHandleGrant:            "HasHandleGrant",
	mHandleGrantsForProcess:    "HandleGrantsForProcess",
	mDeleteSessionProcessState: "DeleteSessionProcessState",
	mAppendEvent:               "AppendEvent",
	mEventsAfter:               "EventsAfter",
	mWakeEventsAfter:           "WakeEventsAfter",
	mCountEventsThrough:        "CountEventsThrough",
	mRecentEvents:              "RecentEvents",
	mCompleteProcess:           "CompleteProcess",
	mRecordFirstStarted:        "RecordFirstStarted",
	mRequestProcessAbandon:     "RequestProcessAbandon",
	mSetProcessWait:            "SetProcessWait",
	mClearProcessWait:          "ClearProcessWait",
	mGetProcess:                "GetProcess",
	mListProcesses:             "ListProcesses",
	mAckWake:                   "AckWake",
	mListNonTerminal:           "ListNonTerminal",
	mClaimProcessLease:         "ClaimProcessLease",
	mReclaimProcessLease:       "ReclaimProcessLease",
	mRenewProcessLease:         "RenewProcessLease",
	mGetProcessLease:           "GetProcessLease",
	mCompleteProcessLease:      "CompleteProcessLease",
	mPruneTerminalProcesses:    "PruneTerminalProcesses",
	mClose:                     "Close",
	mAppendEventWithLease:      "AppendEventWithLease",
	mCompleteProcessWithLease:  "CompleteProcessWithLease",
	mProcessesChangedSince:     "ProcessesChangedSince",
	mListProcessesPage:         "ListProcessesPage",
	mListNonTerminalPage:       "ListNonTerminalPage",
	mClaimNext:                 "ClaimNext",
	mRegisterProcesses:         "RegisterProcesses",
	mCountProcesses:            "CountProcesses",
}

// DurabilityTier is forwarded without a span or metrics: it is a constant
// of the registry, answered without I/O.
func (r *registry) DurabilityTier() procreg.DurabilityTier { return r.inner.DurabilityTier() }

func (r *registry) RegisterProcess(ctx context.Context, reg procreg.Registration) (procreg.Record, error) {
	c := r.start(ctx, mRegisterProcess, reg.ID, "")
	rec, err := r.inner.RegisterProcess(c.ctx, reg)
	c.end(err)
	return rec, err
}

func (r *registry) SetExternalRef(ctx context.Context, processID string, ref procreg.ExternalRef) (procreg.Record, error) {
	c := r.start(ctx, mSetExternalRef, processID, "")
	rec, err := r.inner.SetExternalRef(c.ctx, processID, ref)
	c.end(err)
	return rec, err
}

func (r *registry) GrantHandle(ctx context.Context, scope procreg.SessionScope, processID string, d procreg.HandleDescriptor) (procreg.HandleGrant, error) {
	c := r.start(ctx, mGrantHandle, processID, scope.SessionID)
	g, err := r.inner.GrantHandle(c.ctx, scope, processID, d)
	c.end(err)
	return g, err
}

func (r *registry) RevokeHandle(ctx context.Context, scope procreg.SessionScope, processID string) error {
	c := r.start(ctx, mRevokeHandle, processID, scope.SessionID)
	err := r.inner.RevokeHandle(c.ctx, scope, processID)
	c.end(err)
	return err
}

func (r *registry) TransferHandleGrants(ctx context.Context, from, to procreg.SessionScope, processIDs []string) error {
	c := r.start(ctx, mTransferHandleGrants, "", from.SessionID)
	err := r.inner.TransferHandleGrants(c.ctx, from, to, processIDs)
	c.end(err)
	return err
}

func (r *registry) ListHandleGrants(ctx context.Context, scope procreg.SessionScope) ([]procreg.HandleGrantEntry, error) {
	c := r.start(ctx, mListHandleGrants, "", scope.SessionID)
	out, err := r.inner.ListHandleGrants(c.ctx, scope)
	c.end(err)
	return out, err
}

func (r *registry) ListLiveHandleGrants(ctx context.Context, scope procreg.SessionScope) ([]procreg.HandleGrantEntry, error) {
	c := r.start(ctx, mListLiveHandleGrants, "", scope.SessionID)
	out, err := r.inner.ListLiveHandleGrants(c.ctx, scope)
	c.end(err)
	return out, err
}

func (r *registry) HasHandleGrant(ctx context.Context, scope procreg.SessionScope, processID string) (bool, error) {
	c := r.start(ctx, mHasHandleGrant, processID, scope.SessionID)
	ok, err := r.inner.HasHandleGrant(c.ctx, scope, processID)
	c.end(err)
	return ok, err
}

func (r *registry) HandleGrantsForProcess(ctx context.Context, processID string) ([]procreg.HandleGrant, error) {
	c := r.start(ctx, mHandleGrantsForProcess, processID, "")
	out, err := r.inner.HandleGrantsForProcess(c.ctx, processID)
	c.end(err)
	return out, err
}

func (r *registry) DeleteSessionProcessState(ctx context.Context, sessionID string) (procreg.SessionDeleteReport, error) {
	c := r.start(ctx, mDeleteSessionProcessState, "", sessionID)
	rep, err := r.inner.DeleteSessionProcessState(c.ctx, sessionID)
	c.end(err)
	return rep, err
}

func (r *registry) AppendEvent(ctx context.Context, processID string, req procreg.AppendRequest) (procreg.AppendResult, error) {
	c := r.start(ctx, mAppendEvent, processID, "")
	res, err := r.inner.AppendEvent(c.ctx, processID, req)
	c.end(err)
	return res, err
}

func (r *registry) EventsAfter(ctx context.Context, processID string, afterSequence uint64) ([]procreg.Event, error) {
	c := r.start(ctx, mEventsAfter, processID, "")
	out, err := r.inner.EventsAfter(c.ctx, processID, afterSequence)
	c.end(err)
	return out, err
}

func (r *registry) WakeEventsAfter(ctx context.Context, processID string, afterSequence uint64) ([]procreg.Event, error) {
	c := r.start(ctx, mWakeEventsAfter, processID, "")
	out, err := r.inner.WakeEventsAfter(c.ctx, processID, afterSequence)
	c.end(err)
	return out, err
}

func (r *registry) CountEventsThrough(ctx context.Context, processID, eventType string, upToSequence uint64) (uint64, error) {
	c := r.start(ctx, mCountEventsThrough, processID, "")
	n, err := r.inner.CountEventsThrough(c.ctx, processID, eventType, upToSequence)
	c.end(err)
	return n, err
}

func (r *registry) RecentEvents(ctx context.Context, processID string, limit int) ([]procreg.Event, error) {
	c := r.start(ctx, mRecentEvents, processID, "")
	out, err := r.inner.RecentEvents(c.ctx, processID, limit)
	c.end(err)
	return out, err
}

func (r *registry) CompleteProcess(ctx context.Context, processID string, out procreg.AwaitOutput) (procreg.Record, error) {
	c := r.start(ctx, mCompleteProcess, processID, "")
	rec, err := r.inner.CompleteProcess(c.ctx, processID, out)
	c.end(err)
	return rec, err
}

func (r *registry) RecordFirstStarted(ctx context.Context, processID string, s procreg.Started) (procreg.Record, error) {
	c := r.start(ctx, mRecordFirstStarted, processID, "")
	rec, err := r.inner.RecordFirstStarted(c.ctx, processID, s)
	c.end(err)
	return rec, err
}

func (r *registry) RequestProcessAbandon(ctx context.Context, processID string, a procreg.AbandonRequest) (procreg.Record, error) {
	c := r.start(ctx, mRequestProcessAbandon, processID, "")
	rec, err := r.inner.RequestProcessAbandon(c.ctx, processID, a)
	c.end(err)
	return rec, err
}

func (r *registry) SetProcessWait(ctx context.Context, processID string, w procreg.WaitState) (procreg.Record, error) {
	c := r.start(ctx, mSetProcessWait, processID, "")
	rec, err := r.inner.SetProcessWait(c.ctx, processID, w)
	c.end(err)
	return rec, err
}

func (r *registry) ClearProcessWait(ctx context.Context, processID string) (procreg.Record, error) {
	c := r.start(ctx, mClearProcessWait, processID, "")
	rec, err := r.inner.ClearProcessWait(c.ctx, processID)
	c.end(err)
	return rec, err
}

func (r *registry) GetProcess(ctx context.Context, processID string) (procreg.Record, error) {
	c := r.start(ctx, mGetProcess, processID, "")
	rec, err := r.inner.GetProcess(c.ctx, processID)
	c.end(err)
	return rec, err
}

func (r *registry) ListProcesses(ctx context.Context, f procreg.ListFilter) ([]procreg.Record, error) {
	c := r.start(ctx, mListProcesses, "", "")
	out, err := r.inner.ListProcesses(c.ctx, f)
	c.end(err)
	return out, err
}

func (r *registry) AckWake(ctx context.Context, processID string, sequence uint64) error {
	c := r.start(ctx, mAckWake, processID, "")
	err := r.inner.AckWake(c.ctx, processID, sequence)
	c.end(err)
	return err
}

func (r *registry) ListNonTerminal(ctx context.Context) ([]procreg.Record, error) {
	c := r.start(ctx, mListNonTerminal, "", "")
	out, err := r.inner.ListNonTerminal(c.ctx)
	c.end(err)
	return out, err
}

func (r *registry) ClaimProcessLease(ctx context.Context, processID string, owner procreg.LeaseOwner, ttl time.Duration) (procreg.LeaseClaim, error) {
	c := r.start(ctx, mClaimProcessLease, processID, "")
	claim, err := r.inner.ClaimProcessLease(c.ctx, processID, owner, ttl)
	c.endClaim(claim, err)
	return claim, err
}

func (r *registry) ReclaimProcessLease(ctx context.Context, processID string, owner procreg.LeaseOwner, observed procreg.Lease, ttl time.Duration) (procreg.LeaseClaim, error) {
	c := r.start(ctx, mReclaimProcessLease, processID, "")
	claim, err := r.inner.ReclaimProcessLease(c.ctx, processID, owner, observed, ttl)
	c.endClaim(claim, err)
	return claim, err
}

func (r *registry) RenewProcessLease(ctx context.Context, l procreg.Lease, ttl time.Duration) (procreg.Lease, error) {
	c := r.start(ctx, mRenewProcessLease, l.ProcessID, "")
	out, err := r.inner.RenewProcessLease(c.ctx, l, ttl)
	c.end(err)
	return out, err
}

func (r *registry) GetProcessLease(ctx context.Context, processID string) (*procreg.Lease, error) {
	c := r.start(ctx, mGetProcessLease, processID, "")
	l, err := r.inner.GetProcessLease(c.ctx, processID)
	c.end(err)
	return l, err
}

func (r *registry) CompleteProcessLease(ctx context.Context, lc procreg.LeaseCompletion) error {
	c := r.start(ctx, mCompleteProcessLease, lc.ProcessID, "")
	err := r.inner.CompleteProcessLease(c.ctx, lc)
	c.end(err)
	return err
}

func (r *registry) PruneTerminalProcesses(ctx context.Context, cutoff time.Time) (procreg.PruneReport, error) {
	c := r.start(ctx, mPruneTerminalProcesses, "", "")
	rep, err := r.inner.PruneTerminalProcesses(c.ctx, cutoff)
	c.end(err)
	return rep, err
}

// Close is traced as a root span (it takes no context).
func (r *registry) Close() error {
	c := r.start(context.Background(), mClose, "", "")
	err := r.inner.Close()
	c.end(err)
	return err
}

func (r *registry) AppendEventWithLease(ctx context.Context, lease procreg.Lease, req procreg.AppendRequest) (procreg.AppendResult, error) {
	c := r.start(ctx, mAppendEventWithLease, lease.ProcessID, "")
	res, err := r.inner.AppendEventWithLease(c.ctx, lease, req)
	c.endFenced(err)
	return res, err
}

func (r *registry) CompleteProcessWithLease(ctx context.Context, lease procreg.Lease, out procreg.AwaitOutput) (procreg.Record, error) {
	c := r.start(ctx, mCompleteProcessWithLease, lease.ProcessID, "")
	rec, err := r.inner.CompleteProcessWithLease(c.ctx, lease, out)
	c.endFenced(err)
	return rec, err
}

func (r *registry) ProcessesChangedSince(ctx context.Context, cursor string, limit int) (procreg.Page, error) {
	c := r.start(ctx, mProcessesChangedSince, "", "")
	p, err := r.inner.ProcessesChangedSince(c.ctx, cursor, limit)
	c.end(err)
	return p, err
}

func (r *registry) ListProcessesPage(ctx context.Context, f procreg.ListFilter, limit int, cursor string) (procreg.Page, error) {
	c := r.start(ctx, mListProcessesPage, "", "")
	p, err := r.inner.ListProcessesPage(c.ctx, f, limit, cursor)
	c.end(err)
	return p, err
}

func (r *registry) ListNonTerminalPage(ctx context.Context, limit int, cursor string) (procreg.Page, error) {
	c := r.start(ctx, mListNonTerminalPage, "", "")
	p, err := r.inner.ListNonTerminalPage(c.ctx, limit, cursor)
	c.end(err)
	return p, err
}

func (r *registry) CountProcesses(ctx context.Context, f procreg.ListFilter) (int, error) {
	c := r.start(ctx, mCountProcesses, "", "")
	n, err := r.inner.CountProcesses(c.ctx, f)
	c.end(err)
	return n, err
}

func (r *registry) ClaimNext(ctx context.Context, owner procreg.LeaseOwner, ttl time.Duration, f procreg.ListFilter, limit int) ([]procreg.Claimed, error) {
	c := r.start(ctx, mClaimNext, "", "")
	claimed, err := r.inner.ClaimNext(c.ctx, owner, ttl, f, limit)
	c.endBatch(limit, len(claimed), len(claimed), err)
	return claimed, err
}

func (r *registry) RegisterProcesses(ctx context.Context, regs []procreg.Registration) ([]procreg.Record, error) {
	c := r.start(ctx, mRegisterProcesses, "", "")
	recs, err := r.inner.RegisterProcesses(c.ctx, regs)
	c.endBatch(len(regs), len(recs), 0, err)
	return recs, err
}
