package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/driver"
)

// Config shapes one history: Clients clients each run OpsPerRound calls in
// each of Rounds rounds; round r works on two fresh processes, a lease
// process and a log process, so every partition the checker sees has about
// Clients*OpsPerRound/2 operations from all clients at once.
type Config struct {
	Run         string // unique prefix of the process ids
	Clients     int
	Rounds      int
	OpsPerRound int
	Seed        uint64
	// OpTimeout bounds each call (default one minute); a call cut off by
	// it is an operation of unknown outcome.
	OpTimeout time.Duration
	// Barrier, when set, is called by each client before each round r > 0
	// with its client id; it returns once every client reached round r
	// (clients in other OS processes keep their rounds aligned this way).
	Barrier func(round, client int) `json:"-"`
	// Backoff is how long a client waits after a failed call before its
	// next one (default 20ms), so an outage is not a busy loop.
	Backoff time.Duration
}

func (c Config) opTimeout() time.Duration {
	if c.OpTimeout <= 0 {
		return time.Minute
	}
	return c.OpTimeout
}

func (c Config) backoff() time.Duration {
	if c.Backoff <= 0 {
		return 20 * time.Millisecond
	}
	return c.Backoff
}

// LeaseProcess and LogProcess name round r's processes.
func (c Config) LeaseProcess(r int) string { return fmt.Sprintf("%s%s-%d", LeasePrefix, c.Run, r) }
func (c Config) LogProcess(r int) string   { return fmt.Sprintf("%s%s-%d", LogPrefix, c.Run, r) }

// Processes lists every process of the history.
func (c Config) Processes() []string {
	var ids []string
	for r := range c.Rounds {
		ids = append(ids, c.LeaseProcess(r), c.LogProcess(r))
	}
	return ids
}

// Op is one recorded call (JSON, so worker processes can hand theirs over).
type Op struct {
	Client int    `json:"cl"`
	In     Input  `json:"in"`
	Out    Output `json:"out"`
	// Err is the error text of a failed call (not part of the model).
	Err string `json:"err,omitempty"`
}

