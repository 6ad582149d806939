// Command worker is a complete procreg worker, small enough to read in one
// sitting: it registers a job that declares its event types, claims the
// job's lease, holds it (renewing in the background) while it works,
// appends its progress through the fenced write, and completes the job
// through the fenced completion, which also releases the lease.
//
//	go run ./examples/worker                    # on a new SQLite file in a temporary directory
//	go run ./examples/worker sqlite:jobs.db     # or any DSN procreg accepts
//
// Then look at what it wrote: procreg events job-42 --dsn jobs.db.
// main_test.go runs it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
)

func main() {
	dsn := ""
	if len(os.Args) > 1 {
		dsn = os.Args[1]
	} else {
		dir, err := os.MkdirTemp("", "procreg-worker-")
		if err != nil {
			log.Fatal(err)
		}
		dsn = "sqlite:" + filepath.Join(dir, "jobs.db")
	}
	if err := run(context.Background(), dsn, "job-42", os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// The job's vocabulary: every event type a process may carry is declared
// at registration, optionally with a JSON Schema its payloads must meet.
var eventTypes = []procreg.EventType{
	{Name: "resize.progress", PayloadSchema: json.RawMessage(`{"type":"object","required":["done","of"],"properties":{"done":{"type":"integer"},"of":{"type":"integer"}}}`)},
}

// run registers job id on the registry dsn names and works it to completion.
func run(ctx context.Context, dsn, id string, out io.Writer) error {
	reg, err := backends.Open(ctx, dsn) // creates and migrates a SQLite file as needed
	if err != nil {
		return err
	}
	defer reg.Close()

	// Register (idempotent: the same registration again is a no-op).
	_, err = reg.RegisterProcess(ctx, procreg.Registration{
		ID:          id,
		Input:       procreg.ProcessInput{Kind: procreg.InputTool, Payload: json.RawMessage(`{"cmd":"resize","images":3}`)},
		Disposition: procreg.DispositionRerunnable, // a crashed run may be re-run by another worker
		EnvRef:      "env:v1",
		EventTypes:  eventTypes,
		Provenance:  procreg.Provenance{Originator: procreg.Originator{Kind: procreg.OriginatorHost}},
	})
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}

	// Claim: exactly one worker holds a process's lease at a time. The
	// owner's liveness lets a recovery pass prove a crashed holder dead.
	me, err := procreg.CurrentProcessLiveness()
	if err != nil {
		return err
	}
	owner := procreg.LeaseOwner{OwnerID: "worker-1", IncarnationID: fmt.Sprintf("pid-%d", os.Getpid()), Liveness: me}
	const ttl = 10 * time.Second
	claim, err := reg.ClaimProcessLease(ctx, id, owner, ttl)
	if err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	if !claim.Acquired {
		return fmt.Errorf("%s is held by %s", id, claim.Lease.Owner.OwnerID)
	}
	fmt.Fprintf(out, "claimed %s (fencing token %d)\n", id, claim.Lease.FencingToken)
	if _, err := reg.RecordFirstStarted(ctx, id, procreg.Started{Owner: owner, At: time.Now()}); err != nil {
		return err
	}

	// Hold: renew the lease every ttl/3 while working. The fenced writes
	// present the lease; a renewal keeps its token, so they stay valid.
	lease := claim.Lease
	holdCtx, stopHolding := context.WithCancel(ctx)
	held := make(chan error, 1)
	go func() {
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-holdCtx.Done():
				held <- nil
				return
			case <-t.C:
				if _, err := reg.RenewProcessLease(holdCtx, lease, ttl); err != nil && holdCtx.Err() == nil {
					held <- err // lost: stop writing, another worker may own it now
					return
				}
			}
		}
	}()
	defer stopHolding()

	// Work, appending progress through the fence: the write lands only while
	// this lease is the live one, else procreg.ErrLeaseLost and nothing is written.
	for done := 1; done <= 3; done++ {
		time.Sleep(20 * time.Millisecond) // the real work of one step
		p, _ := json.Marshal(map[string]int{"done": done, "of": 3})
		res, err := reg.AppendEventWithLease(ctx, lease, procreg.AppendRequest{EventType: "resize.progress", Payload: p})
		if errors.Is(err, procreg.ErrLeaseLost) {
			return fmt.Errorf("lease lost: another worker owns %s now: %w", id, err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "event %d: %s %s\n", res.Event.Sequence, res.Event.EventType, res.Event.Payload)
	}

	// Complete: the outcome and the lease's release, in one transaction.
	stopHolding()
	if err := <-held; err != nil {
		return fmt.Errorf("renew: %w", err)
	}
	rec, err := reg.CompleteProcessWithLease(ctx, lease, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`{"resized":3}`)})
	if err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	fmt.Fprintf(out, "%s %s %s\n", rec.ID, rec.Status.State, rec.Status.AwaitOutput.Value)
	return nil
}
