package servertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/conformance"
	"github.com/procreg/procreg/driver/sqlkit"
	"github.com/procreg/procreg/internal/history"
	"github.com/procreg/procreg/internal/testdb"
)

// Cluster is a server backend on a multi-node cluster (a MariaDB Galera
// cluster): every node accepts reads and writes of one database. Its tests
// connect registries to different nodes, so what one node commits must be
// visible, ordered and exclusive through every other.
type Cluster struct {
	// Databases provisions one fresh, empty database and returns its DSN
	// on each node (testdb.Galera), node 1 first.
	Databases func(testing.TB) []testdb.Database
	// OpenDSN is the backend's Open.
	OpenDSN func(ctx context.Context, dsn string, opts ...sqlkit.Option) (procreg.Registry, error)
	// Conflicts, when set, returns the cluster's count of certification
	// failures and brute-force aborts so far (summed over the nodes of
	// dsns); the cross-node tests log how many of their transactions the
	// cluster aborted (and the store retried).
	Conflicts func(tb testing.TB, dsns []string) int64

	gate *phases
}

// phases keeps the DDL of the parallel suites (creating, migrating and
// dropping their databases) apart from their test bodies. On Galera every
// DDL statement runs in total order and pauses the whole cluster while it
// runs (TOI), so a test creating its database would stall the transactions
// of the tests already running — long enough, on a loaded machine, to
// expire the conformance suite's 300 ms leases. Provisioning runs while no
// test body does (provisions run together), and a test body starts when
// no provision is running or waiting, so the suites run in waves.
type phases struct {
	mu                             sync.Mutex
	cond                           *sync.Cond
	running, provisioning, waiting int
	holders                        sync.Map // *testing.T -> true while its body runs
}

func newPhases() *phases {
	p := &phases{}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *phases) provision(t *testing.T) {
	if _, held := p.holders.Load(t); held { // a second database for a running test
		p.ran(t)
	}
	p.mu.Lock()
	p.waiting++
	for p.running > 0 {
		p.cond.Wait()
	}
	p.waiting--
	p.provisioning++
	p.mu.Unlock()
}

func (p *phases) provisioned() {
	p.mu.Lock()
	p.provisioning--
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *phases) run(t *testing.T) {
	p.mu.Lock()
	for p.provisioning > 0 || p.waiting > 0 {
		p.cond.Wait()
	}
	p.running++
	p.mu.Unlock()
	p.holders.Store(t, true)
}

func (p *phases) ran(t *testing.T) {
	if _, held := p.holders.LoadAndDelete(t); !held {
		return
	}
	p.mu.Lock()
	p.running--
	p.cond.Broadcast()
	p.mu.Unlock()
}

// database provisions t's database (migrated through node 1) in a
// provisioning phase, and starts t's body; the database is dropped in a
// provisioning phase after the body's cleanups (registries closed).
func (c Cluster) database(t *testing.T) []testdb.Database {
	t.Helper()
	g := c.gate
	g.provision(t)
	t.Cleanup(g.provisioned) // after the drop below
	dbs := c.Databases(t)
	t.Cleanup(func() { g.ran(t); g.provision(t) }) // before the drop
	r, err := c.OpenDSN(context.Background(), dbs[0].DSN)
	if err != nil {
		g.provisioned()
		t.Fatalf("open %s to migrate it: %v", dbs[0].DSN, err)
	}
	_ = r.Close()
	g.provisioned()
	g.run(t)
	return dbs
}

// Tests runs the cluster tests as subtests: the public and durable
// conformance suites with registries on different nodes, concurrent first
// opens (migrations) on every node, the cross-node measurements and the
// linearizability-checked histories across nodes.
func (c Cluster) Tests(t *testing.T) {
	c.gate = newPhases()
	t.Run("Conformance", c.Conformance)
	t.Run("ConformanceDurable", c.Durable)
	t.Run("ConcurrentOpenAcrossNodes", c.ConcurrentOpen)
	t.Run("CrossNode", c.CrossNode)
	t.Run("Histories", c.Histories)
}

