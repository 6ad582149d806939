package sqlstore

import "github.com/procreg/procreg/driver"

// ProcessUpdate is the parameter list of the UpdateProcess query: the
// mutable columns of driver.ProcessRow in row order, then the key. Every
// dialect's generated UpdateProcessParams has exactly these fields, so an
// adapter writes gen.UpdateProcessParams(sqlstore.UpdateOf(row)). It is an
// alias of an unnamed struct so that a type constraint can name it
// (~ProcessUpdate matches every dialect's UpdateProcessParams).
type ProcessUpdate = struct {
	WakeTargetSession    string
	WakeTargetFrame      string
	UpdatedAtMs          int64
	Status               string
	AwaitOutput          string
	ExternalRefBackend   string
	ExternalRefID        string
	ExternalRefMetadata  string
	FirstStartedOwner    string
	FirstStartedAtMs     int64
	AbandonRequested     bool
	AbandonRequestedBy   string
	AbandonRequestedAtMs int64
	AbandonReason        string
	Waiting              bool
	WaitKind             string
	WaitName             string
	WaitEventType        string
	WaitKey              string
	WaitOrdinal          int64
	WaitSinceMs          int64
	LastSequence         int64
	LeaseToken           string
	LeaseOwner           string
	LeaseOwnerID         string
	LeaseIncarnationID   string
	LeaseFencingToken    int64
	LeaseClaimedAtMs     int64
	LeaseExpiresAtMs     int64
	ID                   string
}

// UpdateOf selects the columns UpdateProcess writes: all but ID,
// RegistrationHash, Disposition, InputKind, IdentityKind,
// DefinitionFingerprint, Spec and CreatedAtMs, which never change.
func UpdateOf(r driver.ProcessRow) ProcessUpdate {
	return ProcessUpdate{
		WakeTargetSession:    r.WakeTargetSession,
		WakeTargetFrame:      r.WakeTargetFrame,
		UpdatedAtMs:          r.UpdatedAtMs,
		Status:               r.Status,
		AwaitOutput:          r.AwaitOutput,
		ExternalRefBackend:   r.ExternalRefBackend,
		ExternalRefID:        r.ExternalRefID,
		ExternalRefMetadata:  r.ExternalRefMetadata,
		FirstStartedOwner:    r.FirstStartedOwner,
		FirstStartedAtMs:     r.FirstStartedAtMs,
		AbandonRequested:     r.AbandonRequested,
		AbandonRequestedBy:   r.AbandonRequestedBy,
		AbandonRequestedAtMs: r.AbandonRequestedAtMs,
		AbandonReason:        r.AbandonReason,
		Waiting:              r.Waiting,
		WaitKind:             r.WaitKind,
		WaitName:             r.WaitName,
		WaitEventType:        r.WaitEventType,
		WaitKey:              r.WaitKey,
		WaitOrdinal:          r.WaitOrdinal,
		WaitSinceMs:          r.WaitSinceMs,
		LastSequence:         r.LastSequence,
		LeaseToken:           r.LeaseToken,
		LeaseOwner:           r.LeaseOwner,
		LeaseOwnerID:         r.LeaseOwnerID,
		LeaseIncarnationID:   r.LeaseIncarnationID,
		LeaseFencingToken:    r.LeaseFencingToken,
		LeaseClaimedAtMs:     r.LeaseClaimedAtMs,
		LeaseExpiresAtMs:     r.LeaseExpiresAtMs,
		ID:                   r.ID,
	}
}
