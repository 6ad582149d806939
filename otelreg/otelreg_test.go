package otelreg_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/await"
	"github.com/procreg/procreg/backends/memory"
	"github.com/procreg/procreg/otelreg"
)

// harness is a wrapped registry with in-memory exporters.
type harness struct {
	procreg.Registry
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
}

func newHarness(t testing.TB, inner procreg.Registry) *harness {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return &harness{Registry: otelreg.New(inner, otelreg.WithTracerProvider(tp), otelreg.WithMeterProvider(mp)), spans: spans, reader: reader}
}

// span returns the last ended span named name.
func (h *harness) span(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	ended := h.spans.Ended()
	for i := len(ended) - 1; i >= 0; i-- {
		if ended[i].Name() == name {
			return ended[i]
		}
	}
	t.Fatalf("no span %q among %d", name, len(ended))
	return nil
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// collect reads the metrics and returns them by instrument name.
func (h *harness) collect(t *testing.T) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelreg.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// count returns the sum of the counter's points whose attributes include want.
func count(t *testing.T, ms map[string]metricdata.Aggregation, name string, want ...attribute.KeyValue) int64 {
	t.Helper()
	data, ok := ms[name]
	if !ok {
		return 0
	}
	sum, ok := data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is %T, not an int64 sum", name, data)
	}
	var n int64
	for _, p := range sum.DataPoints {
		if hasAll(p.Attributes, want) {
			n += p.Value
		}
	}
	return n
}

// histCount returns the number of recordings of the histogram whose
// attributes include want.
func histCount(t *testing.T, ms map[string]metricdata.Aggregation, name string, want ...attribute.KeyValue) uint64 {
	t.Helper()
	hist, ok := ms[name].(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is %T, not a float64 histogram", name, ms[name])
	}
	var n uint64
	for _, p := range hist.DataPoints {
		if hasAll(p.Attributes, want) {
			n += p.Count
			var inBuckets uint64
			for _, b := range p.BucketCounts {
				inBuckets += b
			}
			if inBuckets != p.Count || p.Sum < 0 {
				t.Fatalf("%s: bucket counts %v do not add up to %d (sum %v)", name, p.BucketCounts, p.Count, p.Sum)
			}
		}
	}
	return n
}

func hasAll(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		v, ok := set.Value(kv.Key)
		if !ok || v != kv.Value {
			return false
		}
	}
	return true
}

func method(name string) attribute.KeyValue { return otelreg.AttrMethod.String(name) }
func outcome(c string) attribute.KeyValue   { return otelreg.AttrOutcome.String(c) }

func registration(id string) procreg.Registration {
	return procreg.Registration{
		ID:          id,
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"cmd":"make"}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:ci",
		EventTypes:  []procreg.EventType{{Name: "log"}},
	}
}

func owner(name string) procreg.LeaseOwner {
	return procreg.LeaseOwner{OwnerID: name, IncarnationID: name + "-inc"}
}

var logEvent = procreg.AppendRequest{EventType: "log", Payload: json.RawMessage(`{"line":"ok"}`)}

