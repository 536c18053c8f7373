package pebblestore

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// A key a decision writes more than once goes into the group's batch once,
// with its last value or its deletion: a memtable insert for each write
// would be read never. Both ways of finding repeats (a few writes compared,
// many looked up) are run.
func TestFlushWritesEachKeyOnce(t *testing.T) {
	pdb, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	for _, filler := range []int{0, 40} {
		t.Run(fmt.Sprint(filler, " other keys"), func(t *testing.T) {
			b := pdb.NewIndexedBatch()
			defer b.Close()
			tx := &Tx{db: pdb, hot: newHotCache(1 << 10)}
			tx.reset(b)
			tx.Put([]byte("head"), []byte("1"))
			tx.Put([]byte("gone"), []byte("x"))
			for i := range filler {
				tx.Put(fmt.Appendf(nil, "k%02d", i), []byte("v"))
			}
			tx.Put([]byte("head"), []byte("2"))
			tx.Delete([]byte("gone"))
			tx.Delete([]byte("back"))
			tx.Put([]byte("back"), []byte("3"))
			if err := tx.flush(); err != nil {
				t.Fatal(err)
			}
			if got, want := int(b.Count()), 3+filler; got != want {
				t.Errorf("the batch holds %d writes, want %d", got, want)
			}
			want := map[string]string{"head": "2", "gone": "", "back": "3"}
			for k, v := range want {
				got, closer, err := b.Get([]byte(k))
				if v == "" {
					if err != pebble.ErrNotFound {
						t.Errorf("%s: %q, %v; want deleted", k, got, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v; want %q", k, err, v)
					continue
				}
				if string(got) != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
				closer.Close()
				if hv, _ := tx.hot.get([]byte(k)); string(hv) != v {
					t.Errorf("%s in the decider's cache: %q, want %q", k, hv, v)
				}
			}
		})
	}
}

// The decider's cache keeps the records decisions read, with their later
// writes, and forgets the group's other writes once the group is applied:
// a record written once and never read (a redemption, a ledger entry, an
// event) must not fill it. Every read still sees the last write, from the
// cache or the database.
func TestHotCacheKeepsWhatIsRead(t *testing.T) {
	pdb, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	tx := &Tx{db: pdb, hot: newHotCache(1 << 10)}
	group := func(fn func()) {
		t.Helper()
		tx.hot.trim()
		b := pdb.NewBatch()
		tx.reset(b)
		fn()
		if err := tx.flush(); err != nil {
			t.Fatal(err)
		}
		if err := pdb.Apply(b, pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		b.Close()
	}
	get := func(k string) string {
		t.Helper()
		v, ok, err := tx.Get([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return "(absent)"
		}
		return string(v)
	}
	group(func() {
		if got := get("member"); got != "(absent)" {
			t.Errorf("member before any write: %s", got)
		}
		tx.Put([]byte("member"), []byte("m1"))
		tx.Put([]byte("entry"), []byte("e1"))
	})
	// A later decision of the same group reads the group's writes.
	tx.reset(nil)
	if got := get("entry"); got != "e1" {
		t.Errorf("entry within its group: %s, want e1", got)
	}
	group(func() {
		tx.Put([]byte("member"), []byte("m2"))
		tx.Put([]byte("event"), []byte("v1"))
	})
	tx.hot.trim()
	if _, ok := tx.hot.get([]byte("member")); !ok {
		t.Error("the member, read before, is no longer cached")
	}
	for _, k := range []string{"entry", "event"} {
		if v, ok := tx.hot.get([]byte(k)); ok {
			t.Errorf("%s, written and never read, is still cached (%q) after its group", k, v)
		}
	}
	tx.reset(nil)
	for _, kv := range [][2]string{{"member", "m2"}, {"entry", "e1"}, {"event", "v1"}} {
		if got := get(kv[0]); got != kv[1] {
			t.Errorf("%s after its group: %s, want %s", kv[0], got, kv[1])
		}
	}
}

// Caching a decision's writes allocates nothing, neither for a record
// read before nor for one the group writes first.
func TestHotCacheWritesDoNotAllocate(t *testing.T) {
	h := newHotCache(1 << 10)
	h.loaded([]byte("member"), []byte("m0"))
	k, v := []byte("member"), []byte("m1")
	fresh := make([][]byte, 200)
	for i := range fresh {
		fresh[i] = fmt.Appendf(nil, "entry-%03d", i)
	}
	h.written = make(map[string][]byte, len(fresh))
	if n := testing.AllocsPerRun(100, func() {
		h.wrote(k, v)
		for _, f := range fresh {
			h.wrote(f, v)
		}
		if _, ok := h.get(fresh[0]); !ok {
			t.Fatal("a write of the group is not cached")
		}
		clear(h.written)
	}); n != 0 {
		t.Errorf("%v allocations caching a decision's writes, want 0", n)
	}
}
