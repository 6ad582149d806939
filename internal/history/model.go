package history

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/anishathalye/porcupine"
)

// Operation kinds. The lease kinds act on a lease process (id prefix
// LeasePrefix), the log kinds on a log process (LogPrefix).
const (
	// lease model
	OpClaim     = "claim"     // ClaimProcessLease
	OpReclaim   = "reclaim"   // ReclaimProcessLease with an observed holder
	OpRenew     = "renew"     // RenewProcessLease
	OpRelease   = "release"   // CompleteProcessLease
	OpRead      = "read"      // GetProcessLease
	OpFAppend   = "fappend"   // AppendEventWithLease
	OpFComplete = "fcomplete" // CompleteProcessWithLease
	OpLogLen    = "loglen"    // len(EventsAfter(0)) of a lease process
	// event-log model
	OpAppend = "append" // AppendEvent (a replay when the key is stored)
	OpAfter  = "after"  // EventsAfter
	OpCount  = "count"  // CountEventsThrough
)

// Status values of an Output.
const (
	StOK       = "ok"       // the call succeeded (a claim that acquired or extended)
	StBusy     = "busy"     // a claim or reclaim that found another live holder
	StLost     = "lost"     // ErrLeaseLost
	StTerminal = "terminal" // ErrTerminal
	StConflict = "conflict" // ErrReplayConflict
	// StMaybe: the call failed and its outcome is unknown (the commit was
	// interrupted, or the context ended): the checker lets it take effect
	// at any point after its call, or never (its return time is open).
	StMaybe = "maybe"
	// StFailed: the call failed before anything could commit (an
	// ErrUnavailable that is not an interrupted commit): it must not have
	// taken effect.
	StFailed = "failed"
)

// DeadSuffix ends the owner id of a lease owner whose liveness names a pid
// that cannot exist on this machine: its leases may be reclaimed by an
// observer (SPEC §5, dead-for-claimant). Other owners are alive.
const DeadSuffix = "-dead"

// Process id prefixes: the model of a partition is chosen by its process.
const (
	LeasePrefix = "L-"
	LogPrefix   = "E-"
)

// Input is one call. Only the fields its kind uses are set.
type Input struct {
	Kind    string `json:"k"`
	Process string `json:"p"`
	// Call is the call's start (wall clock, ns); the lease model compares it
	// with the return of a ttl-0 write to know that lease has expired.
	Call int64 `json:"c"`

	Owner   string `json:"o,omitempty"`  // claimant / lease owner id
	TTLZero bool   `json:"z,omitempty"`  // ttl 0 (an already-expired lease) instead of one hour
	Token   string `json:"t,omitempty"`  // presented lease token
	Fence   uint64 `json:"f,omitempty"`  // presented fencing token
	ObsOwn  string `json:"oo,omitempty"` // reclaim: observed holder
	ObsTok  string `json:"ot,omitempty"`
	ObsFen  uint64 `json:"of,omitempty"`

	Type    string `json:"y,omitempty"` // event type
	Payload string `json:"d,omitempty"` // event payload (a JSON string's content)
	Key     string `json:"r,omitempty"` // replay key
	After   uint64 `json:"a,omitempty"` // EventsAfter
	UpTo    uint64 `json:"u,omitempty"` // CountEventsThrough
}

// Output is one call's result.
type Output struct {
	Status string `json:"s"`
	// Ret is the call's return (wall clock, ns), math.MaxInt64 for StMaybe.
	Ret int64 `json:"rt"`

	Nil   bool   `json:"n,omitempty"`  // read: no lease
	Owner string `json:"o,omitempty"`  // lease owner (claims: holder or acquirer; read)
	Token string `json:"t,omitempty"`  // lease token
	Fence uint64 `json:"f,omitempty"`  // fencing token
	Long  bool   `json:"l,omitempty"`  // read: ExpiresAt is far in the future (ttl one hour, not 0)
	Seq   uint64 `json:"q,omitempty"`  // append: the event's sequence
	Evs   string `json:"e,omitempty"`  // after: "seq:type:payload" joined by ";"
	Count uint64 `json:"cn,omitempty"` // count, loglen
}

// state is the model state of one process (one partition). Lease and log
// processes use disjoint fields; it is comparable, so == is its equality.
type state struct {
	// lease
	Fence     uint64 // last fencing token issued
	Owner     string // holder of the current lease, "" when none (never leased or released)
	Token     string // its token; "?" when acquired by a call of unknown outcome
	Long      bool   // the current lease has the one-hour ttl
	ExpiredAt int64  // a short (ttl 0) lease is surely expired for calls starting after this
	Terminal  bool
	Events    uint64 // events in the lease process's log
	// log: one line per event, "type\x1fpayload\x1fkey\n"
	Log string
	N   uint64
}

