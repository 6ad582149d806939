package procreg

import (
	"encoding/json"
	"fmt"
	"time"
)

// DurabilityTier says how long the facts a Registry records survive.
type DurabilityTier int

const (
	// TierInline registries keep facts in process memory only.
	TierInline DurabilityTier = iota
	// TierDurable registries keep facts in a database that survives restarts.
	TierDurable
)

// String returns "inline" or "durable".
func (t DurabilityTier) String() string {
	switch t {
	case TierInline:
		return "inline"
	case TierDurable:
		return "durable"
	default:
		return fmt.Sprintf("DurabilityTier(%d)", int(t))
	}
}

// MarshalText encodes the tier as "inline" or "durable".
func (t DurabilityTier) MarshalText() ([]byte, error) {
	switch t {
	case TierInline, TierDurable:
		return []byte(t.String()), nil
	default:
		return nil, fmt.Errorf("%w: unknown durability tier %d", ErrInvalid, int(t))
	}
}

// UnmarshalText decodes "inline" or "durable".
func (t *DurabilityTier) UnmarshalText(b []byte) error {
	switch string(b) {
	case "inline":
		*t = TierInline
	case "durable":
		*t = TierDurable
	default:
		return fmt.Errorf("%w: unknown durability tier %q", ErrInvalid, b)
	}
	return nil
}

// Disposition declares what recovery may do with a process after its worker
// disappears. It is required at registration and has no default.
type Disposition string

const (
	// DispositionRerunnable processes may be claimed and run again after a crash.
	DispositionRerunnable Disposition = "rerunnable"
	// DispositionOwnerBound processes may be rerun only if they never started;
	// once started under a holder that is provably dead they become abandoned.
	DispositionOwnerBound Disposition = "owner_bound"
	// DispositionExternallyOwned processes run elsewhere and are never claimed by recovery.
	DispositionExternallyOwned Disposition = "externally_owned"
)

// InputKind says what kind of work a process runs.
type InputKind string

const (
	// InputTool is a tool call.
	InputTool InputKind = "tool"
	// InputEngine is a job of a named engine (ProcessInput.EngineKind).
	InputEngine InputKind = "engine"
	// InputSessionTurn is an agent sub-session turn.
	InputSessionTurn InputKind = "session_turn"
	// InputExternal is work run by an outside system.
	InputExternal InputKind = "external"
)

// TerminalState is the final state of a process. Status.State holds the same
// strings, plus StateRunning for a live process.
type TerminalState string

// Process states. The constants are untyped so that they compare directly
// with both TerminalState values and the string Status.State.
const (
	StateRunning   = "running"
	StateCompleted = "completed"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
	StateAbandoned = "abandoned"
)

// StatusFilter selects processes by state in ListFilter. The zero value
// selects running processes.
type StatusFilter string

const (
	StatusRunning   StatusFilter = "running"
	StatusCompleted StatusFilter = "completed"
	StatusFailed    StatusFilter = "failed"
	StatusCancelled StatusFilter = "cancelled"
	StatusAbandoned StatusFilter = "abandoned"
	// StatusAny matches every process regardless of state.
	StatusAny StatusFilter = "any"
)

// Selector kinds (Selector.Kind).
const (
	SelectorPayload  = "payload"
	SelectorPointer  = "pointer"
	SelectorConst    = "const"
	SelectorTemplate = "template"
	SelectorPresent  = "present"
)

// Dedupe key kinds (DedupeKey.Kind). The empty kind means DedupeEventIdentity.
const (
	DedupeEventIdentity = "event_identity"
	DedupeSelector      = "selector"
	DedupeConst         = "const"
)

// Liveness kinds (Liveness.Kind). The empty kind means LivenessOpaque.
const (
	LivenessOpaque       = "opaque"
	LivenessLocalProcess = "local_process"
)

// Await output kinds (AwaitOutput.Kind).
const (
	OutputSuccess   = "success"
	OutputFailure   = "failure"
	OutputCancelled = "cancelled"
	OutputAbandoned = "abandoned"
)

// Abandon evidence writers (AbandonEvidence.Writer).
const (
	WriterOwnerDrain        = "owner_drain"
	WriterSweep             = "sweep"
	WriterReconciledRequest = "reconciled_request"
)

// Originator kinds (Originator.Kind).
const (
	OriginatorHost    = "host"
	OriginatorSession = "session"
)

// Core event type names. Registration adds each one the spec lacks.
const (
	EventCancelRequested = "process.cancel_requested"
	EventWaiting         = "process.waiting"
	EventResumed         = "process.resumed"
	EventCompleted       = "process.completed"
	EventFailed          = "process.failed"
	EventCancelled       = "process.cancelled"
	EventAbandoned       = "process.abandoned"
)