// Histories runs linearizability-checked histories (internal/history) on
// one fresh database with one registry per node: client k calls through
// node k mod the node count, so the histories check the cluster's
// leases and logs across nodes.
func (c Cluster) Histories(t *testing.T) {
	if testing.Short() {
		t.Skip("histories: skipped in -short mode")
	}
	dbs := c.Databases(t)
	regs := make([]procreg.Registry, len(dbs))
	for i, d := range dbs {
		regs[i] = c.open(t, d.DSN)
	}
	before := c.conflicts(t, dbs)
	start := time.Now()
	history.Backend(t, history.TotalOps(), func(*testing.T) []procreg.Registry { return regs })
	t.Logf("histories on %d nodes: %v, %d transactions aborted by the cluster and retried", len(dbs), time.Since(start).Round(time.Millisecond), c.conflicts(t, dbs)-before)
}

// open opens a registry on dsn, closed when tb ends.
func (c Cluster) open(tb testing.TB, dsn string) procreg.Registry {
	tb.Helper()
	r, err := c.OpenDSN(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("open %s: %v", dsn, err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	return r
}

// Conformance runs the public suite, each subtest on a database of its
// own (provisioned in waves, see phases), its registry connected to the
// nodes in turn.
func (c Cluster) Conformance(t *testing.T) {
	if c.gate == nil {
		c.gate = newPhases()
	}
	var next atomic.Int64
	conformance.Run(t, func(t *testing.T) procreg.Registry {
		dbs := c.database(t)
		return c.open(t, dbs[int(next.Add(1)-1)%len(dbs)].DSN)
	})
}

// Durable runs the durable suite; the registries of one database are
// handed out round-robin over the nodes, so the races across registries
// are races across nodes.
func (c Cluster) Durable(t *testing.T) {
	if c.gate == nil {
		c.gate = newPhases()
	}
	conformance.RunDurable(t, func(t *testing.T) conformance.Opener {
		dbs := c.database(t)
		var next atomic.Int64
		return func(t *testing.T) procreg.Registry {
			dsn := dbs[int(next.Add(1)-1)%len(dbs)].DSN
			r, err := c.OpenDSN(context.Background(), dsn)
			if err != nil {
				t.Fatalf("open %s: %v", dsn, err)
			}
			return r
		}
	})
}

// ConcurrentOpen opens two registries per node at once on one fresh, empty
// database: each runs the migrations, which must serialize across nodes
// (a node-local lock would let two migrators run the same DDL).
func (c Cluster) ConcurrentOpen(t *testing.T) {
	dbs := c.Databases(t)
	n := 2 * len(dbs)
	regs := make([]procreg.Registry, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range regs {
		wg.Go(func() { regs[i], errs[i] = c.OpenDSN(context.Background(), dbs[i%len(dbs)].DSN) })
	}
	wg.Wait()
	for _, r := range regs {
		if r != nil {
			t.Cleanup(func() { _ = r.Close() })
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d of %d at once (node %d): %v", i, n, i%len(dbs)+1, err)
		}
	}
	register(t, regs[0], "opened-concurrently")
	for i, r := range regs {
		if _, err := r.GetProcess(context.Background(), "opened-concurrently"); err != nil {
			t.Errorf("registry %d (node %d) does not see the process: %v", i, i%len(dbs)+1, err)
		}
	}
}

// CrossNode runs the cross-node measurements, one after the other.
func (c Cluster) CrossNode(t *testing.T) {
	t.Run("ReadAfterWrite", c.ReadAfterWrite)
	t.Run("AppendersOnEveryNode", c.AppendersOnEveryNode)
	t.Run("ClaimRace", c.ClaimRace)
	t.Run("ChangeFeedAcrossNodes", c.ChangeFeedAcrossNodes)
}

// conflicts is Conflicts, or 0 without it.
func (c Cluster) conflicts(tb testing.TB, dbs []testdb.Database) int64 {
	if c.Conflicts == nil {
		return 0
	}
	dsns := make([]string, len(dbs))
	for i, d := range dbs {
		dsns[i] = d.DSN
	}
	return c.Conflicts(tb, dsns)
}

// ReadAfterWriteTries is how many writes ReadAfterWrite reads back.
const ReadAfterWriteTries = 1000

// ReadAfterWrite writes through the first node and reads the write back
// through the last at once, ReadAfterWriteTries times: every even try
// registers a process, every odd one appends an event to it. A read that
// does not see the write (not found, or an older last event) is a miss;
// there must be none.
func (c Cluster) ReadAfterWrite(t *testing.T) {
	ctx := context.Background()
	dbs := c.Databases(t)
	w := c.open(t, dbs[0].DSN)
	r := c.open(t, dbs[len(dbs)-1].DSN)
	register(t, w, "warm-up") // the first open migrated; the reader's too
	misses := 0
	start := time.Now()
	var id string
	for i := range ReadAfterWriteTries {
		if i%2 == 0 {
			id = fmt.Sprintf("raw-%04d", i)
			register(t, w, id)
			if _, err := r.GetProcess(ctx, id); err != nil {
				if !errors.Is(err, procreg.ErrNotFound) {
					t.Fatalf("GetProcess(%s) on node %d: %v", id, len(dbs), err)
				}
				misses++
			}
			continue
		}
		res, err := w.AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.waiting", Payload: json.RawMessage(fmt.Sprintf(`{"try":%d}`, i))})
		if err != nil {
			t.Fatalf("AppendEvent(%s) on node 1: %v", id, err)
		}
		evs, err := r.RecentEvents(ctx, id, 1)
		if err != nil {
			t.Fatalf("RecentEvents(%s) on node %d: %v", id, len(dbs), err)
		}
		if len(evs) != 1 || evs[0].Sequence != res.Event.Sequence {
			misses++
		}
	}
	t.Logf("read after write, node 1 -> node %d: %d misses in %d tries (%v per write+read)",
		len(dbs), misses, ReadAfterWriteTries, (time.Since(start) / ReadAfterWriteTries).Round(time.Microsecond))
	if misses != 0 {
		t.Errorf("%d of %d reads on node %d missed a write committed on node 1; want 0", misses, ReadAfterWriteTries, len(dbs))
	}
}

// Appenders and AppendsEach shape AppendersOnEveryNode.
const (
	Appenders   = 9
	AppendsEach = 100
)

// AppendersOnEveryNode runs Appenders writers, spread over the nodes, each
// with its own registry, appending AppendsEach events to one process. Every
// append must succeed (conflicts are retried inside the store), and the log
// must be gap-free, each append exactly once, and identical on every node.
func (c Cluster) AppendersOnEveryNode(t *testing.T) {
	ctx := context.Background()
	dbs := c.Databases(t)
	regs := make([]procreg.Registry, Appenders)
	for i := range regs {
		regs[i] = c.open(t, dbs[i%len(dbs)].DSN)
	}
	const id = "contended"
	register(t, regs[0], id)
	before := c.conflicts(t, dbs)
	start := time.Now()
	errs := make([]error, Appenders)
	var wg sync.WaitGroup
	for w := range regs {
		wg.Go(func() {
			for i := range AppendsEach {
				p := json.RawMessage(fmt.Sprintf(`{"writer":%d,"i":%d}`, w, i))
				if _, err := regs[w].AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.waiting", Payload: p}); err != nil {
					errs[w] = fmt.Errorf("writer %d (node %d), append %d: %w", w, w%len(dbs)+1, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	aborted := c.conflicts(t, dbs) - before
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	const total = Appenders * AppendsEach
	t.Logf("%d writers on %d nodes, %d appends to one process: %v (%.0f appends/s), %d transactions aborted by the cluster and retried",
		Appenders, len(dbs), total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), aborted)
	var first []procreg.Event
	for n, d := range dbs {
		r := regs[n]
		evs, err := r.EventsAfter(ctx, id, 0)
		if err != nil {
			t.Fatalf("EventsAfter on node %d (%s): %v", n+1, d.Name, err)
		}
		seen := map[string]bool{}
		for i, e := range evs {
			if e.Sequence != uint64(i+1) {
				t.Fatalf("node %d: event %d has sequence %d; want %d (gap-free from 1)", n+1, i, e.Sequence, i+1)
			}
			if seen[string(e.Payload)] {
				t.Fatalf("node %d: payload %s appended twice", n+1, e.Payload)
			}
			seen[string(e.Payload)] = true
		}
		if len(evs) != total {
			t.Errorf("node %d: %d events; want %d", n+1, len(evs), total)
		}
		if n == 0 {
			first = evs
		} else if !reflect.DeepEqual(evs, first) {
			t.Errorf("node %d's log differs from node 1's", n+1)
		}
	}
}

// ClaimRaceProcesses and ClaimersPerNode shape ClaimRace.
const (
	ClaimRaceProcesses = 40
	ClaimersPerNode    = 3
)

// ClaimRace races ClaimersPerNode claimers per node, each with its own
// registry and owner, for the lease of each of ClaimRaceProcesses
// processes: exactly one claim per process is acquired, and every node
// reports that claim's lease as the holder.
func (c Cluster) ClaimRace(t *testing.T) {
	ctx := context.Background()
	dbs := c.Databases(t)
	regs := make([]procreg.Registry, ClaimersPerNode*len(dbs))
	for i := range regs {
		regs[i] = c.open(t, dbs[i%len(dbs)].DSN)
	}
	for p := range ClaimRaceProcesses {
		register(t, regs[p%len(regs)], fmt.Sprintf("race-%03d", p))
	}
	before := c.conflicts(t, dbs)
	start := time.Now()
	twoHolders := 0
	for p := range ClaimRaceProcesses {
		id := fmt.Sprintf("race-%03d", p)
		claims := make([]procreg.LeaseClaim, len(regs))
		errs := make([]error, len(regs))
		var ready, wg sync.WaitGroup
		gate := make(chan struct{})
		ready.Add(len(regs))
		for i, r := range regs {
			wg.Go(func() {
				ready.Done()
				<-gate
				claims[i], errs[i] = r.ClaimProcessLease(ctx, id, owner(fmt.Sprintf("claimer-%d", i)), time.Hour)
			})
		}
		ready.Wait()
		close(gate)
		wg.Wait()
		var winners []int
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s: claim by claimer %d (node %d): %v", id, i, i%len(dbs)+1, err)
			}
			if claims[i].Acquired {
				winners = append(winners, i)
			}
		}
		if len(winners) != 1 {
			if len(winners) > 1 {
				twoHolders++
			}
			t.Errorf("%s: %d claims acquired (claimers %v); want exactly 1", id, len(winners), winners)
			continue
		}
		won := claims[winners[0]].Lease
		for i, cl := range claims {
			if cl.Lease.Token != won.Token || cl.Lease.FencingToken != won.FencingToken {
				t.Errorf("%s: claimer %d (node %d) was told the holder is %+v; the winner holds %+v", id, i, i%len(dbs)+1, cl.Lease, won)
			}
		}
		for n := range dbs {
			got, err := regs[n].GetProcessLease(ctx, id)
			if err != nil || got == nil || got.Token != won.Token {
				t.Errorf("%s: lease on node %d = %+v, %v; want the winner's %s", id, n+1, got, err, won.Token)
			}
		}
	}
	t.Logf("%d claim races of %d claimers on %d nodes: %d with two holders, %v, %d transactions aborted by the cluster and retried",
		ClaimRaceProcesses, len(regs), len(dbs), twoHolders, time.Since(start).Round(time.Millisecond), c.conflicts(t, dbs)-before)
}

// FeedAppendsEach is how many events each writer of ChangeFeedAcrossNodes
// appends to its own process before completing it.
const FeedAppendsEach = 50

// ChangeFeedAcrossNodes measures what the change feed costs a cluster and
// checks that it stays complete. Appenders writers each append
// FeedAppendsEach events to a process of their own, so they share no
// process row; every append is a record change and advances the feed's
// position. Run twice: with every writer on node 1, then spread over the
// nodes (where a dialect whose position is one counter row makes every
// pair of concurrent appends through different nodes conflict). Each
// round's writes must all succeed, and a follower reading the feed through
// the last node, during and after the writes, must see every process
// completed in the end, and never running again after that.
func (c Cluster) ChangeFeedAcrossNodes(t *testing.T) {
	for _, spread := range []bool{false, true} {
		name := "OneNode"
		if spread {
			name = "EveryNode"
		}
		t.Run(name, func(t *testing.T) { c.feedRound(t, spread) })
	}
}

func (c Cluster) feedRound(t *testing.T, spread bool) {
	ctx := context.Background()
	dbs := c.Databases(t)
	regs := make([]procreg.Registry, Appenders)
	for i := range regs {
		node := 0
		if spread {
			node = i % len(dbs)
		}
		regs[i] = c.open(t, dbs[node].DSN)
	}
	for w := range regs {
		register(t, regs[0], fmt.Sprintf("feed-%d", w))
	}
	follower := c.open(t, dbs[len(dbs)-1].DSN)
	done := map[string]bool{} // processes the feed showed completed
	cursor := ""
	follow := func() error {
		for {
			page, err := follower.ProcessesChangedSince(ctx, cursor, 100)
			if err != nil {
				return err
			}
			for _, r := range page.Records {
				if done[r.ID] && !r.IsTerminal() {
					return fmt.Errorf("the feed showed %s running after it had shown it completed", r.ID)
				}
				done[r.ID] = r.IsTerminal()
			}
			cursor = page.Next
			if len(page.Records) == 0 {
				return nil
			}
		}
	}
	before := c.conflicts(t, dbs)
	start := time.Now()
	errs := make([]error, Appenders)
	var wg sync.WaitGroup
	for w := range regs {
		wg.Go(func() {
			id := fmt.Sprintf("feed-%d", w)
			for i := range FeedAppendsEach {
				if _, err := regs[w].AppendEvent(ctx, id, procreg.AppendRequest{EventType: "process.waiting", Payload: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}); err != nil {
					errs[w] = fmt.Errorf("writer %d, append %d: %w", w, i, err)
					return
				}
			}
			if _, err := regs[w].CompleteProcess(ctx, id, procreg.AwaitOutput{Kind: procreg.OutputSuccess, Value: json.RawMessage(`1`)}); err != nil {
				errs[w] = fmt.Errorf("writer %d, completion: %w", w, err)
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	var followErr error
	for running := true; running && followErr == nil; {
		select {
		case <-finished:
			running = false
		case <-time.After(20 * time.Millisecond):
			followErr = follow()
		}
	}
	<-finished
	elapsed := time.Since(start)
	aborted := c.conflicts(t, dbs) - before
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if followErr == nil {
		followErr = follow()
	}
	if followErr != nil {
		t.Fatalf("following the feed through node %d: %v", len(dbs), followErr)
	}
	for w := range regs {
		id := fmt.Sprintf("feed-%d", w)
		if !done[id] {
			t.Errorf("the feed through node %d never showed %s completed", len(dbs), id)
		}
	}
	nodes := 1
	if spread {
		nodes = len(dbs)
	}
	total := Appenders * (FeedAppendsEach + 1)
	t.Logf("%d writers on %d node(s), each appending to its own process: %d appends and completions in %v (%.0f appends/s), %d transactions aborted by the cluster and retried",
		Appenders, nodes, total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), aborted)
}