type entry struct{ typ, payload, key string }

func (s state) entries() []entry {
	if s.Log == "" {
		return nil
	}
	lines := strings.Split(strings.TrimSuffix(s.Log, "\n"), "\n")
	out := make([]entry, len(lines))
	for i, l := range lines {
		f := strings.Split(l, "\x1f")
		out[i] = entry{f[0], f[1], f[2]}
	}
	return out
}

func (s state) appendEntry(e entry) state {
	s.Log += e.typ + "\x1f" + e.payload + "\x1f" + e.key + "\n"
	s.N++
	return s
}

// livenesses returns the possible liveness of the current lease for a call
// starting at call: definite when there is no lease, a one-hour lease, or a
// ttl-0 lease written before the call started; both otherwise (the
// database clock a call reads may lag a concurrent ttl-0 write).
func (s state) livenesses(call int64) []bool {
	switch {
	case s.Owner == "":
		return []bool{false}
	case s.Long:
		return []bool{true}
	case call > s.ExpiredAt:
		return []bool{false}
	}
	return []bool{true, false}
}

// tokenMatches reports whether the stored token may equal t ("?" may be anything).
func (s state) tokenMatches(t string) []bool {
	if s.Token == "?" {
		return []bool{true, false}
	}
	return []bool{s.Token == t}
}

// withToken binds an unknown token to the observed one.
func (s state) withToken(t string) (state, bool) {
	if s.Token == "?" {
		s.Token = t
		return s, true
	}
	return s, s.Token == t
}

// lease sets a current lease written by in with out.
func (s state) lease(in Input, out Output, owner, token string, fence uint64) state {
	s.Owner, s.Token, s.Fence = owner, token, fence
	s.Long = !in.TTLZero
	s.ExpiredAt = 0
	if in.TTLZero {
		s.ExpiredAt = out.Ret // ExpiresAt <= the database clock at the write <= the return
	}
	return s
}

func dead(owner string) bool { return strings.HasSuffix(owner, DeadSuffix) }

