package pgstore_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pgstore"
	"github.com/yima-dev/yima/store/pgstore/pgtest"
	"github.com/yima-dev/yima/store/storetest"
)

// TestOpenRefusesBadDatabases: each database yima cannot use gets an error
// that says what to do, and Migrate makes a usable one.
func TestOpenRefusesBadDatabases(t *testing.T) {
	bare := pgtest.DSN(t)
	if _, err := pgstore.Open(bare, nil); !errors.Is(err, pgstore.ErrNoSchema) || !strings.Contains(err.Error(), "yima migrate-schema") {
		t.Errorf("a database without the schema: %v, want ErrNoSchema naming yima migrate-schema", err)
	}
	from, to, err := pgstore.Migrate(context.Background(), bare, "test")
	if err != nil || from != 0 || to != pgstore.SchemaVersion {
		t.Fatalf("Migrate = %d, %d, %v; want 0, %d, nil", from, to, err, pgstore.SchemaVersion)
	}
	if from, to, err := pgstore.Migrate(context.Background(), bare, "test"); err != nil || from != to {
		t.Errorf("a second Migrate = %d, %d, %v; want nothing to do", from, to, err)
	}
	db, err := pgstore.Open(bare, nil)
	if err != nil {
		t.Fatalf("Open after Migrate: %v", err)
	}
	db.Close()

	ro := withParam(t, bare, "default_transaction_read_only", "on")
	if _, err := pgstore.Open(ro, nil); !errors.Is(err, pgstore.ErrReadOnly) {
		t.Errorf("a read-only server: %v, want ErrReadOnly", err)
	}
	if _, _, err := pgstore.Migrate(context.Background(), ro, "test"); !errors.Is(err, pgstore.ErrReadOnly) {
		t.Errorf("Migrate on a read-only server: %v, want ErrReadOnly", err)
	}

	// A database of version 1 (before the records' fill factor) is
	// refused until Migrate raises it.
	exec(t, bare, "ALTER TABLE yima_records RESET (fillfactor)")
	exec(t, bare, "UPDATE yima_schema_version SET version = 1")
	if _, err := pgstore.Open(bare, nil); !errors.Is(err, pgstore.ErrOldSchema) {
		t.Errorf("a schema of version 1: %v, want ErrOldSchema", err)
	}
	if from, to, err := pgstore.Migrate(context.Background(), bare, "test"); err != nil || from != 1 || to != 2 {
		t.Errorf("Migrate from version 1 = %d, %d, %v; want 1, 2, nil", from, to, err)
	}
	var opts []string
	if err := connect(t, bare).QueryRow(context.Background(), `SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = 'yima_records'::regclass`).Scan(&opts); err != nil || !slices.Contains(opts, "fillfactor=70") {
		t.Errorf("the records' storage options after Migrate: %q, %v; want fillfactor=70", opts, err)
	}

	exec(t, bare, "UPDATE yima_schema_version SET version = version + 1")
	if _, err := pgstore.Open(bare, nil); !errors.Is(err, pgstore.ErrNewerSchema) {
		t.Errorf("a schema from a newer yima: %v, want ErrNewerSchema", err)
	}
	if _, _, err := pgstore.Migrate(context.Background(), bare, "test"); !errors.Is(err, pgstore.ErrNewerSchema) {
		t.Errorf("Migrate of a schema from a newer yima: %v, want ErrNewerSchema", err)
	}

	down := "postgres://yima@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2"
	if _, err := pgstore.Open(down, nil); !errors.Is(err, pgstore.ErrConnect) || strings.Contains(err.Error(), "secret") {
		t.Errorf("an unreachable server: %v, want ErrConnect", err)
	}
	withPassword := "postgres://yima:secret@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2"
	if _, err := pgstore.Open(withPassword, nil); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("an unreachable server's error shows the password: %v", err)
	}
	if _, err := pgstore.Open("postgres://yima@127.0.0.1:notaport/x", nil); err == nil || !strings.Contains(err.Error(), "connection string") {
		t.Errorf("a malformed URL: %v, want an error about the connection string", err)
	}
}

