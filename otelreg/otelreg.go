package otelreg

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/await"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/procreg/procreg/otelreg"

// Attribute keys.
const (
	// AttrMethod is the Registry method ("AppendEvent"): spans and every metric.
	AttrMethod = attribute.Key("procreg.method")
	// AttrOutcome is OutcomeOK or the error's class (see Classify): spans,
	// procreg.calls and procreg.duration.
	AttrOutcome = attribute.Key("procreg.outcome")
	// AttrErrorType is the error's class on procreg.errors and on spans
	// that ended in an error (OpenTelemetry's error.type).
	AttrErrorType = attribute.Key("error.type")
	// AttrProcessID is the process id of a call that names one: spans only
	// (unbounded cardinality has no place on a metric).
	AttrProcessID = attribute.Key("procreg.process_id")
	// AttrSessionID is the session of a call on a session scope; for
	// TransferHandleGrants the source scope's. Spans only.
	AttrSessionID = attribute.Key("procreg.session_id")
	// AttrLeaseResult is "acquired" or "busy" on procreg.lease.claims, and
	// on the span of a successful ClaimProcessLease or ReclaimProcessLease.
	AttrLeaseResult = attribute.Key("procreg.lease.result")
	// AttrBatchSize is the size a batch call asked for: ClaimNext's limit,
	// RegisterProcesses' number of registrations. Spans only.
	AttrBatchSize = attribute.Key("procreg.batch.size")
	// AttrBatchResults is how many results a successful batch call
	// returned: the processes ClaimNext claimed, the records
	// RegisterProcesses returned. Spans only.
	AttrBatchResults = attribute.Key("procreg.batch.results")
)

// Option configures New.
type Option func(*config)

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider sets the provider of the spans; nil or unset is
// otel.GetTracerProvider(), whose global delegate also reaches a provider
// installed with otel.SetTracerProvider after New.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets the provider of the metrics; nil or unset is
// otel.GetMeterProvider(), whose global delegate also reaches a provider
// installed with otel.SetMeterProvider after New.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// Unwrapper is implemented by the registries New returns: Unwrap returns
// the registry they wrap, for type assertions on optional interfaces that
// the wrapper does not forward itself.
type Unwrapper interface {
	Unwrap() procreg.Registry
}

// Compile-time checks: the wrapper is a Registry, and the notifying
// variant also an await.Notifier.
var (
	_ procreg.Registry = (*registry)(nil)
	_ Unwrapper        = (*registry)(nil)
	_ procreg.Registry = (*notifyingRegistry)(nil)
	_ await.Notifier   = (*notifyingRegistry)(nil)
)

// New returns reg instrumented with OpenTelemetry: one span per call and
// the metrics described in the package documentation. When reg is an
// await.Notifier, so is the result (its WatchProcess is forwarded
// untraced: a subscription is not a registry call), so await keeps waking
// early; any other optional interface is reached through Unwrap. New
// panics when reg is nil.
func New(reg procreg.Registry, opts ...Option) procreg.Registry {
	if reg == nil {
		panic("otelreg: New with a nil registry")
	}
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	r := &registry{inner: reg, inst: newInstruments(c)}
	if n, ok := reg.(await.Notifier); ok {
		return &notifyingRegistry{registry: r, notifier: n}
	}
	return r
}

// registry is the instrumented wrapper.
type registry struct {
	inner procreg.Registry
	inst  *instruments
}

// Unwrap returns the wrapped registry.
func (r *registry) Unwrap() procreg.Registry { return r.inner }

// notifyingRegistry is the wrapper of an await.Notifier.
type notifyingRegistry struct {
	*registry
	notifier await.Notifier
}

// WatchProcess forwards to the wrapped registry's await.Notifier.
func (r *notifyingRegistry) WatchProcess(ctx context.Context, processID string) (<-chan struct{}, func(), error) {
	return r.notifier.WatchProcess(ctx, processID)
}

// instruments are the tracer, the meter's instruments and the attribute
// sets computed once per method, so that a successful call allocates no
// attributes of its own.
type instruments struct {
	tracer   trace.Tracer
	calls    metric.Int64Counter
	errors   metric.Int64Counter
	duration metric.Float64Histogram
	claims   metric.Int64Counter
	refused  metric.Int64Counter
	methods  [numMethods]methodInst
}

type methodInst struct {
	spanName  string
	name      string
	startOpts []trace.SpanStartOption
	// The measurement options, as slices so that passing them to the
	// variadic Add and Record allocates nothing.
	okAdd    []metric.AddOption    // method + outcome ok
	okRecord []metric.RecordOption // method + outcome ok
	refused  []metric.AddOption    // method alone
	acquired []metric.AddOption    // lease claims: method + acquired
	busy     []metric.AddOption    // lease claims: method + busy
}

// okAttrs is the span attribute of a successful call.
var okAttrs = []attribute.KeyValue{AttrOutcome.String(OutcomeOK)}