// TestEveryMethod calls every Registry method through the wrapper and
// checks its span, its attributes and its metrics.
func TestEveryMethod(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, memory.New())
	scope := procreg.SessionScope{SessionID: "s1"}
	other := procreg.SessionScope{SessionID: "s2"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if h.DurabilityTier() != procreg.TierInline {
		t.Fatalf("tier %v", h.DurabilityTier())
	}
	_, err := h.RegisterProcess(ctx, registration("p1"))
	must(err)
	_, err = h.RegisterProcess(ctx, registration("p2"))
	must(err)
	_, err = h.SetExternalRef(ctx, "p1", procreg.ExternalRef{Backend: "ci", ID: "job-1"})
	must(err)
	_, err = h.GrantHandle(ctx, scope, "p1", procreg.HandleDescriptor{Kind: "tool"})
	must(err)
	_, err = h.GrantHandle(ctx, scope, "p2", procreg.HandleDescriptor{Kind: "tool"})
	must(err)
	must(h.TransferHandleGrants(ctx, scope, other, []string{"p2"}))
	_, err = h.ListHandleGrants(ctx, scope)
	must(err)
	_, err = h.ListLiveHandleGrants(ctx, scope)
	must(err)
	_, err = h.HasHandleGrant(ctx, scope, "p1")
	must(err)
	_, err = h.HandleGrantsForProcess(ctx, "p1")
	must(err)
	must(h.RevokeHandle(ctx, scope, "p1"))
	_, err = h.DeleteSessionProcessState(ctx, "s2")
	must(err)
	_, err = h.AppendEvent(ctx, "p1", logEvent)
	must(err)
	_, err = h.EventsAfter(ctx, "p1", 0)
	must(err)
	_, err = h.WakeEventsAfter(ctx, "p1", 0)
	must(err)
	_, err = h.CountEventsThrough(ctx, "p1", "log", 10)
	must(err)
	_, err = h.RecentEvents(ctx, "p1", 5)
	must(err)
	_, err = h.RecordFirstStarted(ctx, "p1", procreg.Started{Owner: owner("w"), At: time.Now()})
	must(err)
	_, err = h.SetProcessWait(ctx, "p1", procreg.WaitState{Kind: "input"})
	must(err)
	_, err = h.ClearProcessWait(ctx, "p1")
	must(err)
	must(h.AckWake(ctx, "p1", 1))
	_, err = h.GetProcess(ctx, "p1")
	must(err)
	_, err = h.ListProcesses(ctx, procreg.ListFilter{})
	must(err)
	_, err = h.ListNonTerminal(ctx)
	must(err)
	claim, err := h.ClaimProcessLease(ctx, "p1", owner("w"), time.Minute)
	must(err)
	lease, err := h.RenewProcessLease(ctx, claim.Lease, time.Minute)
	must(err)
	_, err = h.GetProcessLease(ctx, "p1")
	must(err)
	_, err = h.AppendEventWithLease(ctx, lease, logEvent)
	must(err)
	_, err = h.CompleteProcessWithLease(ctx, lease, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`1`)})
	must(err)
	must(h.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "p1", Token: lease.Token}))
	_, err = h.RequestProcessAbandon(ctx, "p2", procreg.AbandonRequest{RequestedBy: "op", RequestedAt: time.Now()})
	must(err)
	claim2, err := h.ClaimProcessLease(ctx, "p2", owner("w"), time.Minute)
	must(err)
	_, err = h.ReclaimProcessLease(ctx, "p2", owner("v"), claim2.Lease, time.Minute)
	must(err)
	_, err = h.CompleteProcess(ctx, "p2", procreg.AwaitOutput{Kind: procreg.OutputCancelled})
	must(err)
	_, err = h.ProcessesChangedSince(ctx, "", 10)
	must(err)
	_, err = h.ListProcessesPage(ctx, procreg.ListFilter{}, 10, "")
	must(err)
	_, err = h.ListNonTerminalPage(ctx, 10, "")
	must(err)
	_, err = h.CountProcesses(ctx, procreg.ListFilter{})
	must(err)
	batch, err := h.RegisterProcesses(ctx, []procreg.Registration{registration("b1"), registration("b2"), registration("b1")})
	must(err)
	if len(batch) != 3 {
		t.Fatalf("RegisterProcesses returned %d records, want 3", len(batch))
	}
	claimed, err := h.ClaimNext(ctx, owner("w"), time.Minute, procreg.ListFilter{}, 5)
	must(err)
	if len(claimed) != 2 {
		t.Fatalf("ClaimNext claimed %d, want b1 and b2", len(claimed))
	}
	_, err = h.PruneTerminalProcesses(ctx, time.Now().Add(-time.Hour))
	must(err)
	must(h.Close())

	withProcess := map[string]string{
		"RegisterProcess": "p2", "SetExternalRef": "p1", "GrantHandle": "p2", "RevokeHandle": "p1",
		"HasHandleGrant": "p1", "HandleGrantsForProcess": "p1", "AppendEvent": "p1", "EventsAfter": "p1",
		"WakeEventsAfter": "p1", "CountEventsThrough": "p1", "RecentEvents": "p1", "CompleteProcess": "p2",
		"RecordFirstStarted": "p1", "RequestProcessAbandon": "p2", "SetProcessWait": "p1", "ClearProcessWait": "p1",
		"GetProcess": "p1", "AckWake": "p1", "ClaimProcessLease": "p2", "ReclaimProcessLease": "p2",
		"RenewProcessLease": "p1", "GetProcessLease": "p1", "CompleteProcessLease": "p1",
		"AppendEventWithLease": "p1", "CompleteProcessWithLease": "p1",
	}
	withSession := map[string]string{
		"GrantHandle": "s1", "RevokeHandle": "s1", "TransferHandleGrants": "s1", "ListHandleGrants": "s1",
		"ListLiveHandleGrants": "s1", "HasHandleGrant": "s1", "DeleteSessionProcessState": "s2",
	}
	ms := h.collect(t)
	for _, name := range registryMethods(t) {
		if name == "DurabilityTier" {
			continue // a constant: forwarded without telemetry
		}
		s := h.span(t, "procreg."+name)
		a := attrs(s)
		if got := a[otelreg.AttrMethod].AsString(); got != name {
			t.Errorf("%s: procreg.method %q", name, got)
		}
		if got := a[otelreg.AttrOutcome].AsString(); got != otelreg.OutcomeOK {
			t.Errorf("%s: procreg.outcome %q", name, got)
		}
		if s.Status().Code != codes.Unset {
			t.Errorf("%s: status %v", name, s.Status())
		}
		if _, ok := a[otelreg.AttrErrorType]; ok {
			t.Errorf("%s: error.type on a success", name)
		}
		if got, want := a[otelreg.AttrProcessID].AsString(), withProcess[name]; got != want {
			t.Errorf("%s: procreg.process_id %q, want %q", name, got, want)
		}
		if got, want := a[otelreg.AttrSessionID].AsString(), withSession[name]; got != want {
			t.Errorf("%s: procreg.session_id %q, want %q", name, got, want)
		}
		if n := count(t, ms, "procreg.calls", method(name), outcome(otelreg.OutcomeOK)); n < 1 {
			t.Errorf("%s: procreg.calls %d", name, n)
		}
		if n := histCount(t, ms, "procreg.duration", method(name), outcome(otelreg.OutcomeOK)); n < 1 {
			t.Errorf("%s: procreg.duration has %d recordings", name, n)
		}
	}
	if n := count(t, ms, "procreg.calls", method("RegisterProcess")); n != 2 {
		t.Errorf("RegisterProcess calls %d, want 2", n)
	}
	if n := histCount(t, ms, "procreg.duration", method("GrantHandle")); n != 2 {
		t.Errorf("GrantHandle duration recordings %d, want 2", n)
	}
	if n := count(t, ms, "procreg.errors"); n != 0 {
		t.Errorf("procreg.errors %d on a run without errors", n)
	}
	for name, want := range map[string][2]int64{"RegisterProcesses": {3, 3}, "ClaimNext": {5, 2}} {
		a := attrs(h.span(t, "procreg."+name))
		if got := [2]int64{a[otelreg.AttrBatchSize].AsInt64(), a[otelreg.AttrBatchResults].AsInt64()}; got != want {
			t.Errorf("%s: procreg.batch.size and results %v, want %v", name, got, want)
		}
	}
	if n := count(t, ms, "procreg.lease.claims", method("ClaimNext"), otelreg.AttrLeaseResult.String("acquired")); n != 2 {
		t.Errorf("ClaimNext counted %d acquired claims, want one per process claimed (2)", n)
	}
	for _, s := range h.spans.Ended() {
		if s.SpanKind().String() != "internal" {
			t.Errorf("%s: kind %v", s.Name(), s.SpanKind())
		}
	}
	for _, s := range h.spans.Ended() {
		if s.Name() == "procreg.DurabilityTier" {
			t.Error("DurabilityTier has a span")
		}
	}
}

