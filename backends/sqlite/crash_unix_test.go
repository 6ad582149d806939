//go:build unix

package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends/sqlite"
)

// Crash consistency: a writer process (this test binary re-executed) is
// SIGKILLed at a random moment, again and again, on one database file.
// The writer reports every write to the parent through a pipe twice:
// "begin" before the call and "ack" after it returned. After each kill the
// parent checks, before any registry opens the file, that the file is
// sound (PRAGMA integrity_check on a plain connection, which also runs the
// WAL recovery of the frames the dead writer left), that every
// acknowledged write is stored (events with their sequences, registrations,
// lease claims with their fencing tokens) and that nothing is stored that
// was never begun, that the migration lock file is free, and that
// sqlite.Open works with migrations a no-op.
//
// A process kill loses nothing a commit acknowledged whatever the
// synchronous setting: the committed frames are in the WAL file, in the
// operating system's page cache, which survives the process. FULL (the
// default, used here) matters for power loss and OS crashes, which this
// test does not simulate.
//
// PROCREG_CRASH_KILLS sets the number of kills (default 200; `make soak`
// raises it).
const (
	crashRoleEnv  = "PROCREG_SQLITE_CRASH_ROLE"
	crashPathEnv  = "PROCREG_SQLITE_CRASH_PATH"
	crashRoundEnv = "PROCREG_SQLITE_CRASH_ROUND"
	crashKillsEnv = "PROCREG_CRASH_KILLS"
)

// crashNote is one line on the pipe from the writer.
type crashNote struct {
	Phase   string `json:"phase"` // "ready", "begin", "ack"
	Op      string `json:"op"`    // "append", "register", "claim"
	ID      string `json:"id"`    // process id
	Mark    string `json:"mark"`  // the append's payload marker
	Seq     uint64 `json:"seq"`   // the appended sequence (ack)
	Fencing uint64 `json:"fencing"`
}

func crashRegistration(id string) procreg.Registration {
	return procreg.Registration{
		ID:          id,
		Input:       procreg.ProcessInput{Kind: procreg.InputEngine, EngineKind: "crash", Payload: json.RawMessage(`{}`)},
		Disposition: procreg.DispositionRerunnable,
		EnvRef:      "env:crash",
		EventTypes:  []procreg.EventType{{Name: "tick"}},
	}
}

func TestCrashConsistency(t *testing.T) {
	if os.Getenv(crashRoleEnv) == "writer" {
		crashWriter(t)
		return
	}
	if testing.Short() {
		t.Skip("kills writer processes")
	}
	kills := 200
	if s := os.Getenv(crashKillsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q is not a positive number", crashKillsEnv, s)
		}
		kills = n
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crash.db")
	reg, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"log", "leased"} {
		if _, err := reg.RegisterProcess(ctx, crashRegistration(id)); err != nil {
			t.Fatal(err)
		}
	}
	reg.Close()
	version, err := sqlite.Migrate(ctx, path)
	if err != nil {
		t.Fatal(err)
	}

	st := &crashState{path: path, version: version, begun: map[string]bool{}, registered: map[string]bool{}}
	start := time.Now()
	rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), 0x5eed))
	var inWriter, inVerify time.Duration
	for round := range kills {
		t0 := time.Now()
		notes := st.killOnce(t, round, rng)
		t1 := time.Now()
		st.verify(t, ctx, round, notes)
		inWriter += t1.Sub(t0)
		inVerify += time.Since(t1)
	}
	t.Logf("time in writers %v, in checks %v", inWriter.Round(time.Millisecond), inVerify.Round(time.Millisecond))
	t.Logf("%d kills in %v: %d while opening, %d with WAL frames left to recover; %d acknowledged writes verified (%d appends, %d registrations, %d claims); %d begun but unacknowledged writes, %d of them found stored",
		kills, time.Since(start).Round(time.Millisecond), st.earlyKills, st.walLeft, st.acked, st.ackedAppends, len(st.registered), st.ackedClaims, st.unacked, st.unackedStored)
	if st.walLeft == 0 {
		t.Errorf("no kill left WAL frames behind: the recovery path was never exercised")
	}
	if st.ackedAppends == 0 || st.ackedClaims == 0 || len(st.registered) == 0 {
		t.Errorf("the writer acknowledged too little to check: %d appends, %d claims, %d registrations", st.ackedAppends, st.ackedClaims, len(st.registered))
	}
}

type crashState struct {
	path    string
	version int64
	// lastSeq is the highest sequence on "log" verified so far; begun the
	// append markers ever begun; registered the ids acknowledged.
	lastSeq    uint64
	begun      map[string]bool
	registered map[string]bool
	// maxAckedFencing / maxBegunFencing bound the lease's fencing token.
	maxAckedFencing uint64
	claimsBegun     uint64

	// readyTime and writeTime are moving averages of a writer's time to
	// ready and between two acknowledged writes: they scale the delays.
	readyTime, writeTime time.Duration

	earlyKills, walLeft                                      int
	acked, ackedAppends, ackedClaims, unacked, unackedStored int
}