// durationBuckets (seconds) span an in-memory call (microseconds) to a
// database call that waited on contention and retries (seconds).
var durationBuckets = []float64{0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func newInstruments(c config) *instruments {
	in := &instruments{tracer: c.tp.Tracer(ScopeName)}
	m := c.mp.Meter(ScopeName)
	// The instrument constructors return a working no-op instrument along
	// with an error (a bad name or unit), so the errors, which these
	// constant names cannot produce, go to the global error handler.
	var err error
	in.calls, err = m.Int64Counter("procreg.calls", metric.WithUnit("{call}"),
		metric.WithDescription("Registry calls, by method and outcome."))
	handle(err)
	in.errors, err = m.Int64Counter("procreg.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Registry calls that returned an error, by method and error class (error.type)."))
	handle(err)
	in.duration, err = m.Float64Histogram("procreg.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of Registry calls, by method and outcome."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	handle(err)
	in.claims, err = m.Int64Counter("procreg.lease.claims", metric.WithUnit("{claim}"),
		metric.WithDescription("Successful ClaimProcessLease and ReclaimProcessLease calls, by procreg.lease.result: acquired or busy; and each process a ClaimNext claimed (acquired)."))
	handle(err)
	in.refused, err = m.Int64Counter("procreg.fenced_writes.refused", metric.WithUnit("{write}"),
		metric.WithDescription("Fenced writes (AppendEventWithLease, CompleteProcessWithLease) refused with ErrLeaseLost."))
	handle(err)
	for i := range in.methods {
		name := methodNames[i]
		mAttr := AttrMethod.String(name)
		in.methods[i] = methodInst{
			spanName:  "procreg." + name,
			name:      name,
			startOpts: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(mAttr)},
		}
		ok := metric.WithAttributeSet(attribute.NewSet(mAttr, AttrOutcome.String(OutcomeOK)))
		in.methods[i].okAdd = []metric.AddOption{ok}
		in.methods[i].okRecord = []metric.RecordOption{ok}
		in.methods[i].refused = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(mAttr))}
		in.methods[i].acquired = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(mAttr, AttrLeaseResult.String("acquired")))}
		in.methods[i].busy = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(mAttr, AttrLeaseResult.String("busy")))}
	}
	return in
}

func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

// call is one instrumented call in flight.
type call struct {
	ctx   context.Context
	span  trace.Span
	m     *methodInst
	inst  *instruments
	start time.Time
}

// start opens the span of method m; processID and sessionID, when not
// empty, become span attributes.
func (r *registry) start(ctx context.Context, m method, processID, sessionID string) call {
	mi := &r.inst.methods[m]
	ctx, span := r.inst.tracer.Start(ctx, mi.spanName, mi.startOpts...)
	if span.IsRecording() {
		switch {
		case processID != "" && sessionID != "":
			span.SetAttributes(AttrProcessID.String(processID), AttrSessionID.String(sessionID))
		case processID != "":
			span.SetAttributes(AttrProcessID.String(processID))
		case sessionID != "":
			span.SetAttributes(AttrSessionID.String(sessionID))
		}
	}
	return call{ctx: ctx, span: span, m: mi, inst: r.inst, start: time.Now()}
}

// end records the call's outcome on its span and metrics, and ends the span.
func (c call) end(err error) {
	secs := time.Since(c.start).Seconds()
	if err == nil {
		c.inst.calls.Add(c.ctx, 1, c.m.okAdd...)
		c.inst.duration.Record(c.ctx, secs, c.m.okRecord...)
		if c.span.IsRecording() {
			c.span.SetAttributes(okAttrs...)
		}
		c.span.End()
		return
	}
	class := Classify(err)
	mAttr := AttrMethod.String(c.m.name)
	withOutcome := metric.WithAttributeSet(attribute.NewSet(mAttr, AttrOutcome.String(class)))
	c.inst.calls.Add(c.ctx, 1, withOutcome)
	c.inst.duration.Record(c.ctx, secs, withOutcome)
	c.inst.errors.Add(c.ctx, 1, metric.WithAttributeSet(attribute.NewSet(mAttr, AttrErrorType.String(class))))
	if c.span.IsRecording() {
		c.span.SetAttributes(AttrOutcome.String(class), AttrErrorType.String(class))
		if IsFailure(class) {
			c.span.RecordError(err)
			c.span.SetStatus(codes.Error, err.Error())
		}
	}
	c.span.End()
}

// endClaim ends a lease claim or reclaim, counting its result.
func (c call) endClaim(claim procreg.LeaseClaim, err error) {
	if err == nil {
		opt, result := c.m.busy, "busy"
		if claim.Acquired {
			opt, result = c.m.acquired, "acquired"
		}
		c.inst.claims.Add(c.ctx, 1, opt...)
		if c.span.IsRecording() {
			c.span.SetAttributes(AttrLeaseResult.String(result))
		}
	}
	c.end(err)
}

// endBatch ends a batch call (ClaimNext, RegisterProcesses): its span
// gets the size asked for and the results returned; acquired (ClaimNext's
// processes) counts as acquired lease claims.
func (c call) endBatch(size, results, acquired int, err error) {
	if c.span.IsRecording() {
		c.span.SetAttributes(AttrBatchSize.Int(size))
		if err == nil {
			c.span.SetAttributes(AttrBatchResults.Int(results))
		}
	}
	if err == nil && acquired > 0 {
		c.inst.claims.Add(c.ctx, int64(acquired), c.m.acquired...)
	}
	c.end(err)
}

// endFenced ends a fenced write, counting a refusal by the fence.
func (c call) endFenced(err error) {
	if err != nil && Classify(err) == OutcomeLeaseLost {
		c.inst.refused.Add(c.ctx, 1, c.m.refused...)
	}
	c.end(err)
}