// step returns every state the call may leave behind (none: impossible).
func step(s state, in Input, out Output) []state {
	maybe := out.Status == StMaybe
	if out.Status == StFailed {
		return []state{s} // nothing committed
	}
	var next []state
	add := func(n state) { next = append(next, n) }
	if maybe {
		add(s) // it may never take effect
	}
	switch in.Kind {
	case OpClaim, OpReclaim:
		if s.Terminal {
			if maybe || out.Status == StTerminal {
				add(s)
			}
			break
		}
		for _, live := range s.livenesses(in.Call) {
			acquire := !live
			if live && in.Kind == OpClaim && s.Owner == in.Owner {
				// Same incarnation: extend, same token and fence.
				if maybe {
					add(s.lease(in, Output{Ret: math.MaxInt64}, s.Owner, s.Token, s.Fence))
				} else if out.Status == StOK && out.Owner == s.Owner && out.Fence == s.Fence {
					if n, ok := s.withToken(out.Token); ok {
						add(n.lease(in, out, n.Owner, n.Token, n.Fence))
					}
				}
				continue
			}
			if live && in.Kind == OpReclaim && dead(s.Owner) && in.ObsOwn == s.Owner && in.ObsFen == s.Fence {
				for _, m := range s.tokenMatches(in.ObsTok) {
					if !m {
						continue
					}
					// The observed holder matches and is dead: take over.
					if maybe {
						add(s.lease(in, Output{Ret: math.MaxInt64}, in.Owner, "?", s.Fence+1))
					} else if out.Status == StOK && out.Owner == in.Owner && out.Fence == s.Fence+1 {
						add(s.lease(in, out, in.Owner, out.Token, s.Fence+1))
					}
				}
				if s.Token != "?" && s.Token == in.ObsTok {
					continue // a certain match cannot be busy
				}
			}
			if acquire {
				if maybe {
					add(s.lease(in, Output{Ret: math.MaxInt64}, in.Owner, "?", s.Fence+1))
				} else if out.Status == StOK && out.Owner == in.Owner && out.Fence == s.Fence+1 && out.Token != "" && out.Token != s.Token {
					add(s.lease(in, out, in.Owner, out.Token, s.Fence+1))
				}
				continue
			}
			// Busy: the holder is returned, nothing changes.
			if out.Status == StBusy && out.Owner == s.Owner && out.Fence == s.Fence {
				if n, ok := s.withToken(out.Token); ok {
					add(n)
				}
			}
		}
	case OpRenew, OpFAppend, OpFComplete:
		held := func(live bool) []bool {
			if !live || s.Owner != in.Owner || s.Fence != in.Fence {
				return []bool{false}
			}
			return s.tokenMatches(in.Token)
		}
		var hs []bool
		for _, live := range s.livenesses(in.Call) {
			hs = append(hs, held(live)...)
		}
		for _, h := range hs {
			switch {
			case !h && in.Kind == OpFComplete && s.Terminal && s.Owner == "" && s.Fence == in.Fence:
				// The identical repeat of a fenced completion that succeeded.
				if maybe || out.Status == StOK {
					add(s)
				}
			case !h:
				if maybe || out.Status == StLost {
					add(s)
				}
			case in.Kind == OpRenew:
				n, _ := s.withToken(in.Token)
				if maybe {
					add(n.lease(in, Output{Ret: math.MaxInt64}, n.Owner, n.Token, n.Fence))
				} else if out.Status == StOK && out.Fence == s.Fence {
					add(n.lease(in, out, n.Owner, n.Token, n.Fence))
				}
			case in.Kind == OpFAppend:
				if maybe || (out.Status == StOK && out.Seq == s.Events+1) {
					n, _ := s.withToken(in.Token)
					n.Events++
					add(n)
				}
			default: // fenced completion: terminal event, lease released
				if maybe || out.Status == StOK {
					n := s
					n.Events++
					n.Terminal = true
					n.Owner, n.Token, n.Long, n.ExpiredAt = "", "", false, 0
					add(n)
				}
			}
		}
	case OpRelease:
		for _, m := range s.tokenMatches(in.Token) {
			if m && s.Owner != "" {
				n := s
				n.Owner, n.Token, n.Long, n.ExpiredAt = "", "", false, 0
				add(n)
			} else if !maybe {
				add(s)
			}
		}
	case OpRead:
		if s.Owner == "" {
			if out.Nil {
				add(s)
			}
			break
		}
		if !out.Nil && out.Owner == s.Owner && out.Fence == s.Fence && out.Long == s.Long {
			if n, ok := s.withToken(out.Token); ok {
				add(n)
			}
		}
	case OpLogLen:
		if out.Count == s.Events {
			add(s)
		}
	case OpAppend:
		if in.Key != "" {
			for i, e := range s.entries() {
				if e.key != in.Key {
					continue
				}
				if e.typ == in.Type && e.payload == in.Payload {
					if maybe || (out.Status == StOK && out.Seq == uint64(i+1)) {
						add(s)
					}
				} else if maybe || out.Status == StConflict {
					add(s)
				}
				return dedupe(next)
			}
		}
		if maybe || (out.Status == StOK && out.Seq == s.N+1) {
			add(s.appendEntry(entry{in.Type, in.Payload, in.Key}))
		}
	case OpAfter:
		if out.Evs == encodeEvents(s.entries(), in.After) {
			add(s)
		}
	case OpCount:
		var c uint64
		for i, e := range s.entries() {
			if uint64(i+1) <= in.UpTo && e.typ == in.Type {
				c++
			}
		}
		if out.Count == c {
			add(s)
		}
	default:
		panic("history: unknown operation kind " + in.Kind)
	}
	return dedupe(next)
}

func dedupe(ss []state) []state {
	var out []state
	for _, s := range ss {
		dup := false
		for _, o := range out {
			if o == s {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}

// encodeEvents renders events after `after` the way an OpAfter output does.
func encodeEvents(es []entry, after uint64) string {
	var b strings.Builder
	for i, e := range es {
		seq := uint64(i + 1)
		if seq <= after {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(strconv.FormatUint(seq, 10) + ":" + e.typ + ":" + e.payload)
	}
	return b.String()
}

// Model is the sequential specification, partitioned by process.
func Model() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
			by := map[string][]porcupine.Operation{}
			var order []string
			for _, op := range h {
				p := op.Input.(Input).Process
				if _, ok := by[p]; !ok {
					order = append(order, p)
				}
				by[p] = append(by[p], op)
			}
			out := make([][]porcupine.Operation, 0, len(order))
			for _, p := range order {
				out = append(out, by[p])
			}
			return out
		},
		Init: func() []any { return []any{state{}} },
		Step: func(st, in, out any) []any {
			ns := step(st.(state), in.(Input), out.(Output))
			res := make([]any, len(ns))
			for i, n := range ns {
				res[i] = n
			}
			return res
		},
		DescribeOperation: func(in, out any) string {
			return fmt.Sprintf("%+v -> %+v", in, out)
		},
		DescribeState: func(st any) string { return fmt.Sprintf("%+v", st) },
	}
	return nm.ToModel()
}