// Registration is the spec of every history process: two plain event types.
func Registration(id string) procreg.Registration {
	return procreg.Registration{
		ID:          id,
		Input:       procreg.ProcessInput{Kind: procreg.InputEngine, EngineKind: "history", Payload: json.RawMessage(`{}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:history",
		EventTypes:  []procreg.EventType{{Name: "a"}, {Name: "b"}},
	}
}

// Register registers every process of c, retrying through outages until
// ctx ends.
func Register(ctx context.Context, reg procreg.Registry, c Config) error {
	for _, id := range c.Processes() {
		if err := retry(ctx, func(ctx context.Context) error {
			_, err := reg.RegisterProcess(ctx, Registration(id))
			return err
		}); err != nil {
			return fmt.Errorf("register %s: %w", id, err)
		}
	}
	return nil
}

// retry runs f until it succeeds, fails with something other than
// ErrUnavailable, or ctx ends.
func retry(ctx context.Context, f func(context.Context) error) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := f(cctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if !errors.Is(err, procreg.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ImpossiblePID is a pid no process can have (above Linux's pid_max
// limit): an owner with it is dead for every claimant on this machine.
const ImpossiblePID = 1 << 30

// Owner returns client k's lease owner. Odd clients are dead when this
// machine can prove it (local_process liveness with ImpossiblePID; their
// owner id ends with DeadSuffix), so reclaims take their leases.
func Owner(run string, k int) procreg.LeaseOwner {
	o := procreg.LeaseOwner{OwnerID: fmt.Sprintf("c%d-live", k), IncarnationID: run + "-" + strconv.Itoa(k)}
	me, err := procreg.CurrentProcessLiveness()
	if err != nil {
		o.Liveness = procreg.Liveness{Kind: procreg.LivenessOpaque}
		return o
	}
	o.Liveness = me
	if k%2 == 1 {
		o.OwnerID = fmt.Sprintf("c%d%s", k, DeadSuffix)
		o.Liveness.PID = ImpossiblePID
		o.Liveness.ProcessStart = "1"
	}
	return o
}

// Unexpected collects errors the contract does not allow (neither a
// sentinel, nor ErrUnavailable, nor the context's), shared by clients.
type Unexpected struct {
	mu   sync.Mutex
	errs []string
}

func (u *Unexpected) add(s string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.errs = append(u.errs, s)
}

// List returns the collected errors.
func (u *Unexpected) List() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.errs...)
}

// Classify maps a call's error to an Output status. ok is false for an
// error the contract does not allow.
func Classify(err error) (status string, ok bool) {
	switch {
	case err == nil:
		return StOK, true
	case errors.Is(err, procreg.ErrLeaseLost):
		return StLost, true
	case errors.Is(err, procreg.ErrTerminal):
		return StTerminal, true
	case errors.Is(err, procreg.ErrReplayConflict):
		return StConflict, true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return StMaybe, true
	case errors.Is(err, procreg.ErrUnavailable):
		if errors.Is(err, driver.ErrCommitFailed) {
			return StMaybe, true
		}
		return StFailed, true
	}
	return StMaybe, false
}

type client struct {
	c     Config
	id    int
	reg   procreg.Registry
	owner procreg.LeaseOwner
	rng   *rand.Rand
	unexp *Unexpected
	ops   []Op

	mine, stale, seen *procreg.Lease // per round
	known             uint64         // the log length this client last saw
	n                 int
}

// Client runs client k's calls of every round on reg and returns them.
// Errors the contract does not allow are added to unexp (and the call is
// recorded as of unknown outcome).
func Client(ctx context.Context, reg procreg.Registry, c Config, k int, unexp *Unexpected) []Op {
	cl := &client{c: c, id: k, reg: reg, owner: Owner(c.Run, k), unexp: unexp,
		rng: rand.New(rand.NewPCG(c.Seed, uint64(k)*7919+1))}
	for r := range c.Rounds {
		if r > 0 && c.Barrier != nil {
			c.Barrier(r, k)
		}
		cl.mine, cl.stale, cl.seen, cl.known = nil, nil, nil, 0
		for range c.OpsPerRound {
			if ctx.Err() != nil {
				return cl.ops
			}
			if cl.rng.IntN(2) == 0 {
				cl.leaseOp(ctx, c.LeaseProcess(r))
			} else {
				cl.logOp(ctx, c.LogProcess(r))
			}
		}
	}
	return cl.ops
}

// call runs one recorded call. f returns the output (status ignored) and
// the error.
func (cl *client) call(ctx context.Context, in Input, f func(ctx context.Context) (Output, error)) (Output, error) {
	cl.n++
	cctx, cancel := context.WithTimeout(ctx, cl.c.opTimeout())
	in.Call = time.Now().UnixNano()
	out, err := f(cctx)
	ret := time.Now().UnixNano()
	cancel()
	st, ok := Classify(err)
	if !ok {
		cl.unexp.add(fmt.Sprintf("client %d %s %s: %v", cl.id, in.Kind, in.Process, err))
	}
	if err != nil {
		out = Output{}
	}
	if err != nil || out.Status == "" {
		out.Status = st
	}
	out.Ret = ret
	if st == StMaybe {
		out.Ret = math.MaxInt64
	}
	op := Op{Client: cl.id, In: in, Out: out}
	if err != nil {
		op.Err = err.Error()
	}
	isRead := in.Kind == OpRead || in.Kind == OpAfter || in.Kind == OpCount || in.Kind == OpLogLen
	if !(err != nil && isRead && (st == StMaybe || st == StFailed)) {
		cl.ops = append(cl.ops, op) // a failed read has no effect: left out
	}
	if st == StMaybe || st == StFailed {
		time.Sleep(cl.c.backoff())
	}
	return out, err
}

func leaseOut(l procreg.Lease) Output {
	return Output{Owner: l.Owner.OwnerID, Token: l.Token, Fence: l.FencingToken}
}

func claimOut(c procreg.LeaseClaim) Output {
	o := leaseOut(c.Lease)
	if !c.Acquired {
		o.Status = StBusy
	}
	return o
}

var fencedOutput = procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`{"ok":true}`)}

func (cl *client) ttl() (time.Duration, bool) {
	if cl.rng.IntN(4) == 0 {
		return 0, true
	}
	return time.Hour, false
}

// presented is the lease a renew or fenced write presents: the client's
// own, else a stale one (which must be refused), else none.
func (cl *client) presented() *procreg.Lease {
	if cl.mine != nil {
		return cl.mine
	}
	return cl.stale
}

func (cl *client) leaseOp(ctx context.Context, id string) {
	r := cl.rng.IntN(100)
	switch {
	case r < 25 || (r < 33 && cl.seen == nil):
		ttl, zero := cl.ttl()
		in := Input{Kind: OpClaim, Process: id, Owner: cl.owner.OwnerID, TTLZero: zero}
		var claim procreg.LeaseClaim
		out, err := cl.call(ctx, in, func(ctx context.Context) (Output, error) {
			var err error
			claim, err = cl.reg.ClaimProcessLease(ctx, id, cl.owner, ttl)
			return claimOut(claim), err
		})
		cl.afterClaim(claim, out, err)
	case r < 33:
		ttl, zero := cl.ttl()
		obs := *cl.seen
		in := Input{Kind: OpReclaim, Process: id, Owner: cl.owner.OwnerID, TTLZero: zero,
			ObsOwn: obs.Owner.OwnerID, ObsTok: obs.Token, ObsFen: obs.FencingToken}
		var claim procreg.LeaseClaim
		out, err := cl.call(ctx, in, func(ctx context.Context) (Output, error) {
			var err error
			claim, err = cl.reg.ReclaimProcessLease(ctx, id, cl.owner, obs, ttl)
			return claimOut(claim), err
		})
		cl.afterClaim(claim, out, err)
	case r < 43 && cl.presented() != nil:
		l := *cl.presented()
		ttl, zero := cl.ttl()
		in := Input{Kind: OpRenew, Process: id, Owner: l.Owner.OwnerID, Token: l.Token, Fence: l.FencingToken, TTLZero: zero}
		var got procreg.Lease
		_, err := cl.call(ctx, in, func(ctx context.Context) (Output, error) {
			var err error
			got, err = cl.reg.RenewProcessLease(ctx, l, ttl)
			return leaseOut(got), err
		})
		if errors.Is(err, procreg.ErrLeaseLost) {
			cl.lose()
		} else if err == nil {
			cl.mine = &got
		}
	case r < 57 && cl.presented() != nil:
		l := *cl.presented()
		in := Input{Kind: OpRelease, Process: id, Token: l.Token}
		_, err := cl.call(ctx, in, func(ctx context.Context) (Output, error) {
			return Output{}, cl.reg.CompleteProcessLease(ctx, procreg.LeaseCompletion{ProcessID: id, Token: l.Token})
		})
		if err == nil {
			cl.lose()
		}
	case r < 75 || cl.presented() == nil:
		in := Input{Kind: OpRead, Process: id}
		cl.call(ctx, in, func(ctx context.Context) (Output, error) {
			l, err := cl.reg.GetProcessLease(ctx, id)
			if err != nil || l == nil {
				return Output{Nil: true}, err
			}
			o := leaseOut(*l)
			o.Long = l.ExpiresAt.After(time.Now().Add(30 * time.Minute))
			cl.seen = l
			return o, nil
		})
	case r < 99:
		l := *cl.presented()
		payload := fmt.Sprintf("f%d-%d", cl.id, cl.n)
		in := Input{Kind: OpFAppend, Process: id, Owner: l.Owner.OwnerID, Token: l.Token, Fence: l.FencingToken, Type: "a", Payload: payload}
		_, err := cl.call(ctx, in, func(ctx context.Context) (Output, error) {
			p, _ := json.Marshal(payload)
			res, err := cl.reg.AppendEventWithLease(ctx, l, procreg.AppendRequest{EventType: "a", Payload: p})
			return Output{Seq: res.Event.Sequence}, err
		})
		if errors.Is(err, procreg.ErrLeaseLost) {
			cl.lose()
		}
	default:
		l := *cl.presented()
		in := Input{Kind: OpFComplete, Process: id, Owner: l.Owner.OwnerID, Token: l.Token, Fence: l.FencingToken}
		cl.call(ctx, in, func(ctx context.Context) (Output, error) {
			_, err := cl.reg.CompleteProcessWithLease(ctx, l, fencedOutput)
			return Output{}, err
		})
	}
}

// lose moves the client's lease to stale.
func (cl *client) lose() {
	if cl.mine != nil {
		cl.stale = cl.mine
	}
	cl.mine = nil
}

func (cl *client) afterClaim(claim procreg.LeaseClaim, out Output, err error) {
	switch {
	case err != nil:
	case claim.Acquired:
		l := claim.Lease
		if cl.mine != nil && cl.mine.Token != l.Token {
			cl.stale = cl.mine
		}
		cl.mine = &l
	default:
		l := claim.Lease
		cl.seen = &l
		cl.lose()
	}
	_ = out
}

func (cl *client) logOp(ctx context.Context, id string) {
	r := cl.rng.IntN(100)
	switch {
	case r < 45:
		typ, payload, key := "a", fmt.Sprintf("c%d-%d", cl.id, cl.n), ""
		if cl.rng.IntN(100) < 35 {
			j := cl.rng.IntN(12)
			key, payload = fmt.Sprintf("k%d", j), fmt.Sprintf("p%d", j)
			if cl.rng.IntN(100) < 15 {
				payload = fmt.Sprintf("x%d", j)
			}
		} else if cl.rng.IntN(2) == 0 {
			typ = "b"
		}
		in := Input{Kind: OpAppend, Process: id, Type: typ, Payload: payload, Key: key}
		out, err := cl.call(ctx, in, func(ctx context.Context) (Output, error) {
			p, _ := json.Marshal(payload)
			res, err := cl.reg.AppendEvent(ctx, id, procreg.AppendRequest{EventType: typ, Payload: p, ReplayKey: key})
			return Output{Seq: res.Event.Sequence}, err
		})
		if err == nil {
			cl.known = max(cl.known, out.Seq)
		}
	case r < 75:
		after := cl.known
		if d := uint64(cl.rng.IntN(6)); d < after {
			after -= d
		} else {
			after = 0
		}
		in := Input{Kind: OpAfter, Process: id, After: after}
		cl.call(ctx, in, func(ctx context.Context) (Output, error) {
			evs, err := cl.reg.EventsAfter(ctx, id, after)
			if err != nil {
				return Output{}, err
			}
			if n := len(evs); n > 0 {
				cl.known = max(cl.known, evs[n-1].Sequence)
			}
			return Output{Evs: Encode(evs)}, nil
		})
	default:
		typ := "a"
		if cl.rng.IntN(2) == 0 {
			typ = "b"
		}
		upTo := uint64(cl.rng.IntN(int(cl.known) + 4))
		in := Input{Kind: OpCount, Process: id, Type: typ, UpTo: upTo}
		cl.call(ctx, in, func(ctx context.Context) (Output, error) {
			n, err := cl.reg.CountEventsThrough(ctx, id, typ, upTo)
			return Output{Count: n}, err
		})
	}
}

// Encode renders events as an OpAfter output: "seq:type:payload" joined by
// ";", the payload being the JSON string's content.
func Encode(evs []procreg.Event) string {
	parts := make([]string, len(evs))
	for i, ev := range evs {
		var p string
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			p = string(ev.Payload) // not one of ours: cannot match the model
		}
		parts[i] = fmt.Sprintf("%d:%s:%s", ev.Sequence, ev.EventType, p)
	}
	return strings.Join(parts, ";")
}
