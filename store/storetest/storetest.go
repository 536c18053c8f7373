package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/store"
)

// Backend is what the suite needs of a backend.
type Backend struct {
	// Open returns a fresh, empty store. The suite closes it; so may the
	// factory at cleanup (Close is safe to call twice).
	Open func(tb testing.TB) store.DB
	// Disk returns a fresh, empty disk, for a backend whose data outlives
	// its process; nil skips the crash and fault properties.
	Disk func(tb testing.TB) Disk
}

// Disk is where a backend with a file system keeps its data.
type Disk interface {
	// Open opens the store kept on the disk.
	Open(tb testing.TB) store.DB
	// Crash returns a copy of the disk as a power cut at this moment would
	// leave it: what was synced, and perhaps some of what was not. The
	// store open on this disk goes on running.
	Crash(tb testing.TB) Disk
	// Break makes every later write to the disk fail.
	Break()
}

// Property is one promise of the contract, as a check any backend runs.
type Property struct {
	Name  string
	Check func(tb testing.TB, b Backend)
}

// Run checks every property against b, each in its own subtest.
func Run(t *testing.T, b Backend) {
	for _, p := range Properties {
		t.Run(p.Name, func(t *testing.T) { p.Check(t, b) })
	}
}

// Properties are the promises the rules rely on.
var Properties = []Property{
	{"AbsenceIsNotAnError", absence},
	{"ReadsBelongToTheCaller", readsBelong},
	{"ReadYourWrites", readYourWrites},
	{"DecisionsSeeEarlierDecisions", seeEarlier},
	{"ConcurrentDecisionsSerialize", serialize},
	{"SerialDecidesOneAtATime", serial},
	{"RefusedDecisionLeavesNoTrace", refused},
	{"PanickingDecisionLeavesNoTrace", panicking},
	{"DecisionIsAtomic", atomicGroup},
	{"SnapshotIsolates", snapshotIsolates},
	{"ScanInKeyOrder", scanOrder},
	{"ScanReverseInKeyOrder", scanReverse},
	{"AddIsCommutative", add},
	{"ReadsAheadSeeTheGroup", func(tb testing.TB, b Backend) { readAhead(tb, b, false) }},
	{"ClaimsSeeTheGroup", func(tb testing.TB, b Backend) { readAhead(tb, b, true) }},
	{"ClosedStoreRefuses", closed},
	{"AcknowledgedSurvivesCrash", crash},
	{"FailedDiskFailsClosed", fault},
}

func open(tb testing.TB, b Backend) store.DB {
	tb.Helper()
	db := b.Open(tb)
	tb.Cleanup(func() { db.Close() })
	return db
}