// TestScanPages scans more records than a page holds, forwards, backwards,
// from a start key and stopping early, in a snapshot and outside.
func TestScanPages(t *testing.T) {
	db := pgtest.Open(t, nil)
	const n = 700
	err := db.Update(func(tx store.Tx) error {
		for i := range n {
			tx.Put(fmt.Appendf(nil, "p/%04d", i), fmt.Appendf(nil, "%d", i))
		}
		tx.Put([]byte("q"), []byte("after"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range storetest.StoreAndSnapshot(t, db) {
		var got []string
		err := r.Scan([]byte("p/"), []byte("p/0100"), func(k, v []byte) bool {
			if string(v) != strings.TrimLeft(string(k[2:]), "0") && string(k) != "p/0000" {
				t.Errorf("%s: %q holds %q", name, k, v)
			}
			got = append(got, string(k))
			return true
		})
		if err != nil || len(got) != n-100 || got[0] != "p/0100" || got[len(got)-1] != fmt.Sprintf("p/%04d", n-1) {
			t.Errorf("%s: scan from p/0100 read %d keys (%v), want %d from p/0100 to the last", name, len(got), err, n-100)
		}
		var rev []string
		err = r.ScanReverse([]byte("p/"), func(k, _ []byte) bool {
			rev = append(rev, string(k))
			return len(rev) < 500
		})
		if err != nil || len(rev) != 500 || rev[0] != fmt.Sprintf("p/%04d", n-1) || rev[499] != fmt.Sprintf("p/%04d", n-500) {
			t.Errorf("%s: a reverse scan stopped at 500 read %d keys from %v to %v (%v)", name, len(rev), rev[0], rev[len(rev)-1], err)
		}
		// A read inside a scan's callback uses the same transaction.
		var inner int
		err = r.Scan([]byte("p/"), nil, func(k, _ []byte) bool {
			if _, found, err := r.Get(k); err != nil || !found {
				t.Errorf("%s: Get %q inside a scan: %v, %v", name, k, found, err)
				return false
			}
			inner++
			return inner < 70
		})
		if err != nil || inner != 70 {
			t.Errorf("%s: scan with reads inside stopped after %d (%v)", name, inner, err)
		}
	}
}

// TestTwoNodesSerialize runs read-modify-writes and adds on the same keys
// from two stores on one database, as two nodes would: their transactions
// conflict, and every conflict must run again, not lose an increment.
func TestTwoNodesSerialize(t *testing.T) {
	// Reading the counters, claiming them (store.Claimer), and some
	// workers one way, some the other.
	for _, claim := range []string{"never", "always", "half"} {
		t.Run(claim, func(t *testing.T) { twoNodesSerialize(t, claim) })
	}
}

func twoNodesSerialize(t *testing.T, claim string) {
	nodes := openNodes(t, 2)
	const workers, each = 6, 30
	storetest.Concurrently(t, workers, each, func(w, i int) error {
		k := []byte{byte('a' + (w+i)%2)}
		var claimed store.Hints
		if claim == "always" || claim == "half" && w%3 == 0 {
			claimed = func() (reads, claims [][]byte) { return nil, [][]byte{k} }
		}
		return nodes[w%2].UpdateClaiming(claimed, func(tx store.Tx) error {
			if err := storetest.Increment(tx, k); err != nil {
				return err
			}
			tx.Add([]byte("sum"), 1)
			return nil
		})
	})
	var total int64
	for _, k := range []string{"a", "b"} {
		v, _, err := nodes[0].Get([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := store.Counter(v)
		total += n
	}
	sum, _, _ := nodes[1].Get([]byte("sum"))
	if s, _ := store.Counter(sum); total != workers*each || s != workers*each {
		t.Errorf("after %d increments on two nodes the keys sum to %d and the added counter reads %d", workers*each, total, s)
	}
}

// openNodes opens n stores on one new database, as n nodes: each its own
// decider and connections.
func openNodes(t *testing.T, n int) []*pgstore.DB {
	t.Helper()
	return openNodesOn(t, pgtest.Migrated(t), n, pgstore.Options{MaxConflicts: 1000})
}

// openNodesOn opens n stores on the database at dsn, each with opts, as n
// yima nodes share one database.
func openNodesOn(t *testing.T, dsn string, n int, opts pgstore.Options) []*pgstore.DB {
	t.Helper()
	var nodes []*pgstore.DB
	for range n {
		o := opts // each node its own: Open fills in the defaults
		db, err := pgstore.Open(dsn, &o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		nodes = append(nodes, db)
	}
	return nodes
}

// TestClaimsStaySerializable races three nodes over claimed keys
// (store.Claimer): each round, every node claims a fresh key and writes it
// only if it finds it absent, as a scan claims a fresh code's redemption,
// and one winner must come out of each round; and two nodes each claim one
// key of a pair and read the other, writing theirs only if the other is
// unset (the write skew of two doctors going off call): at most one of each
// pair may be set.
func TestClaimsStaySerializable(t *testing.T) {
	nodes := openNodes(t, 3)
	const rounds = 40
	var wins [rounds]atomic.Int32
	var wg sync.WaitGroup
	for r := range rounds {
		for n, db := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k := fmt.Appendf(nil, "once/%02d", r)
				won := false
				err := db.UpdateClaiming(func() (reads, claims [][]byte) { return nil, [][]byte{k} }, func(tx store.Tx) error {
					won = false
					_, found, err := tx.Get(k)
					if err != nil || found {
						return err
					}
					tx.Put(k, fmt.Append(nil, n))
					won = true
					return nil
				})
				if err != nil {
					t.Error(err)
				}
				if won {
					wins[r].Add(1)
				}
			}()
			wg.Add(1)
			go func() {
				defer wg.Done()
				if n == 2 {
					return
				}
				mine, other := fmt.Appendf(nil, "pair/%02d/%d", r, n), fmt.Appendf(nil, "pair/%02d/%d", r, 1-n)
				err := db.UpdateClaiming(func() (reads, claims [][]byte) { return [][]byte{other}, [][]byte{mine} }, func(tx store.Tx) error {
					_, set, err := tx.Get(other)
					if err != nil || set {
						return err
					}
					tx.Put(mine, []byte("set"))
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	for r := range rounds {
		if n := wins[r].Load(); n != 1 {
			t.Errorf("round %d: %d nodes created the claimed key, want 1", r, n)
		}
		var set int
		for n := range 2 {
			if _, found, err := nodes[0].Get(fmt.Appendf(nil, "pair/%02d/%d", r, n)); err != nil {
				t.Fatal(err)
			} else if found {
				set++
			}
		}
		if set != 1 {
			t.Errorf("round %d: %d keys of the pair set, want exactly 1 (0: a decision lost; 2: write skew)", r, set)
		}
	}
}

// TestPlaceholdersLeaveNoReadLock: three nodes decide, 16 at a time each,
// as a code's first redeeming scan does: claim two absent keys of a fresh
// code (keys in sequence, the nodes' neighbours), write one and leave the
// other unwritten, so that its placeholder is deleted at the commit. No
// two decisions share a key. Deleted by
// its key, the placeholder's DELETE looked it up in the index and left a
// predicate lock on the page where the other nodes insert their next
// placeholders; a node whose claims came there while the deleting group's
// COMMIT waited for the disk made PostgreSQL refuse groups that shared
// nothing (docs/cluster.md, "The claims' placeholders"). Deleted where the
// claim put it, it leaves none: no serialization failure. The COMMITs wait
// 2 ms, as on a disk that syncs (the test clusters do not). Counted, not
// timed.
func TestPlaceholdersLeaveNoReadLock(t *testing.T) {
	const perNode, decisions = 16, 1500
	pg := pgtest.StartStoppable(t, "fsync=on", "max_pred_locks_per_transaction=128")
	nodes := openNodesOn(t, pgtest.WithParam(t, pg.DSN(), "enable_seqscan", "off"), 3, pgstore.Options{MaxConflicts: 1000})
	var wg sync.WaitGroup
	for n, db := range nodes {
		var next atomic.Int64
		for range perNode {
			wg.Go(func() {
				for {
					// Node n decides keys n, n+3, n+6...: the nodes'
					// keys are neighbours.
					i := 3*(next.Add(1)-1) + int64(n)
					if i >= decisions {
						return
					}
					count, red := fmt.Appendf(nil, "sc/%06d", i), fmt.Appendf(nil, "r/%06d", i)
					err := db.UpdateClaiming(func() (reads, claims [][]byte) { return nil, [][]byte{count, red} }, func(tx store.Tx) error {
						if _, found, err := tx.Get(count); err != nil || found {
							return cmp.Or(err, fmt.Errorf("%s was found before its first scan", count))
						}
						tx.Put(red, []byte(`{"redeemed":true}`))
						return nil
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	var conflicts int64
	for _, db := range nodes {
		conflicts += db.Conflicts()
	}
	if conflicts > 0 {
		t.Errorf("three nodes claiming fresh keys in sequence, %d decisions, met %d serialization failures; want none: no two decisions share a key", decisions, conflicts)
	}
	for i := range decisions {
		if _, found, err := nodes[0].Get(fmt.Appendf(nil, "sc/%06d", i)); err != nil || found {
			t.Fatalf("sc/%06d after its decision: found %v, %v; want its placeholder gone", i, found, err)
		}
	}
}

// TestDecisionSeesEarlierCommits: a decision submitted after another
// node's commit returned sees it, though its node's decider was in the
// middle of a group when it came: a group's transaction reads one
// snapshot, so a decision may not join a group begun before it was asked
// (a coupon issued on one node and verified on another a moment later
// was "not found").
func TestDecisionSeesEarlierCommits(t *testing.T) {
	// Several lanes; the second node's decisions both go to one of them,
	// which is in the middle of a group when the second comes.
	nodes := openNodesOn(t, pgtest.Migrated(t), 2, pgstore.Options{Lanes: 3})
	read, release := make(chan struct{}), make(chan struct{})
	slow := make(chan error, 1)
	go func() {
		slow <- nodes[1].UpdateIn(1, nil, func(tx store.Tx) error {
			if _, _, err := tx.Get([]byte("other")); err != nil {
				return err
			}
			select {
			case read <- struct{}{}: // the group's snapshot is taken
			default:
			}
			<-release
			return nil
		})
	}()
	<-read
	if err := nodes[0].Update(func(tx store.Tx) error { tx.Put([]byte("issued"), []byte("x")); return nil }); err != nil {
		t.Fatal(err)
	}
	seen := make(chan bool, 1)
	go func() {
		var found bool
		err := nodes[1].UpdateIn(1, nil, func(tx store.Tx) error {
			var err error
			_, found, err = tx.Get([]byte("issued"))
			return err
		})
		if err != nil {
			t.Error(err)
		}
		seen <- found
	}()
	time.Sleep(100 * time.Millisecond) // the second decision queues behind the first
	close(release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	if !<-seen {
		t.Error("a decision asked after another node's commit did not see it")
	}
}

// TestAddOnStoredValue adds, without reading, to what earlier decisions
// stored: an 8-byte value is a counter; a longer one is not, and the
// decision that adds to it fails as a panic, alone.
func TestAddOnStoredValue(t *testing.T) {
	db := pgtest.Open(t, nil)
	put := func(k, v []byte) {
		if err := db.Update(func(tx store.Tx) error { tx.Put(k, v); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	put([]byte("c"), store.AppendCounter(nil, 40))
	put([]byte("text"), []byte("not a counter"))
	put([]byte("json8"), []byte(`{"ab":1}`))
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, k := range []string{"c", "text", "c"} {
		wg.Go(func() {
			errs[i] = db.Update(func(tx store.Tx) error { tx.Add([]byte(k), 1); return nil })
		})
	}
	wg.Wait()
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], store.ErrDecisionPanicked) {
		t.Errorf("adds to a counter, to text, to the counter: %v; want nil, ErrDecisionPanicked, nil", errs)
	}
	if v, _, _ := db.Get([]byte("c")); !bytes.Equal(v, store.AppendCounter(nil, 42)) {
		t.Errorf("counter reads %x after 40 and two adds of 1", v)
	}
	if v, _, _ := db.Get([]byte("text")); string(v) != "not a counter" {
		t.Errorf("text reads %q after a refused add", v)
	}
	if v, _, _ := db.Get([]byte("json8")); string(v) != `{"ab":1}` {
		t.Errorf("an 8-byte JSON value reads %q", v)
	}
}

// TestReadAheadRoundTrips: a decision that names the keys it reads makes
// one round trip for them all, with BEGIN; one that does not, one a key,
// the first with BEGIN; the writes go with COMMIT; a decision that neither
// reads nor writes sends nothing.
func TestReadAheadRoundTrips(t *testing.T) {
	db := pgtest.Open(t, nil)
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d"), []byte("e")}
	if err := db.Update(func(tx store.Tx) error { tx.Put(keys[0], []byte("x")); return nil }); err != nil {
		t.Fatal(err)
	}
	readAll := func(tx store.Tx) error {
		for _, k := range keys {
			if _, _, err := tx.Get(k); err != nil {
				return err
			}
		}
		tx.Put([]byte("out"), []byte("y"))
		return nil
	}
	for _, c := range []struct {
		name   string
		keys   func() [][]byte
		decide func(tx store.Tx) error
		want   int64
	}{
		{"keys named", func() [][]byte { return keys }, readAll, 2},
		{"keys not named", nil, readAll, int64(len(keys)) + 1},
		{"only writes", nil, func(tx store.Tx) error { tx.Put([]byte("out"), []byte("z")); return nil }, 1},
		{"nothing", nil, func(store.Tx) error { return nil }, 0},
	} {
		before := db.RoundTrips()
		if err := db.UpdateReading(c.keys, c.decide); err != nil {
			t.Fatal(err)
		}
		if got := db.RoundTrips() - before; got != c.want {
			t.Errorf("%s: %d round trips, want %d", c.name, got, c.want)
		}
	}
}

// TestJSONView: the records that are JSON read as jsonb through yima_json.
func TestJSONView(t *testing.T) {
	dsn := pgtest.Migrated(t)
	db, err := pgstore.Open(dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx store.Tx) error {
		tx.Put([]byte("m/alice"), []byte(`{"points": 12, "name": "Alice"}`))
		tx.Put([]byte("m/bob"), []byte(`{"points": 3}`))
		tx.Put([]byte("bin"), []byte{0xff, 0, 1})
		tx.Put([]byte("brace"), []byte("{not json"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys string
	var sum int64
	conn := connect(t, dsn)
	err = conn.QueryRow(context.Background(),
		`SELECT string_agg(key, ',' ORDER BY key), sum((doc->>'points')::INT8) FROM yima_json`).Scan(&keys, &sum)
	if err != nil || keys != "m/alice,m/bob" || sum != 15 {
		t.Errorf("yima_json: keys %q, points %d (%v); want m/alice,m/bob and 15", keys, sum, err)
	}
}

// TestCommitConnectionLost cuts the connection while COMMIT is on its way:
// once after the server received it (the transaction committed, the answer
// is lost), once before (it did not); and, earlier, at a decision's read.
// Each time the decision is answered once, its write is made exactly once,
// and the store goes on.
func TestCommitConnectionLost(t *testing.T) {
	for _, c := range []struct {
		name      string
		cut       int32
		committed bool
		// adds: the decision adds blindly, so COMMIT waits for the
		// adds' count; without, it goes with the writes.
		adds bool
	}{
		{"after the server got COMMIT", cutAfterCommit, true, true},
		{"before the server got COMMIT", cutBeforeCommit, false, true},
		{"at a read in the group", cutAtRead, false, true},
		{"after the server got COMMIT with the writes", cutAfterCommit, true, false},
		{"before the server got COMMIT with the writes", cutBeforeCommit, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dsn := pgtest.Migrated(t)
			p := newProxy(t, dsn)
			var logs logBuffer
			db, err := pgstore.Open(p.dsn, &pgstore.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			incr := increment(c.adds)
			if err := db.Update(incr); err != nil {
				t.Fatal(err)
			}
			p.cut.Store(c.cut)
			if err := db.Update(incr); err != nil {
				t.Fatalf("the decision whose COMMIT lost its connection: %v", err)
			}
			if p.cut.Load() != 0 {
				t.Fatal("the proxy never saw a COMMIT to cut")
			}
			if err := db.Update(incr); err != nil {
				t.Fatalf("the decision after: %v", err)
			}
			for _, k := range []string{"n", "adds"} {
				v, _, err := db.Get([]byte(k))
				if n, _ := store.Counter(v); err != nil || n != 3 {
					t.Errorf("%s reads %d after three acknowledged decisions (%v): a decision was made twice or lost", k, n, err)
				}
			}
			resolved := strings.Contains(logs.String(), "its answers stand")
			if resolved != c.committed {
				t.Errorf("the store resolved the lost commit as committed: %v, want %v; log:\n%s", resolved, c.committed, logs.String())
			}
		})
	}
}

// increment is a decision that reads the counter n and writes it one
// more, and counts itself in "adds": blindly (tx.Add) when adds, so that
// COMMIT waits for the adds' count, or by a put, so that COMMIT goes
// with the writes.
func increment(adds bool) func(store.Tx) error {
	return func(tx store.Tx) error {
		v, found, err := tx.Get([]byte("n"))
		if err != nil {
			return err
		}
		var n int64
		if found {
			n, _ = store.Counter(v)
		}
		tx.Put([]byte("n"), store.AppendCounter(nil, n+1))
		if adds {
			tx.Add([]byte("adds"), 1)
		} else {
			tx.Put([]byte("adds"), store.AppendCounter(nil, n+1))
		}
		return nil
	}
}

const (
	cutAfterCommit  = 1 // forward COMMIT, then close the client's side
	cutBeforeCommit = 2 // close both sides instead of forwarding COMMIT
	cutAtRead       = 3 // close both sides instead of forwarding the next statement with arguments
)

// proxy sits between the store and PostgreSQL and cuts a connection at a
// COMMIT when told to (once).
type proxy struct {
	dsn string
	cut atomic.Int32
}

func newProxy(t *testing.T, dsn string) *proxy {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	server := u.Host
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	u.Host = ln.Addr().String()
	p := &proxy{dsn: u.String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", server)
			if err != nil {
				c.Close()
				continue
			}
			var mute atomic.Bool
			go back(c, s, &mute)
			go p.forward(c, s, &mute)
		}
	}()
	return p
}

// back copies the server's answers to the client until muted.
func back(c, s net.Conn, mute *atomic.Bool) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		if err != nil || mute.Load() {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

// forward copies the client's messages to the server one by one: the
// startup message (no type byte), then typed messages.
func (p *proxy) forward(c, s net.Conn, mute *atomic.Bool) {
	defer s.Close()
	var head [5]byte
	if _, err := io.ReadFull(c, head[:4]); err != nil {
		return
	}
	n := int(head[0])<<24 | int(head[1])<<16 | int(head[2])<<8 | int(head[3])
	body := make([]byte, n-4)
	if _, err := io.ReadFull(c, body); err != nil {
		return
	}
	s.Write(append(head[:4:4], body...))
	// In a pipeline COMMIT is a prepared statement: its Parse names it,
	// a Bind runs it, and the pipeline's Sync ends it.
	commits := map[string]bool{}
	closeAtSync := false
	for {
		if _, err := io.ReadFull(c, head[:]); err != nil {
			return
		}
		n := int(head[1])<<24 | int(head[2])<<16 | int(head[3])<<8 | int(head[4])
		body := make([]byte, n-4)
		if _, err := io.ReadFull(c, body); err != nil {
			return
		}
		isCommit := head[0] == 'Q' && strings.EqualFold(strings.TrimRight(string(body), "\x00"), "COMMIT")
		if head[0] == 'P' {
			name, rest, _ := strings.Cut(string(body), "\x00")
			query, _, _ := strings.Cut(rest, "\x00")
			commits[name] = strings.EqualFold(query, "COMMIT")
		}
		if head[0] == 'B' {
			_, rest, _ := strings.Cut(string(body), "\x00") // the portal
			stmt, _, _ := strings.Cut(rest, "\x00")
			isCommit = commits[stmt]
		}
		// A decision's read is the group's first statement with
		// arguments, after BEGIN: its Bind message.
		if head[0] == 'B' && p.cut.CompareAndSwap(cutAtRead, 0) {
			c.Close()
			return
		}
		if isCommit && p.cut.CompareAndSwap(cutBeforeCommit, 0) {
			c.Close()
			return
		}
		cutAfter := isCommit && p.cut.CompareAndSwap(cutAfterCommit, 0)
		if cutAfter {
			mute.Store(true) // the server's answer to COMMIT never arrives
		}
		if cutAfter && head[0] == 'B' {
			closeAtSync, cutAfter = true, false // the rest of the pipeline runs it
		}
		if closeAtSync && head[0] == 'S' {
			cutAfter = true
		}
		if _, err := s.Write(append(head[:], body...)); err != nil {
			return
		}
		if cutAfter {
			// Give the server the time to commit, then lose its answer.
			time.Sleep(100 * time.Millisecond)
			c.Close()
			return
		}
	}
}

func withParam(t *testing.T, dsn, key, value string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec(t *testing.T, dsn, sql string) {
	if _, err := connect(t, dsn).Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestReadOnlyConnectionReconnects: a write refused because the server under
// a pooled connection became read-only (SQLSTATE 25006, a demoted primary)
// makes the store drop that connection and run the group again on a new
// one, as after a failover; it neither fails closed nor retries on the same
// connection until it gives up.
func TestReadOnlyConnectionReconnects(t *testing.T) {
	var logs logBuffer
	db := pgtest.Open(t, &pgstore.Options{MaxConns: 2, RetryFor: 10 * time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	put := func(n int64) error {
		return db.Update(func(tx store.Tx) error {
			tx.Put([]byte("k"), store.AppendCounter(nil, n))
			tx.Add([]byte("adds"), 1)
			return nil
		})
	}
	if err := put(1); err != nil {
		t.Fatal(err)
	}
	// Open both pooled connections, so that every connection the decider
	// can get is demoted.
	if err := db.Scan([]byte("k"), nil, func(k, v []byte) bool {
		_, _, err := db.Get([]byte("k"))
		if err != nil {
			t.Error(err)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if err := pgstore.DemoteConnsForTest(db); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := put(2); err != nil {
		t.Fatalf("a write after the connections were demoted: %v\n%s", err, logs.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the write took %s: the store retried on the demoted connection", d)
	}
	if err := db.Err(); err != nil {
		t.Fatalf("the store failed closed: %v", err)
	}
	for _, k := range []string{"k", "adds"} {
		v, _, err := db.Get([]byte(k))
		if n, _ := store.Counter(v); err != nil || n != 2 {
			t.Errorf("%s reads %d (%v), want 2", k, n, err)
		}
	}
}

// TestGroupGathersUnnamedReads: the decisions of one group that give hints
// and read keys the hints did not name have those keys read together, a
// round trip for all the group's first reads, one for the reads those lead
// to, rather than one a key; every decision still sees the group's earlier
// writes (a counter each one reads and rewrites ends at their number), one
// whose reads lead on and on still gets its answer, and one without hints
// never sees a key that is there as absent.
func TestGroupGathersUnnamedReads(t *testing.T) {
	const n = 10
	db := pgtest.Open(t, nil)
	if err := db.Update(func(tx store.Tx) error {
		for i := range n {
			// a/i names b/i, which the decision reads next.
			tx.Put(fmt.Appendf(nil, "a/%d", i), fmt.Appendf(nil, "b/%d", i))
			tx.Put(fmt.Appendf(nil, "b/%d", i), []byte("x"))
		}
		for i := range 8 { // a chain c/0 -> c/1 -> ... -> c/7
			tx.Put(fmt.Appendf(nil, "c/%d", i), fmt.Appendf(nil, "c/%d", i+1))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	count := []byte("count")
	bump := func(tx store.Tx) error {
		v, _, err := tx.Get(count)
		if err != nil {
			return err
		}
		tx.Put(count, bytes.Repeat([]byte("."), len(v)+1)) // the count is the value's length
		return nil
	}
	chained := func(i int) func(tx store.Tx) error {
		return func(tx store.Tx) error {
			next, _, err := tx.Get(fmt.Appendf(nil, "a/%d", i))
			if err != nil {
				return err
			}
			if v, found, err := tx.Get(next); err != nil || !found || string(v) != "x" {
				return fmt.Errorf("read %q: %q, %v, %v", next, v, found, err)
			}
			tx.Put(fmt.Appendf(nil, "out/%d", i), next)
			return bump(tx)
		}
	}
	long := func(tx store.Tx) error { // follows the chain to its end
		k := []byte("c/0")
		for {
			v, found, err := tx.Get(k)
			if err != nil || !found {
				tx.Put([]byte("out/chain"), k)
				return err
			}
			k = v
		}
	}

	strict := func(tx store.Tx) error {
		v, found, err := tx.Get([]byte("a/0"))
		if err != nil || !found {
			return fmt.Errorf("a decision without hints read a/0: %q, %v, %v", v, found, err)
		}
		tx.Put([]byte("out/strict"), v)
		return nil
	}
	hinted := func(fn func(store.Tx) error) error {
		return db.UpdateClaiming(func() (reads, claims [][]byte) { return nil, nil }, fn)
	}

	// One decision holds the lane while the others queue, so that they
	// make one group.
	release := make(chan struct{})
	held := make(chan struct{})
	go db.Update(func(store.Tx) error {
		select {
		case <-held:
		default:
			close(held)
		}
		<-release
		return nil
	})
	<-held
	var wg sync.WaitGroup
	errs := make(chan error, n+3)
	for i := range n {
		wg.Go(func() { errs <- hinted(chained(i)) })
	}
	wg.Go(func() { errs <- hinted(bump) }) // reads the count only
	wg.Go(func() { errs <- hinted(long) })
	wg.Go(func() { errs <- db.Update(strict) })
	for pgstore.QueuedForTest(db, 0) < n+3 {
		time.Sleep(time.Millisecond)
	}
	before := db.RoundTrips()
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if groups := db.Stats().Groups; groups != 3 {
		t.Fatalf("%d groups, want 3: the load, the one that held the lane, the rest together", groups)
	}
	// The decision without hints reads a/0 on its own; the gathered
	// reads: the other a/*, count and c/0, then b/* and c/1, then c/2
	// (the chain's decision, left alone); then, past gatherRounds, it
	// reads key by key (c/3 .. c/8); the writes with COMMIT. Key by key
	// it was 2n+1+9+1.
	if got, want := db.RoundTrips()-before, int64(1+3+6+1); got != want {
		t.Errorf("the group made %d round trips, want %d", got, want)
	}
	v, _, err := db.Get(count)
	if err != nil || len(v) != n+1 {
		t.Errorf("count %q, %v: want %d, each decision seeing the earlier ones' writes", v, err, n+1)
	}
	for i := range n {
		if v, _, _ := db.Get(fmt.Appendf(nil, "out/%d", i)); string(v) != fmt.Sprintf("b/%d", i) {
			t.Errorf("out/%d = %q", i, v)
		}
	}
	if v, _, _ := db.Get([]byte("out/strict")); string(v) != "b/0" {
		t.Errorf("out/strict = %q", v)
	}
	if v, _, _ := db.Get([]byte("out/chain")); string(v) != "c/8" {
		t.Errorf("out/chain = %q, want the chain's end c/8", v)
	}
}