// registryMethods lists the methods of procreg.Registry.
func registryMethods(t *testing.T) []string {
	t.Helper()
	typ := reflect.TypeFor[procreg.Registry]()
	var names []string
	for i := range typ.NumMethod() {
		names = append(names, typ.Method(i).Name)
	}
	if len(names) < 30 {
		t.Fatalf("only %d methods", len(names))
	}
	return names
}

// failing is a registry whose GetProcess and fenced writes fail with err;
// the embedded nil Registry makes any other method panic.
type failing struct {
	procreg.Registry
	err error
}

func (f failing) GetProcess(ctx context.Context, id string) (procreg.Record, error) {
	return procreg.Record{}, f.err
}

func (f failing) AppendEventWithLease(ctx context.Context, l procreg.Lease, req procreg.AppendRequest) (procreg.AppendResult, error) {
	return procreg.AppendResult{}, f.err
}

func TestErrorClasses(t *testing.T) {
	cases := []struct {
		err     error
		class   string
		failure bool
	}{
		{procreg.ErrNotFound, otelreg.OutcomeNotFound, false},
		{procreg.ErrInvalid, otelreg.OutcomeInvalid, true},
		{procreg.ErrRegistrationConflict, otelreg.OutcomeRegistrationConflict, true},
		{procreg.ErrExternalRefConflict, otelreg.OutcomeExternalRefConflict, true},
		{procreg.ErrReplayConflict, otelreg.OutcomeReplayConflict, true},
		{procreg.ErrTerminal, otelreg.OutcomeTerminal, false},
		{procreg.ErrNotGranted, otelreg.OutcomeNotGranted, true},
		{procreg.ErrLeaseLost, otelreg.OutcomeLeaseLost, false},
		{procreg.ErrUnavailable, otelreg.OutcomeUnavailable, true},
		{context.Canceled, otelreg.OutcomeCanceled, true},
		{context.DeadlineExceeded, otelreg.OutcomeDeadlineExceeded, true},
		{errors.New("disk on fire"), otelreg.OutcomeOther, true},
		// A sentinel wins over the context error it also wraps.
		{fmt.Errorf("%w: %w", procreg.ErrUnavailable, context.DeadlineExceeded), otelreg.OutcomeUnavailable, true},
	}
	if got := otelreg.Classify(nil); got != otelreg.OutcomeOK {
		t.Fatalf("Classify(nil) = %q", got)
	}
	for _, c := range cases {
		t.Run(c.class, func(t *testing.T) {
			wrapped := fmt.Errorf("procreg: get process %q: %w", "p", c.err)
			if got := otelreg.Classify(wrapped); got != c.class {
				t.Fatalf("Classify = %q, want %q", got, c.class)
			}
			if otelreg.IsFailure(c.class) != c.failure {
				t.Fatalf("IsFailure(%q) = %v", c.class, !c.failure)
			}
			h := newHarness(t, failing{err: wrapped})
			if _, err := h.GetProcess(context.Background(), "p"); err != wrapped {
				t.Fatalf("error %v not passed through unchanged", err)
			}
			s := h.span(t, "procreg.GetProcess")
			a := attrs(s)
			if got := a[otelreg.AttrOutcome].AsString(); got != c.class {
				t.Errorf("procreg.outcome %q", got)
			}
			if got := a[otelreg.AttrErrorType].AsString(); got != c.class {
				t.Errorf("error.type %q", got)
			}
			if got := a[otelreg.AttrProcessID].AsString(); got != "p" {
				t.Errorf("procreg.process_id %q", got)
			}
			recorded := len(s.Events()) > 0
			if c.failure {
				if s.Status().Code != codes.Error || s.Status().Description != wrapped.Error() || !recorded {
					t.Errorf("a failure: status %+v, %d events", s.Status(), len(s.Events()))
				}
			} else if s.Status().Code != codes.Unset || recorded {
				t.Errorf("not a failure: status %+v, %d events", s.Status(), len(s.Events()))
			}
			ms := h.collect(t)
			if n := count(t, ms, "procreg.errors", method("GetProcess"), otelreg.AttrErrorType.String(c.class)); n != 1 {
				t.Errorf("procreg.errors{%s} = %d", c.class, n)
			}
			if n := count(t, ms, "procreg.calls", method("GetProcess"), outcome(c.class)); n != 1 {
				t.Errorf("procreg.calls{%s} = %d", c.class, n)
			}
			if n := histCount(t, ms, "procreg.duration", method("GetProcess"), outcome(c.class)); n != 1 {
				t.Errorf("procreg.duration{%s} = %d recordings", c.class, n)
			}
			if n := count(t, ms, "procreg.fenced_writes.refused"); n != 0 {
				t.Errorf("an unfenced read counted as a refused write")
			}
		})
	}
}

