package otelreg

import (
	"context"
	"errors"

	"github.com/procreg/procreg"
)

// The outcome classes: the value of the procreg.outcome attribute (spans,
// procreg.calls, procreg.duration) and of error.type (procreg.errors).
const (
	OutcomeOK                   = "ok"
	OutcomeNotFound             = "not_found"
	OutcomeInvalid              = "invalid"
	OutcomeRegistrationConflict = "registration_conflict"
	OutcomeExternalRefConflict  = "external_ref_conflict"
	OutcomeReplayConflict       = "replay_conflict"
	OutcomeTerminal             = "terminal"
	OutcomeNotGranted           = "not_granted"
	OutcomeLeaseLost            = "lease_lost"
	OutcomeUnavailable          = "unavailable"
	OutcomeCanceled             = "canceled"
	OutcomeDeadlineExceeded     = "deadline_exceeded"
	OutcomeOther                = "other"
)

// classes maps each sentinel to its class, in the order Classify tries
// them: the registry's sentinels first, so an error that wraps both a
// sentinel and a context error (a storage call cut short by the context,
// reported as ErrUnavailable) is classified by the sentinel the caller
// would test with errors.Is.
var classes = []struct {
	err   error
	class string
}{
	{procreg.ErrNotFound, OutcomeNotFound},
	{procreg.ErrInvalid, OutcomeInvalid},
	{procreg.ErrRegistrationConflict, OutcomeRegistrationConflict},
	{procreg.ErrExternalRefConflict, OutcomeExternalRefConflict},
	{procreg.ErrReplayConflict, OutcomeReplayConflict},
	{procreg.ErrTerminal, OutcomeTerminal},
	{procreg.ErrNotGranted, OutcomeNotGranted},
	{procreg.ErrLeaseLost, OutcomeLeaseLost},
	{procreg.ErrUnavailable, OutcomeUnavailable},
	{context.Canceled, OutcomeCanceled},
	{context.DeadlineExceeded, OutcomeDeadlineExceeded},
}

// Classify returns the outcome class of a Registry method's error:
// OutcomeOK for nil, the class of the first sentinel (procreg's, then
// context.Canceled and context.DeadlineExceeded) that err wraps, else
// OutcomeOther (a storage failure the backend did not classify).
func Classify(err error) string {
	if err == nil {
		return OutcomeOK
	}
	for _, c := range classes {
		if errors.Is(err, c.err) {
			return c.class
		}
	}
	return OutcomeOther
}

// IsFailure reports whether an outcome class marks the span as an error
// (status Error, the error recorded as a span event). Every class but
// three does. OutcomeNotFound, OutcomeLeaseLost and OutcomeTerminal are
// answers, not failures: they report the state of a process that another
// actor may change at any time (a probe for a process not yet
// registered or already pruned, a fence refusing the write of a worker
// whose lease was taken over — the fence doing its job — a completion
// racing another completion), and callers branch on them in normal
// operation (sweep treats them as "gone" or "refused"). They are still
// counted in procreg.errors under their class, so a dashboard can alert
// on them where they are unexpected.
func IsFailure(class string) bool {
	switch class {
	case OutcomeOK, OutcomeNotFound, OutcomeLeaseLost, OutcomeTerminal:
		return false
	}
	return true
}
