package pebblestore_test

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"

	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pebblestore"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
)

// MustOpen opens a store on an in-memory file system, closed at cleanup.
func MustOpen(tb testing.TB) *pebblestore.DB { return pebbletest.Open(tb, nil) }

func counter(tx store.Tx, key string) uint64 {
	v, found, err := tx.Get([]byte(key))
	if err != nil || !found {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// incrementAll runs workers×each read-modify-writes at once, each adding
// one to the counter that key names for worker w's i-th write, and returns
// the sum of keys' counters afterwards.
func incrementAll(t *testing.T, db *pebblestore.DB, workers, each int, key func(w, i int) string, keys []string) uint64 {
	t.Helper()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := 0; i < each; i++ {
				k := key(w, i)
				if err := db.Update(func(tx store.Tx) error {
					tx.Put([]byte(k), binary.BigEndian.AppendUint64(nil, counter(tx, k)+1))
					return nil
				}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	var total uint64
	for _, k := range keys {
		v, _, err := db.Get([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		total += binary.BigEndian.Uint64(v)
	}
	return total
}

func TestUpdateSerializesConflictingDecisions(t *testing.T) {
	db := MustOpen(t)
	const workers, each = 32, 50
	got := incrementAll(t, db, workers, each, func(int, int) string { return "n" }, []string{"n"})
	if got != workers*each {
		t.Fatalf("counter = %d after %d increments: a read-modify-write was lost", got, workers*each)
	}
}

// A refused and a panicking decision leave no trace, and the store goes
// on: the conformance suite's "refused" and "panicking" cases, run on this
// engine by TestConformance, check each with puts, deletes and adds.

func TestReadYourWritesWithinAGroup(t *testing.T) {
	db := MustOpen(t)
	err := db.Update(func(tx store.Tx) error {
		tx.Put([]byte("a"), []byte("1"))
		v, found, err := tx.Get([]byte("a"))
		if err != nil || !found || string(v) != "1" {
			t.Errorf("Get after Put in one decision = %q, %v, %v", v, found, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCloseIsCleanAndFinal(t *testing.T) {
	db := pebbletest.Open(t, nil)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Update after Close: %v, want ErrClosed", err)
	}
}

// TestTinyCacheNeverServesStaleReads runs conflicting read-modify-writes
// with a cache that is trimmed after every group: a read that missed a
// write of its own group, or of an earlier one, would lose an increment.
func TestTinyCacheNeverServesStaleReads(t *testing.T) {
	db := pebbletest.Open(t, &pebblestore.Options{HotRecords: 1})
	const workers, each, keys = 16, 100, 4
	key := func(w, i int) string { return string(rune('a' + (w+i)%keys)) }
	total := incrementAll(t, db, workers, each, key, []string{"a", "b", "c", "d"})
	if total != workers*each {
		t.Fatalf("counters sum to %d after %d increments: a stale read lost some", total, workers*each)
	}
}