// TestBackendErrors classifies the errors a real registry returns.
func TestBackendErrors(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, memory.New())
	if _, err := h.RegisterProcess(ctx, registration("p")); err != nil {
		t.Fatal(err)
	}
	conflict := registration("p")
	conflict.EnvRef = "env:other"
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	checks := []struct {
		span, class string
		call        func() error
	}{
		{"procreg.GetProcess", otelreg.OutcomeNotFound, func() error { _, err := h.GetProcess(ctx, "nope"); return err }},
		{"procreg.AppendEvent", otelreg.OutcomeInvalid, func() error { _, err := h.AppendEvent(ctx, "", logEvent); return err }},
		{"procreg.RegisterProcess", otelreg.OutcomeRegistrationConflict, func() error { _, err := h.RegisterProcess(ctx, conflict); return err }},
		{"procreg.TransferHandleGrants", otelreg.OutcomeNotGranted, func() error {
			return h.TransferHandleGrants(ctx, procreg.SessionScope{SessionID: "a"}, procreg.SessionScope{SessionID: "b"}, []string{"p"})
		}},
		{"procreg.ListNonTerminal", otelreg.OutcomeCanceled, func() error { _, err := h.ListNonTerminal(cctx); return err }},
	}
	for _, c := range checks {
		err := c.call()
		if got := otelreg.Classify(err); got != c.class {
			t.Errorf("%s: error %v classified %q, want %q", c.span, err, got, c.class)
			continue
		}
		if got := attrs(h.span(t, c.span))[otelreg.AttrOutcome].AsString(); got != c.class {
			t.Errorf("%s: procreg.outcome %q, want %q", c.span, got, c.class)
		}
	}
}