// killOnce runs one writer, kills it after a short random delay and
// returns what it reported.
func (st *crashState) killOnce(t *testing.T, round int, rng *rand.Rand) []crashNote {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashConsistency$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashRoleEnv+"=writer", crashPathEnv+"="+st.path, crashRoundEnv+"="+strconv.Itoa(round))
	cmd.ExtraFiles = []*os.File{w} // fd 3 in the writer
	var stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	notes := make(chan crashNote, 1024)
	readDone := make(chan error, 1)
	go func() {
		defer close(notes)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var n crashNote
			if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
				// A line cut by the kill: the writer reports with one
				// write(2) per line, so this does not happen.
				readDone <- fmt.Errorf("malformed note %q: %v", sc.Text(), err)
				return
			}
			notes <- n
		}
		readDone <- sc.Err()
	}()

	var got []crashNote
	// One kill in five lands while the writer opens the registry (WAL
	// recovery, migrations under the lock file): at a random moment within
	// the usual time to ready. The others land while it writes: after a
	// random number (0–3) of acknowledged writes, a random fraction of the
	// usual time between two writes later, so mostly inside a write.
	early := rng.IntN(5) == 0
	wantAcks := rng.IntN(4)
	started := time.Now()
	var timer <-chan time.Time
	if early {
		st.earlyKills++
		timer = time.After(time.Duration(rng.Int64N(int64(st.readyTime) + 1)))
	}
	acks, lastAck := 0, time.Time{}
	killed := false
	for !killed {
		select {
		case n, ok := <-notes:
			if !ok {
				cmd.Wait()
				t.Fatalf("round %d: the writer ended before it was killed:\n%s", round, stderr.String())
			}
			got = append(got, n)
			now := time.Now()
			switch n.Phase {
			case "ready":
				st.readyTime = ewma(st.readyTime, now.Sub(started))
				lastAck = now
			case "ack":
				acks++
				st.writeTime = ewma(st.writeTime, now.Sub(lastAck))
				lastAck = now
			default:
				continue
			}
			if timer == nil && acks == wantAcks {
				timer = time.After(time.Duration(rng.Int64N(int64(st.writeTime) + 1)))
			}
		case <-timer:
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	for n := range notes {
		got = append(got, n)
	}
	r.Close()
	if err := <-readDone; err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: the writer was not killed by SIGKILL (%v):\n%s", round, err, stderr.String())
	}
	return got
}