func put(tb testing.TB, db store.DB, kv ...string) {
	tb.Helper()
	err := db.Update(func(tx store.Tx) error {
		for i := 0; i+1 < len(kv); i += 2 {
			tx.Put([]byte(kv[i]), []byte(kv[i+1]))
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("Update: %v", err)
	}
}

// getter is what the checks read through: a store, a snapshot or a
// decision's transaction.
type getter interface {
	Get([]byte) ([]byte, bool, error)
}

// get reads key from r, failing tb on an error.
func get(tb testing.TB, r getter, key string) ([]byte, bool) {
	tb.Helper()
	v, found, err := r.Get([]byte(key))
	if err != nil {
		tb.Fatalf("Get %q: %v", key, err)
	}
	return v, found
}

// value reads key from r as "" (empty), "<absent>" or its value.
func value(tb testing.TB, r getter, key string) string {
	tb.Helper()
	v, found := get(tb, r, key)
	if !found {
		if v != nil {
			tb.Errorf("Get %q: absent, yet value %q", key, v)
		}
		return "<absent>"
	}
	return string(v)
}

func absence(tb testing.TB, b Backend) {
	db := open(tb, b)
	if got := value(tb, db, "k"); got != "<absent>" {
		tb.Errorf("a key never written reads %q", got)
	}
	put(tb, db, "empty", "")
	if got := value(tb, db, "empty"); got != "" {
		tb.Errorf("a key written with an empty value reads %q, want an empty value, found", got)
	}
	err := db.Update(func(tx store.Tx) error {
		if got := value(tb, tx, "k"); got != "<absent>" {
			tb.Errorf("in a decision, a key never written reads %q", got)
		}
		if got := value(tb, tx, "empty"); got != "" {
			tb.Errorf("in a decision, an empty value reads %q", got)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// readsBelong changes what Get returned: the store must not change with it.
func readsBelong(tb testing.TB, b Backend) {
	db := open(tb, b)
	put(tb, db, "k", "value")
	for name, r := range StoreAndSnapshot(tb, db) {
		v, _, err := r.Get([]byte("k"))
		if err != nil {
			tb.Fatal(err)
		}
		copy(v, "XXXXX")
		if got := value(tb, r, "k"); got != "value" {
			tb.Errorf("%s: changing the bytes Get returned changed the record to %q", name, got)
		}
	}
}

func readYourWrites(tb testing.TB, b Backend) {
	db := open(tb, b)
	put(tb, db, "gone", "old", "kept", "old")
	err := db.Update(func(tx store.Tx) error {
		tx.Put([]byte("a"), []byte("1"))
		tx.Put([]byte("kept"), []byte("new"))
		tx.Delete([]byte("gone"))
		tx.Put([]byte("b"), []byte("1"))
		tx.Put([]byte("b"), []byte("2"))
		for k, want := range map[string]string{"a": "1", "kept": "new", "gone": "<absent>", "b": "2"} {
			if got := value(tb, tx, k); got != want {
				tb.Errorf("within a decision, %q reads %q after its write, want %q", k, got, want)
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	for k, want := range map[string]string{"a": "1", "kept": "new", "gone": "<absent>", "b": "2"} {
		if got := value(tb, db, k); got != want {
			tb.Errorf("after the decision, %q reads %q, want %q", k, got, want)
		}
	}
}

func seeEarlier(tb testing.TB, b Backend) {
	db := open(tb, b)
	for i := range 20 {
		err := db.Update(func(tx store.Tx) error {
			if got, want := value(tb, tx, "n"), fmt.Sprint(i); i > 0 && got != want {
				tb.Errorf("decision %d reads %q, want %q written by the decision before it", i, got, want)
			}
			tx.Put([]byte("n"), []byte(fmt.Sprint(i+1)))
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// serialize runs read-modify-writes from many goroutines: a decision that
// did not see the one before it loses an increment.
func serialize(tb testing.TB, b Backend) {
	db := open(tb, b)
	const workers, each, keys = 16, 40, 3
	Concurrently(tb, workers, each, func(w, i int) error {
		return db.Update(func(tx store.Tx) error { return Increment(tx, []byte{byte('a' + (w+i)%keys)}) })
	})
	var total int64
	for k := range keys {
		v, _, err := db.Get([]byte{byte('a' + k)})
		if err != nil {
			tb.Fatal(err)
		}
		n, _ := store.Counter(v)
		total += n
	}
	if total != workers*each {
		tb.Errorf("counters sum to %d after %d increments: a read-modify-write was lost", total, workers*each)
	}
}

func refused(tb testing.TB, b Backend) {
	db := open(tb, b)
	put(tb, db, "k", "before")
	no := errors.New("refused")
	err := db.Update(func(tx store.Tx) error {
		tx.Put([]byte("k"), []byte("after"))
		tx.Put([]byte("new"), []byte("x"))
		tx.Delete([]byte("k"))
		tx.Add([]byte("n"), 5)
		return no
	})
	if !errors.Is(err, no) {
		tb.Errorf("Update returned %v, want the decision's own error", err)
	}
	checkUntouched(tb, db, "a refused")
}

func checkUntouched(tb testing.TB, db store.DB, what string) {
	tb.Helper()
	for k, want := range map[string]string{"k": "before", "new": "<absent>", "n": "<absent>"} {
		if got := value(tb, db, k); got != want {
			tb.Errorf("%s decision left a trace: %q reads %q, want %q", what, k, got, want)
		}
	}
	err := db.Update(func(tx store.Tx) error {
		if got := value(tb, tx, "new"); got != "<absent>" {
			tb.Errorf("%s decision's write is visible to the next decision: %q", what, got)
		}
		return nil
	})
	if err != nil {
		tb.Errorf("the store did not go on after %s decision: %v", what, err)
	}
}

func panicking(tb testing.TB, b Backend) {
	db := open(tb, b)
	put(tb, db, "k", "before")
	err := db.Update(func(tx store.Tx) error {
		tx.Put([]byte("new"), []byte("x"))
		tx.Add([]byte("n"), 5)
		tx.Put([]byte("k"), []byte("after"))
		panic("boom")
	})
	if !errors.Is(err, store.ErrDecisionPanicked) {
		tb.Errorf("Update of a panicking decision returned %v, want ErrDecisionPanicked", err)
	}
	checkUntouched(tb, db, "a panicking")
}

// atomicGroup has decisions rewrite a set of keys to one generation while
// snapshots read them: a snapshot that sees two generations saw a
// decision by halves.
func atomicGroup(tb testing.TB, b Backend) {
	db := open(tb, b)
	const keys, gens = 16, 60
	write := func(gen int) error {
		return db.Update(func(tx store.Tx) error {
			for k := range keys {
				tx.Put(fmt.Appendf(nil, "g/%02d", k), fmt.Append(nil, gen))
			}
			return nil
		})
	}
	if err := write(0); err != nil {
		tb.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			snap, err := db.Snapshot()
			if err != nil {
				tb.Error(err)
				return
			}
			seen := map[string]int{}
			err = snap.Scan([]byte("g/"), nil, func(_, v []byte) bool {
				seen[string(v)]++
				return true
			})
			snap.Close()
			if err != nil {
				tb.Error(err)
				return
			}
			if len(seen) != 1 {
				tb.Errorf("a snapshot saw a decision by halves: generations %v", seen)
				return
			}
			for _, n := range seen {
				if n != keys {
					tb.Errorf("a snapshot saw %d of %d keys of a generation", n, keys)
					return
				}
			}
		}
	})
	for gen := 1; gen <= gens; gen++ {
		if err := write(gen); err != nil {
			tb.Error(err)
			break
		}
	}
	stop.Store(true)
	wg.Wait()
}

func snapshotIsolates(tb testing.TB, b Backend) {
	db := open(tb, b)
	put(tb, db, "s/a", "1", "s/b", "1")
	snap, err := db.Snapshot()
	if err != nil {
		tb.Fatal(err)
	}
	defer snap.Close()
	put(tb, db, "s/a", "2", "s/c", "2")
	if err := db.Update(func(tx store.Tx) error { tx.Delete([]byte("s/b")); return nil }); err != nil {
		tb.Fatal(err)
	}
	for k, want := range map[string]string{"s/a": "1", "s/b": "1", "s/c": "<absent>"} {
		if got := value(tb, snap, k); got != want {
			tb.Errorf("snapshot reads %q = %q after later decisions, want %q as when it was taken", k, got, want)
		}
	}
	if got := keysOf(tb, snap, "s/", nil); !slices.Equal(got, []string{"s/a", "s/b"}) {
		tb.Errorf("snapshot scan sees %v, want [s/a s/b]", got)
	}
	if got := value(tb, db, "s/a"); got != "2" {
		tb.Errorf("the store reads %q = %q, want the later decision's 2", "s/a", got)
	}
	fresh, err := db.Snapshot()
	if err != nil {
		tb.Fatal(err)
	}
	defer fresh.Close()
	if got := keysOf(tb, fresh, "s/", nil); !slices.Equal(got, []string{"s/a", "s/c"}) {
		tb.Errorf("a snapshot taken after the decisions sees %v, want [s/a s/c]", got)
	}
}

func keysOf(tb testing.TB, r store.Reader, prefix string, start []byte) []string {
	tb.Helper()
	var out []string
	err := r.Scan([]byte(prefix), start, func(k, _ []byte) bool {
		out = append(out, string(k))
		return true
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func reverseKeysOf(tb testing.TB, r store.Reader, prefix string) []string {
	tb.Helper()
	var out []string
	err := r.ScanReverse([]byte(prefix), func(k, _ []byte) bool {
		out = append(out, string(k))
		return true
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// scanKeys are written out of order, around and under the prefix "p/".
var scanKeys = []string{"p/m", "p/b", "o", "p/\xff", "p/a", "p0", "p/", "p/z", "p/aa", "q", "p/c\x00d", "p/c"}

func writeScanKeys(tb testing.TB, db store.DB) {
	tb.Helper()
	err := db.Update(func(tx store.Tx) error {
		for _, k := range scanKeys {
			tx.Put([]byte(k), []byte("v:"+k))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func underP() []string {
	var want []string
	for _, k := range scanKeys {
		if len(k) >= 2 && k[:2] == "p/" {
			want = append(want, k)
		}
	}
	slices.Sort(want)
	return want
}

func scanOrder(tb testing.TB, b Backend) {
	db := open(tb, b)
	writeScanKeys(tb, db)
	want := underP()
	for name, r := range StoreAndSnapshot(tb, db) {
		if got := keysOf(tb, r, "p/", nil); !slices.Equal(got, want) {
			tb.Errorf("%s: Scan(p/) = %q, want %q", name, got, want)
		}
		if got := keysOf(tb, r, "p/", []byte("p/b")); !slices.Equal(got, want[slices.Index(want, "p/b"):]) {
			tb.Errorf("%s: Scan(p/, from p/b) = %q, want %q", name, got, want[slices.Index(want, "p/b"):])
		}
		if got := keysOf(tb, r, "p/", []byte("a")); !slices.Equal(got, want) {
			tb.Errorf("%s: Scan(p/, from a key before the prefix) = %q, want %q", name, got, want)
		}
		if got := keysOf(tb, r, "p/", []byte("p/\xff\x00")); len(got) != 0 {
			tb.Errorf("%s: Scan(p/, from past the last key) = %q, want nothing", name, got)
		}
		var first []string
		err := r.Scan([]byte("p/"), nil, func(k, v []byte) bool {
			if string(v) != "v:"+string(k) {
				tb.Errorf("%s: Scan hands %q the value %q", name, k, v)
			}
			first = append(first, string(k))
			return len(first) < 2
		})
		if err != nil || len(first) != 2 {
			tb.Errorf("%s: a scan told to stop after 2 keys gave %q, %v", name, first, err)
		}
		if got := keysOf(tb, r, "", nil); len(got) != len(scanKeys) || !slices.IsSorted(got) {
			tb.Errorf("%s: Scan of every key = %q, want all %d in order", name, got, len(scanKeys))
		}
	}
}

func scanReverse(tb testing.TB, b Backend) {
	db := open(tb, b)
	writeScanKeys(tb, db)
	want := underP()
	slices.Reverse(want)
	for name, r := range StoreAndSnapshot(tb, db) {
		if got := reverseKeysOf(tb, r, "p/"); !slices.Equal(got, want) {
			tb.Errorf("%s: ScanReverse(p/) = %q, want %q", name, got, want)
		}
		var n int
		if err := r.ScanReverse([]byte("p/"), func(_, _ []byte) bool { n++; return false }); err != nil || n != 1 {
			tb.Errorf("%s: a reverse scan told to stop ran %d times, %v", name, n, err)
		}
		if got := reverseKeysOf(tb, r, "nothing/"); len(got) != 0 {
			tb.Errorf("%s: ScanReverse of an empty prefix = %q", name, got)
		}
	}
}

// counter reads the counter at key from r (0 when absent).
func counter(tb testing.TB, r getter, key string) int64 {
	tb.Helper()
	v, found := get(tb, r, key)
	if !found {
		return 0
	}
	n, ok := store.Counter(v)
	if !ok {
		tb.Fatalf("counter %q has a %d-byte value", key, len(v))
	}
	return n
}

func add(tb testing.TB, b Backend) {
	db := open(tb, b)
	err := db.Update(func(tx store.Tx) error {
		tx.Add([]byte("c"), 5)
		tx.Add([]byte("c"), -2)
		if got := counter(tb, tx, "c"); got != 3 {
			tb.Errorf("within a decision, a counter reads %d after adding 5 and -2 to nothing, want 3", got)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	const workers, each = 8, 50
	Concurrently(tb, workers, each, func(w, _ int) error {
		return db.Update(func(tx store.Tx) error { tx.Add([]byte("c"), int64(w+1)); return nil })
	})
	want := int64(3 + each*workers*(workers+1)/2)
	if got := counter(tb, db, "c"); got != want {
		tb.Errorf("counter = %d after concurrent adds, want %d", got, want)
	}
	err = db.Update(func(tx store.Tx) error {
		tx.Put([]byte("text"), []byte("not a counter"))
		tx.Add([]byte("text"), 1)
		return nil
	})
	if !errors.Is(err, store.ErrDecisionPanicked) {
		tb.Errorf("Add to a value that is no counter: %v, want ErrDecisionPanicked", err)
	}
	if got := value(tb, db, "text"); got != "<absent>" {
		tb.Errorf("a decision whose Add failed left %q behind", got)
	}
}

// readAhead has decisions name the keys they will read
// (store.UpdateReading) and queue up behind one that holds the store, so
// that a backend reading keys ahead reads those of many decisions at once,
// before any of them ran. Each must still see what the decisions before it
// left: a read-modify-write, a put where it reads absence, a delete where
// it reads a value, a put or delete that flips a key each time, a read of
// a counter others added to blindly; and nothing of a refused decision.
// With claims, the keys no decision deletes are named as claims
// (store.UpdateClaiming), one of them never written: it stays absent, and
// what every decision sees is unchanged.
func readAhead(tb testing.TB, b Backend, claims bool) {
	db := open(tb, b)
	put(tb, db, "gone", "x")
	const decisions = 24
	refusedAt := func(i int) bool { return i%6 == 5 }
	no := errors.New("refused")
	keys := func() [][]byte {
		// Repeated and never-read keys are only hints, never errors.
		return [][]byte{[]byte("n"), []byte("once"), []byte("gone"), []byte("flip"), []byte("c"), []byte("n"), []byte("unread")}
	}
	var claimed func() [][]byte
	if claims {
		claimed = func() [][]byte {
			return [][]byte{[]byte("n"), []byte("once"), []byte("c"), []byte("once-writes"), []byte("never")}
		}
	}
	var hold sync.WaitGroup
	hold.Add(1)
	held := make(chan struct{})
	var heldOnce sync.Once
	go func() {
		// Decisions are submitted while this one runs: a backend that
		// groups them reads their keys ahead together.
		err := db.Update(func(tx store.Tx) error {
			heldOnce.Do(func() { close(held) })
			hold.Wait()
			return nil
		})
		if err != nil {
			tb.Error(err)
		}
	}()
	<-held
	var wg sync.WaitGroup
	for i := range decisions {
		wg.Go(func() {
			hints := func() (reads, claims [][]byte) {
				if claimed == nil {
					return keys(), nil
				}
				return keys(), claimed()
			}
			err := store.UpdateClaiming(db, hints, func(tx store.Tx) error {
				var got [5]int64
				var found [5]bool
				for k, key := range []string{"n", "once", "gone", "flip", "c"} {
					var err error
					if got[k], found[k], err = countOf(tx, key); err != nil {
						return err
					}
				}
				tx.Put([]byte("n"), store.AppendCounter(nil, got[0]+1))
				if !found[1] {
					tx.Put([]byte("once"), fmt.Append(nil, i))
					tx.Add([]byte("once-writes"), 1)
				}
				if found[2] {
					tx.Delete([]byte("gone"))
					tx.Add([]byte("deletes"), 1)
				}
				if found[3] {
					tx.Delete([]byte("flip"))
				} else {
					tx.Put([]byte("flip"), []byte("on"))
				}
				if i%2 == 0 {
					tx.Add([]byte("c"), 1)
				} else {
					tx.Put([]byte("c"), store.AppendCounter(nil, got[4]+1))
				}
				if refusedAt(i) {
					return no
				}
				return nil
			})
			if err != nil && !(refusedAt(i) && errors.Is(err, no)) {
				tb.Errorf("decision %d: %v", i, err)
			}
		})
	}
	time.Sleep(50 * time.Millisecond) // let the decisions queue
	hold.Done()
	wg.Wait()
	var made int64
	for i := range decisions {
		if !refusedAt(i) {
			made++
		}
	}
	for _, c := range []struct {
		key  string
		want int64
	}{{"n", made}, {"c", made}, {"once-writes", 1}, {"deletes", 1}} {
		if got := counter(tb, db, c.key); got != c.want {
			tb.Errorf("%q reads %d after %d decisions that read it ahead, want %d: a read ahead missed an earlier decision's write or saw a refused one's", c.key, got, made, c.want)
		}
	}
	wantFlip := map[bool]string{true: "on", false: "<absent>"}[made%2 == 1]
	if got := value(tb, db, "flip"); got != wantFlip {
		tb.Errorf("%q reads %q after %d decisions each flipped it, want %q", "flip", got, made, wantFlip)
	}
	if got := value(tb, db, "gone"); got != "<absent>" {
		tb.Errorf("%q reads %q after a decision deleted it", "gone", got)
	}
	want := []string{"c", "deletes", "n", "once", "once-writes"}
	if made%2 == 1 {
		want = []string{"c", "deletes", "flip", "n", "once", "once-writes"}
	}
	if got := keysOf(tb, db, "", nil); !slices.Equal(got, want) {
		tb.Errorf("the store holds %q, want %q: a key named but never written is there", got, want)
	}
}

// countOf reads key inside a decision: whether it is there and, for a
// counter, its count.
func countOf(tx store.Tx, key string) (n int64, found bool, err error) {
	v, found, err := tx.Get([]byte(key))
	if found {
		n, _ = store.Counter(v)
	}
	return n, found, err
}

func closed(tb testing.TB, b Backend) {
	db := b.Open(tb)
	put(tb, db, "k", "v")
	if err := db.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
	if err := db.Update(func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		tb.Errorf("Update after Close: %v, want ErrClosed", err)
	}
	if _, _, err := db.Get([]byte("k")); !errors.Is(err, store.ErrClosed) {
		tb.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if _, err := db.Snapshot(); !errors.Is(err, store.ErrClosed) {
		tb.Errorf("Snapshot after Close: %v, want ErrClosed", err)
	}
	if err := db.Close(); err != nil {
		tb.Errorf("a second Close: %v", err)
	}
}

// crash runs decisions from many goroutines, each writing a pair of keys
// and adding to a counter, and copies the disk as a power cut would leave
// it while they run. On the copy every decision acknowledged before the
// cut is there, and each decision is there whole or not at all.
func crash(tb testing.TB, b Backend) {
	if b.Disk == nil {
		tb.Skip("the backend keeps no data on a disk")
	}
	disk := b.Disk(tb)
	db := disk.Open(tb)
	const workers, each = 8, 40
	var (
		mu    sync.Mutex
		acked []int
		cut   Disk
		done  atomic.Int32
	)
	Concurrently(tb, workers, each, func(w, i int) error {
		id := w*each + i
		err := db.Update(func(tx store.Tx) error {
			tx.Put(fmt.Appendf(nil, "a/%05d", id), []byte("x"))
			tx.Put(fmt.Appendf(nil, "b/%05d", id), []byte("x"))
			tx.Add([]byte("n"), 1)
			return nil
		})
		if err != nil {
			return err
		}
		mu.Lock()
		if cut == nil {
			acked = append(acked, id)
			if done.Add(1) == workers*each/2 {
				cut = disk.Crash(tb)
			}
		}
		mu.Unlock()
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if cut == nil {
		tb.Fatal("no crash was taken")
	}
	db.Close()
	rdb := cut.Open(tb)
	defer rdb.Close()
	as := keysOf(tb, rdb, "a/", nil)
	bs := keysOf(tb, rdb, "b/", nil)
	for _, id := range acked {
		if _, ok := slices.BinarySearch(as, fmt.Sprintf("a/%05d", id)); !ok {
			tb.Errorf("decision %d was acknowledged before the crash and is lost", id)
			break
		}
	}
	if len(as) != len(bs) {
		tb.Errorf("after the crash %d decisions wrote a/ and %d wrote b/: a decision survived by halves", len(as), len(bs))
	}
	if n := counter(tb, rdb, "n"); n != int64(len(as)) {
		tb.Errorf("after the crash the counter reads %d and %d decisions survived", n, len(as))
	}
}

// fault breaks the disk under a running store: no decision after that is
// acknowledged, the store says it is unavailable, and what it acknowledged
// before is on the disk.
func fault(tb testing.TB, b Backend) {
	if b.Disk == nil {
		tb.Skip("the backend keeps no data on a disk")
	}
	disk := b.Disk(tb)
	db := disk.Open(tb)
	defer db.Close()
	put(tb, db, "before", "x")
	disk.Break()
	for i := range 5 {
		err := db.Update(func(tx store.Tx) error {
			tx.Put(fmt.Appendf(nil, "after/%d", i), []byte("x"))
			return nil
		})
		if err == nil {
			tb.Errorf("decision %d was acknowledged on a broken disk", i)
		} else if !errors.Is(err, store.ErrUnavailable) {
			tb.Errorf("decision %d on a broken disk: %v, want ErrUnavailable", i, err)
		}
	}
	if err := db.Update(func(store.Tx) error { return nil }); !errors.Is(err, store.ErrUnavailable) {
		tb.Errorf("a store whose disk failed still decides: %v, want ErrUnavailable", err)
	}
	db.Close()
	rdb := disk.Crash(tb).Open(tb)
	defer rdb.Close()
	if got := value(tb, rdb, "before"); got != "x" {
		tb.Errorf("a write acknowledged before the disk broke reads %q after reopening", got)
	}
}

// Concurrently runs workers goroutines that each call do(w, 0) to
// do(w, each-1) in turn, w being the worker's number, and returns when all
// are done. A worker stops at its first error, which fails tb.
func Concurrently(tb testing.TB, workers, each int, do func(w, i int) error) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := do(w, i); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// Increment adds one to the counter at key by reading it and writing it
// back (store.AppendCounter): a decision that did not see the one before
// it loses an increment.
func Increment(tx store.Tx, key []byte) error {
	v, found, err := tx.Get(key)
	if err != nil {
		return err
	}
	var n int64
	if found {
		n, _ = store.Counter(v)
	}
	tx.Put(key, store.AppendCounter(nil, n+1))
	return nil
}

// StoreAndSnapshot names db and a snapshot of it: the two readers that a
// property of reads holds for alike. The snapshot is closed at the end of
// tb.
func StoreAndSnapshot(tb testing.TB, db store.DB) map[string]store.Reader {
	tb.Helper()
	snap, err := db.Snapshot()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { snap.Close() })
	return map[string]store.Reader{"store": db, "snapshot": snap}
}