func TestLeaseClaimsAndFencedWrites(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, memory.New())
	if _, err := h.RegisterProcess(ctx, registration("p")); err != nil {
		t.Fatal(err)
	}
	first, err := h.ClaimProcessLease(ctx, "p", owner("a"), time.Minute)
	if err != nil || !first.Acquired {
		t.Fatalf("claim: %+v %v", first, err)
	}
	if got := attrs(h.span(t, "procreg.ClaimProcessLease"))[otelreg.AttrLeaseResult].AsString(); got != "acquired" {
		t.Errorf("first claim: procreg.lease.result %q", got)
	}
	for range 2 {
		busy, err := h.ClaimProcessLease(ctx, "p", owner("b"), time.Minute)
		if err != nil || busy.Acquired {
			t.Fatalf("second claim: %+v %v", busy, err)
		}
	}
	if got := attrs(h.span(t, "procreg.ClaimProcessLease"))[otelreg.AttrLeaseResult].AsString(); got != "busy" {
		t.Errorf("busy claim: procreg.lease.result %q", got)
	}
	// a is not provably dead (no liveness), so b's reclaim finds it busy.
	if reclaim, err := h.ReclaimProcessLease(ctx, "p", owner("b"), first.Lease, time.Minute); err != nil || reclaim.Acquired {
		t.Fatalf("reclaim from a live holder: %+v %v", reclaim, err)
	}
	// a lets go and b takes the lease: a's lease is stale.
	if err := h.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: "p", Token: first.Lease.Token}); err != nil {
		t.Fatal(err)
	}
	taken, err := h.ClaimProcessLease(ctx, "p", owner("b"), time.Minute)
	if err != nil || !taken.Acquired {
		t.Fatalf("claim after release: %+v %v", taken, err)
	}
	// a's fenced writes are refused.
	if _, err := h.AppendEventWithLease(ctx, first.Lease, logEvent); !errors.Is(err, procreg.ErrLeaseLost) {
		t.Fatalf("stale append: %v", err)
	}
	s := h.span(t, "procreg.AppendEventWithLease")
	if a := attrs(s); a[otelreg.AttrOutcome].AsString() != otelreg.OutcomeLeaseLost || a[otelreg.AttrProcessID].AsString() != "p" {
		t.Errorf("refused append span attributes %v", s.Attributes())
	}
	if s.Status().Code != codes.Unset {
		t.Errorf("a refused fenced write is not a failure: status %+v", s.Status())
	}
	out := procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`1`)}
	if _, err := h.CompleteProcessWithLease(ctx, first.Lease, out); !errors.Is(err, procreg.ErrLeaseLost) {
		t.Fatalf("stale completion: %v", err)
	}
	// b's writes land.
	if _, err := h.AppendEventWithLease(ctx, taken.Lease, logEvent); err != nil {
		t.Fatal(err)
	}
	if _, err := h.CompleteProcessWithLease(ctx, taken.Lease, out); err != nil {
		t.Fatal(err)
	}
	// A fenced write that fails for another reason is not a refusal.
	if _, err := h.AppendEventWithLease(ctx, procreg.Lease{}, logEvent); err == nil || errors.Is(err, procreg.ErrLeaseLost) {
		t.Fatalf("append with an empty lease: %v", err)
	}

	ms := h.collect(t)
	claims := func(m, result string) int64 {
		return count(t, ms, "procreg.lease.claims", method(m), otelreg.AttrLeaseResult.String(result))
	}
	if a, b := claims("ClaimProcessLease", "acquired"), claims("ClaimProcessLease", "busy"); a != 2 || b != 2 {
		t.Errorf("claims acquired %d busy %d, want 2 and 2", a, b)
	}
	if a, b := claims("ReclaimProcessLease", "acquired"), claims("ReclaimProcessLease", "busy"); a != 0 || b != 1 {
		t.Errorf("reclaims acquired %d busy %d, want 0 and 1", a, b)
	}
	if got := attrs(h.span(t, "procreg.ReclaimProcessLease"))[otelreg.AttrLeaseResult].AsString(); got != "busy" {
		t.Errorf("reclaim: procreg.lease.result %q", got)
	}
	for _, m := range []string{"AppendEventWithLease", "CompleteProcessWithLease"} {
		if n := count(t, ms, "procreg.fenced_writes.refused", method(m)); n != 1 {
			t.Errorf("%s refused %d, want 1", m, n)
		}
		if n := count(t, ms, "procreg.calls", method(m), outcome(otelreg.OutcomeOK)); n != 1 {
			t.Errorf("%s ok calls %d, want 1", m, n)
		}
		if n := count(t, ms, "procreg.errors", method(m), otelreg.AttrErrorType.String(otelreg.OutcomeLeaseLost)); n != 1 {
			t.Errorf("%s lease_lost errors %d, want 1", m, n)
		}
	}
	if n := count(t, ms, "procreg.fenced_writes.refused"); n != 2 {
		t.Errorf("refused writes %d, want 2", n)
	}
}