// verify checks the file after a kill, then the registry's content against
// what the writer reported.
func (st *crashState) verify(t *testing.T, ctx context.Context, round int, notes []crashNote) {
	t.Helper()
	if fi, err := os.Stat(st.path + "-wal"); err == nil && fi.Size() > 0 {
		st.walLeft++
	}
	// The migration lock is free: the kernel dropped the dead writer's flock.
	if lf, err := os.OpenFile(st.path+".lock", os.O_RDWR, 0); err == nil {
		if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			t.Fatalf("round %d: the migration lock file is still locked after the kill: %v", round, err)
		}
		lf.Close()
	} else if !os.IsNotExist(err) {
		t.Fatal(err)
	}

	// A plain connection first: it recovers the WAL and checks every page.
	db, err := sql.Open("sqlite", "file:"+st.path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	var integrity string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		db.Close()
		t.Fatalf("round %d: integrity_check after the kill: %q, %v", round, integrity, err)
	}
	db.Close()

	reg, err := sqlite.Open(ctx, st.path)
	if err != nil {
		t.Fatalf("round %d: open after the kill: %v", round, err)
	}
	defer reg.Close()
	if v, err := sqlite.Migrate(ctx, st.path); err != nil || v != st.version {
		t.Fatalf("round %d: migrations after the kill: version %d (was %d), %v", round, v, st.version, err)
	}

	ackedSeq := map[uint64]string{}
	for _, n := range notes {
		switch {
		case n.Phase == "begin" && n.Op == "append":
			st.begun[n.Mark] = true
		case n.Phase == "begin" && n.Op == "claim":
			st.claimsBegun++
		case n.Phase == "ack":
			st.acked++
			switch n.Op {
			case "append":
				st.ackedAppends++
				ackedSeq[n.Seq] = n.Mark
			case "register":
				st.registered[n.ID] = false // verified below
			case "claim":
				st.ackedClaims++
				if n.Fencing <= st.maxAckedFencing {
					t.Fatalf("round %d: fencing token %d acknowledged after %d: a claim was lost or reused", round, n.Fencing, st.maxAckedFencing)
				}
				st.maxAckedFencing = n.Fencing
			}
		}
	}
	begunNow, ackedNow := 0, 0
	for _, n := range notes {
		switch n.Phase {
		case "begin":
			begunNow++
		case "ack":
			ackedNow++
		}
	}
	st.unacked += begunNow - ackedNow

	// Events: the new ones continue the sequence without a gap, each was
	// begun by a writer, and each acknowledged one is there with its mark.
	evs, err := reg.EventsAfter(ctx, "log", st.lastSeq)
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	stored := map[uint64]string{}
	for _, ev := range evs {
		if ev.Sequence != st.lastSeq+1 {
			t.Fatalf("round %d: event sequence %d follows %d", round, ev.Sequence, st.lastSeq)
		}
		st.lastSeq = ev.Sequence
		var p struct {
			Mark string `json:"mark"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil || !st.begun[p.Mark] {
			t.Fatalf("round %d: event %d (%s) was never begun by a writer", round, ev.Sequence, ev.Payload)
		}
		stored[ev.Sequence] = p.Mark
	}
	for seq, mark := range ackedSeq {
		if stored[seq] != mark {
			t.Fatalf("round %d: acknowledged append %s (sequence %d) is not stored (found %q)", round, mark, seq, stored[seq])
		}
	}
	st.unackedStored += len(stored) - len(ackedSeq)

	// Registrations: every acknowledged one is there.
	for id, seen := range st.registered {
		if seen {
			continue
		}
		if _, err := reg.GetProcess(ctx, id); err != nil {
			t.Fatalf("round %d: acknowledged registration %s: %v", round, id, err)
		}
		st.registered[id] = true
	}

	// Leases: the stored fencing token is at least every acknowledged one
	// and at most the number of claims ever begun.
	l, err := reg.GetProcessLease(ctx, "leased")
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	var fencing uint64
	if l != nil {
		fencing = l.FencingToken
	}
	if fencing < st.maxAckedFencing || fencing > st.claimsBegun {
		t.Fatalf("round %d: stored fencing token %d; acknowledged up to %d, %d claims begun", round, fencing, st.maxAckedFencing, st.claimsBegun)
	}
	// The next writer must not reuse a token stored but not acknowledged.
	st.maxAckedFencing = max(st.maxAckedFencing, fencing)
}

// crashWriter is the writer process: it opens the registry, says "ready",
// and writes until it is killed, reporting each write before and after.
func crashWriter(t *testing.T) {
	ctx := context.Background()
	pipe := os.NewFile(3, "notes")
	note := func(n crashNote) {
		b, _ := json.Marshal(n)
		// One write(2) per line: a kill cannot cut a line in half.
		if _, err := pipe.Write(append(b, '\n')); err != nil {
			os.Exit(3)
		}
	}
	round := os.Getenv(crashRoundEnv)
	reg, err := sqlite.Open(ctx, os.Getenv(crashPathEnv))
	if err != nil {
		t.Fatal(err)
	}
	note(crashNote{Phase: "ready"})
	owner := procreg.LeaseOwner{OwnerID: "crash-" + round}
	for i := 0; ; i++ {
		switch {
		case i%7 == 3:
			id := fmt.Sprintf("r%s-%d", round, i)
			note(crashNote{Phase: "begin", Op: "register", ID: id})
			if _, err := reg.RegisterProcess(ctx, crashRegistration(id)); err != nil {
				t.Fatal(err)
			}
			note(crashNote{Phase: "ack", Op: "register", ID: id})
		case i%5 == 1:
			// A zero TTL: the lease is expired at once, so the next claim
			// (another incarnation) acquires with the next fencing token.
			owner.IncarnationID = fmt.Sprintf("i%d", i)
			note(crashNote{Phase: "begin", Op: "claim", ID: "leased"})
			c, err := reg.ClaimProcessLease(ctx, "leased", owner, 0)
			if err != nil || !c.Acquired {
				t.Fatalf("claim: %+v, %v", c, err)
			}
			note(crashNote{Phase: "ack", Op: "claim", ID: "leased", Fencing: c.Lease.FencingToken})
		default:
			mark := fmt.Sprintf("%s.%d", round, i)
			note(crashNote{Phase: "begin", Op: "append", ID: "log", Mark: mark})
			p, _ := json.Marshal(map[string]string{"mark": mark})
			res, err := reg.AppendEvent(ctx, "log", procreg.AppendRequest{EventType: "tick", Payload: p})
			if err != nil {
				t.Fatal(err)
			}
			note(crashNote{Phase: "ack", Op: "append", ID: "log", Mark: mark, Seq: res.Event.Sequence})
		}
	}
}

// ewma moves an average a quarter of the way towards a new sample.
func ewma(avg, sample time.Duration) time.Duration {
	if avg == 0 {
		return sample
	}
	return avg + (sample-avg)/4
}

// limitedBuffer keeps the first 64 KiB written to it (the writer's output,
// for failure messages).
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