// WaitSignal is the only wait kind (WaitState.Kind).
const WaitSignal = "signal"

// ProcessInput is what a process was started with.
type ProcessInput struct {
	Kind InputKind `json:"kind"`
	// EngineKind names the engine; required for InputEngine, empty otherwise.
	EngineKind string `json:"engine_kind,omitempty"`
	// Payload is opaque JSON. For InputExternal an object's "label", "name"
	// or "title" labels the default identity.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Identity describes what a process is, for people and for listing by
// definition. A registration with an empty Kind gets a default identity
// derived from its input.
type Identity struct {
	Kind  string `json:"kind"`
	Label string `json:"label,omitempty"`
	// Definition is optional JSON; ListFilter.Definition matches it by meaning.
	Definition json.RawMessage `json:"definition,omitempty"`
}

// SessionScope addresses a session, or one agent frame inside it.
type SessionScope struct {
	SessionID    string `json:"session_id"`
	AgentFrameID string `json:"agent_frame_id,omitempty"`
}

// ID returns "session:<sid>", or "session:<sid>/frame:<fid>" when the scope
// names an agent frame. Grants are keyed by this id.
func (s SessionScope) ID() string {
	if s.AgentFrameID != "" {
		return "session:" + s.SessionID + "/frame:" + s.AgentFrameID
	}
	return "session:" + s.SessionID
}

// Originator says who started a process: the host, or a session.
type Originator struct {
	Kind  string        `json:"kind"`
	Scope *SessionScope `json:"scope,omitempty"`
}

// Provenance records where a process came from.
type Provenance struct {
	Originator Originator `json:"originator"`
	// CausedBy is optional opaque JSON naming the cause.
	CausedBy json.RawMessage `json:"caused_by,omitempty"`
}

// Registration is the durable, immutable spec of a process.
type Registration struct {
	ID          string       `json:"id"`
	Input       ProcessInput `json:"input"`
	Disposition Disposition  `json:"disposition"`
	Identity    Identity     `json:"identity"`
	EventTypes  []EventType  `json:"event_types,omitempty"`
	Provenance  Provenance   `json:"provenance"`
	// EnvRef names the captured execution environment: required for tool and
	// engine inputs, forbidden for external and session_turn inputs.
	EnvRef     string        `json:"env_ref,omitempty"`
	WakeTarget *SessionScope `json:"wake_target,omitempty"`
}

// EventType declares an event a process may append, with optional semantics.
type EventType struct {
	Name string `json:"name"`
	// PayloadSchema is a JSON Schema (draft 2020-12); empty accepts any payload.
	PayloadSchema json.RawMessage `json:"payload_schema,omitempty"`
	Terminal      *TerminalSpec   `json:"terminal,omitempty"`
	Wake          *WakeSpec       `json:"wake,omitempty"`
}

// TerminalSpec makes an event type terminal: appending it moves the process to State.
type TerminalSpec struct {
	State TerminalState `json:"state"`
	// AwaitOutput selects the await output from the payload; required for
	// every state but completed, where the whole payload is the default.
	AwaitOutput *Selector `json:"await_output,omitempty"`
}

// WakeSpec makes an event type materialize a wake delivery for a session.
type WakeSpec struct {
	// When, if set, must select a truthy value for the wake to happen.
	When      *Selector `json:"when,omitempty"`
	Input     Selector  `json:"input"`
	DedupeKey DedupeKey `json:"dedupe_key"`
}

// DedupeKey says how a wake's dedupe key is derived.
type DedupeKey struct {
	Kind     string    `json:"kind,omitempty"`
	Selector *Selector `json:"selector,omitempty"`
	Const    string    `json:"const,omitempty"`
}

// Selector picks a value out of an event payload.
type Selector struct {
	Kind string `json:"kind"`
	// Pointer is an RFC 6901 JSON pointer, for pointer and present selectors.
	Pointer string          `json:"pointer,omitempty"`
	Const   json.RawMessage `json:"const,omitempty"`
	// Template has "{name}" placeholders filled from Fields, for template selectors.
	Template string              `json:"template,omitempty"`
	Fields   map[string]Selector `json:"fields,omitempty"`
}

// AwaitOutput is the outcome a waiter receives. Exactly one of the four
// shapes is used, chosen by Kind.
type AwaitOutput struct {
	Kind string `json:"kind"`
	// Value is the success value.
	Value json.RawMessage `json:"value,omitempty"`
	// Class, Code and Message describe a failure; Message also a cancellation.
	Class   string `json:"class,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	// Raw is the unstructured failure or cancellation value.
	Raw json.RawMessage `json:"raw,omitempty"`
	// Evidence says who abandoned the process and why it was safe to.
	Evidence *AbandonEvidence `json:"evidence,omitempty"`
	// Control is optional JSON for the host, on any kind.
	Control json.RawMessage `json:"control,omitempty"`
}

// AbandonEvidence records who wrote an abandoned outcome.
type AbandonEvidence struct {
	Writer string      `json:"writer"`
	Owner  *LeaseOwner `json:"owner,omitempty"`
	At     time.Time   `json:"at"`
}

// Status is a process's current state and, once terminal, its outcome.
type Status struct {
	State       string       `json:"state"`
	AwaitOutput *AwaitOutput `json:"await_output,omitempty"`
}

// Record is everything the registry knows about one process.
type Record struct {
	ID               string       `json:"id"`
	RegistrationHash string       `json:"registration_hash"`
	Input            ProcessInput `json:"input"`
	Disposition      Disposition  `json:"disposition"`
	Identity         Identity     `json:"identity"`
	// EventTypes are as registered, core types included.
	EventTypes     []EventType     `json:"event_types"`
	Provenance     Provenance      `json:"provenance"`
	EnvRef         string          `json:"env_ref,omitempty"`
	WakeTarget     *SessionScope   `json:"wake_target,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	ExternalRef    *ExternalRef    `json:"external_ref,omitempty"`
	FirstStarted   *Started        `json:"first_started,omitempty"`
	AbandonRequest *AbandonRequest `json:"abandon_request,omitempty"`
	Wait           *WaitState      `json:"wait,omitempty"`
	Status         Status          `json:"status"`
}

// IsTerminal reports whether the process has reached a terminal state.
func (r Record) IsTerminal() bool {
	return r.Status.State != "" && r.Status.State != StateRunning
}

// ExternalRef links a process to the system that runs it.
type ExternalRef struct {
	Backend  string          `json:"backend"`
	ID       string          `json:"id"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// Started is the durable "execution started" fact.
type Started struct {
	Owner LeaseOwner `json:"owner"`
	At    time.Time  `json:"at"`
}

// AbandonRequest is an operator's request that a process be abandoned.
type AbandonRequest struct {
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	Reason      string    `json:"reason,omitempty"`
}

// WaitState says a process is parked waiting for a signal.
type WaitState struct {
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	EventType string    `json:"event_type"`
	Key       string    `json:"key"`
	Ordinal   uint64    `json:"ordinal"`
	Since     time.Time `json:"since"`
}

// HandleDescriptor describes how a session refers to a process.
type HandleDescriptor struct {
	Kind  string `json:"kind"`
	Label string `json:"label,omitempty"`
}

// HandleGrant lets a session address a process. SessionID is the session
// (not the scope id) the grant belongs to.
type HandleGrant struct {
	SessionID  string           `json:"session_id"`
	ProcessID  string           `json:"process_id"`
	Descriptor HandleDescriptor `json:"descriptor"`
}

// HandleGrantEntry is a grant together with the process it names.
type HandleGrantEntry struct {
	Grant   HandleGrant `json:"grant"`
	Process Record      `json:"process"`
}

// SessionDeleteReport says what DeleteSessionProcessState removed.
type SessionDeleteReport struct {
	SessionID      string `json:"session_id"`
	RevokedHandles int    `json:"revoked_handles"`
	// DeletedWakes is reserved and always 0: wake acks belong to processes.
	DeletedWakes int `json:"deleted_wakes"`
	// OrphanedProcessIDs are running processes no session holds a grant to any more.
	OrphanedProcessIDs []string `json:"orphaned_process_ids"`
	// PreservedProcessIDs are running processes another session still holds.
	PreservedProcessIDs []string `json:"preserved_process_ids"`
}

// AppendRequest asks for one event to be appended to a process's log.
type AppendRequest struct {
	EventType string          `json:"event_type"`
	Payload   json.RawMessage `json:"payload,omitempty"`
	// ReplayKey makes the append idempotent; required for terminal types and
	// process.cancel_requested.
	ReplayKey string `json:"replay_key,omitempty"`
	// WakeTarget overrides the record's wake target for this event.
	WakeTarget *SessionScope `json:"wake_target,omitempty"`
}

// CancelRequested builds the request that records a cancellation request:
// event type process.cancel_requested, payload {"reason": reason} and the
// deterministic replay key "process:<id>:cancel_requested", so a repeated
// request with the same reason is idempotent.
func CancelRequested(processID, reason string) AppendRequest {
	payload, _ := json.Marshal(map[string]string{"reason": reason})
	return AppendRequest{
		EventType: EventCancelRequested,
		Payload:   payload,
		ReplayKey: "process:" + processID + ":cancel_requested",
	}
}

// Event is one entry of a process's append-only log.
type Event struct {
	ProcessID  string             `json:"process_id"`
	Sequence   uint64             `json:"sequence"`
	EventType  string             `json:"event_type"`
	Payload    json.RawMessage    `json:"payload"`
	ReplayKey  string             `json:"replay_key,omitempty"`
	Terminal   *TerminalSemantics `json:"terminal,omitempty"`
	Wake       *Wake              `json:"wake,omitempty"`
	OccurredAt time.Time          `json:"occurred_at"`
}

// TerminalSemantics is the terminal outcome an event materialized.
type TerminalSemantics struct {
	State       TerminalState `json:"state"`
	AwaitOutput AwaitOutput   `json:"await_output"`
}

// Wake is the wake an event materialized.
type Wake struct {
	Input     string `json:"input"`
	DedupeKey string `json:"dedupe_key"`
}

// AppendResult is the stored event and, when it woke a session, the delivery.
type AppendResult struct {
	Event        Event         `json:"event"`
	WakeDelivery *WakeDelivery `json:"wake_delivery,omitempty"`
}

// WakeDelivery is a wake addressed to one session scope. Deliveries with the
// same WakeID are duplicates of each other.
type WakeDelivery struct {
	WakeID          string          `json:"wake_id"`
	TargetSessionID string          `json:"target_session_id"`
	TargetScopeID   string          `json:"target_scope_id"`
	ProcessID       string          `json:"process_id"`
	Sequence        uint64          `json:"sequence"`
	EventType       string          `json:"event_type"`
	ProcessCausedBy json.RawMessage `json:"process_caused_by,omitempty"`
	DedupeKey       string          `json:"dedupe_key"`
	Input           string          `json:"input"`
	CreatedAt       time.Time       `json:"created_at"`
}

// LeaseOwner identifies a worker incarnation that holds or wants a lease.
type LeaseOwner struct {
	OwnerID       string   `json:"owner_id"`
	IncarnationID string   `json:"incarnation_id"`
	Liveness      Liveness `json:"liveness"`
}

// Liveness is what lets another worker prove an owner dead. Opaque liveness
// is never provably dead.
type Liveness struct {
	Kind         string `json:"kind,omitempty"`
	HostID       string `json:"host_id,omitempty"`
	BootID       string `json:"boot_id,omitempty"`
	PID          int    `json:"pid,omitempty"`
	ProcessStart string `json:"process_start,omitempty"`
}

// Lease is a fenced single-owner lease over one process.
type Lease struct {
	ProcessID    string     `json:"process_id"`
	Owner        LeaseOwner `json:"owner"`
	Token        string     `json:"token"`
	FencingToken uint64     `json:"fencing_token"`
	ClaimedAt    time.Time  `json:"claimed_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
}

// IsLive reports whether a lease is live at now: it has a token and expires
// after now.
func (l *Lease) IsLive(now time.Time) bool {
	return l != nil && l.Token != "" && l.ExpiresAt.After(now)
}

// LeaseClaim is the outcome of a claim. When Acquired is false, Lease is the
// live holder that was observed.
type LeaseClaim struct {
	Acquired bool  `json:"acquired"`
	Lease    Lease `json:"lease"`
}

// LeaseCompletion releases a lease, fenced by its token.
type LeaseCompletion struct {
	ProcessID string `json:"process_id"`
	Token     string `json:"token"`
}

// ListFilter selects processes for ListProcesses.
type ListFilter struct {
	// Status selects by state; the zero value means running.
	Status StatusFilter `json:"status,omitempty"`
	// Definition, if present, matches Identity.Definition by meaning.
	Definition json.RawMessage `json:"definition,omitempty"`
	// Waiting, if set, selects processes with (true) or without (false) a wait state.
	Waiting *bool `json:"waiting,omitempty"`
}

// PruneReport counts what PruneTerminalProcesses deleted.
type PruneReport struct {
	PrunedProcesses int `json:"pruned_processes"`
	PrunedEvents    int `json:"pruned_events"`
}

// Page is one page of records: in ascending id order from
// ListProcessesPage and ListNonTerminalPage, in change order from
// ProcessesChangedSince. Next is the opaque cursor for the following call;
// "" means there is none (the change feed's Next is never "": a follower
// polls with it).
type Page struct {
	Records []Record `json:"records"`
	Next    string   `json:"next"`
}

// Claimed is a process acquired by ClaimNext, with the lease its worker
// presents to the fenced writes.
type Claimed struct {
	Record Record `json:"record"`
	Lease  Lease  `json:"lease"`
}