// notifying is a registry that is an await.Notifier.
type notifying struct {
	procreg.Registry
	watched []string
}

func (n *notifying) WatchProcess(ctx context.Context, id string) (<-chan struct{}, func(), error) {
	n.watched = append(n.watched, id)
	ch := make(chan struct{}, 1)
	ch <- struct{}{}
	return ch, func() {}, nil
}

func TestOptionalInterfaces(t *testing.T) {
	bare := memory.New()
	w := otelreg.New(bare)
	if _, ok := w.(await.Notifier); ok {
		t.Error("the wrapper of a registry without notifications claims to be an await.Notifier")
	}
	if u, ok := w.(otelreg.Unwrapper); !ok || u.Unwrap() != bare {
		t.Error("Unwrap does not return the wrapped registry")
	}

	inner := &notifying{Registry: bare}
	w = otelreg.New(inner)
	n, ok := w.(await.Notifier)
	if !ok {
		t.Fatal("the wrapper of an await.Notifier is not one")
	}
	wake, stop, err := n.WatchProcess(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	<-wake
	if len(inner.watched) != 1 || inner.watched[0] != "p" {
		t.Errorf("WatchProcess not forwarded: %v", inner.watched)
	}
	if u, ok := w.(otelreg.Unwrapper); !ok || u.Unwrap() != inner {
		t.Error("Unwrap does not return the wrapped notifier")
	}
}

// TestSpanParent: the span is a child of the caller's, and the wrapped
// registry sees the span's context.
func TestSpanParent(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	ctx, parent := tp.Tracer("test").Start(context.Background(), "caller")
	var seen context.Context
	reg := otelreg.New(ctxSpy{Registry: memory.New(), seen: &seen}, otelreg.WithTracerProvider(tp))
	_, _ = reg.GetProcess(ctx, "p")
	parent.End()
	s := spans.Ended()[0]
	if s.Name() != "procreg.GetProcess" || s.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("span %q has parent %v, want %v", s.Name(), s.Parent().SpanID(), parent.SpanContext().SpanID())
	}
	if got := traceSpanID(seen); got != s.SpanContext().SpanID().String() {
		t.Fatalf("the wrapped registry saw span %s, want %s", got, s.SpanContext().SpanID())
	}
}

type ctxSpy struct {
	procreg.Registry
	seen *context.Context
}

func (c ctxSpy) GetProcess(ctx context.Context, id string) (procreg.Record, error) {
	*c.seen = ctx
	return c.Registry.GetProcess(ctx, id)
}

// TestRootImportsNoTelemetry: the telemetry dependency stays in this
// package; the contract, the backends, sweep and await do not pull it in.
func TestRootImportsNoTelemetry(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	pkgs := []string{
		"github.com/procreg/procreg",
		"github.com/procreg/procreg/backends",
		"github.com/procreg/procreg/sweep",
		"github.com/procreg/procreg/await",
	}
	out, err := exec.Command(gobin, append([]string{"list", "-deps"}, pkgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/procreg/procreg\n") {
		t.Fatalf("go list printed no procreg package:\n%s", out)
	}
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "go.opentelemetry.io") {
			t.Errorf("imported without otelreg: %s", strings.TrimSpace(line))
		}
	}
}

func traceSpanID(ctx context.Context) string {
	return trace.SpanContextFromContext(ctx).SpanID().String()
}

// TestGlobalProviders: without options the wrapper uses the global
// providers, including ones installed after New.
func TestGlobalProviders(t *testing.T) {
	reg := otelreg.New(memory.New())
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	prevTP, prevMP := otel.GetTracerProvider(), otel.GetMeterProvider()
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetMeterProvider(prevMP)
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	_, _ = reg.GetProcess(context.Background(), "p")
	h := &harness{Registry: reg, spans: spans, reader: reader}
	if got := attrs(h.span(t, "procreg.GetProcess"))[otelreg.AttrOutcome].AsString(); got != otelreg.OutcomeNotFound {
		t.Errorf("procreg.outcome %q", got)
	}
	if n := count(t, h.collect(t), "procreg.calls", method("GetProcess")); n != 1 {
		t.Errorf("procreg.calls %d through the global meter provider", n)
	}
}
