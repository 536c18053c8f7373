package store_test

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/yima-dev/yima/store"
)

// MustOpen opens a store on an in-memory file system, closed at cleanup.
func MustOpen(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open("db", &store.Options{FS: vfs.NewMem()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func counter(tx *store.Tx, key string) uint64 {
	v, err := tx.Get([]byte(key))
	if err != nil {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func TestUpdateSerializesConflictingDecisions(t *testing.T) {
	db := MustOpen(t)
	const workers, each = 32, 50
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				err := db.Update(func(tx *store.Tx) error {
					n := counter(tx, "n")
					tx.Put([]byte("n"), binary.BigEndian.AppendUint64(nil, n+1))
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	v, err := db.Get([]byte("n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint64(v); got != workers*each {
		t.Fatalf("counter = %d after %d increments: a read-modify-write was lost", got, workers*each)
	}
}

func TestRefusedDecisionWritesNothing(t *testing.T) {
	db := MustOpen(t)
	refused := errors.New("refused")
	err := db.Update(func(tx *store.Tx) error {
		tx.Put([]byte("k"), []byte("v"))
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("Update returned %v, want the decision's error", err)
	}
	if _, err := db.Get([]byte("k")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused decision's write is visible: %v", err)
	}
}

func TestPanickingDecisionIsAnError(t *testing.T) {
	db := MustOpen(t)
	err := db.Update(func(tx *store.Tx) error {
		tx.Put([]byte("k"), []byte("v"))
		panic("boom")
	})
	if !errors.Is(err, store.ErrDecisionPanicked) {
		t.Fatalf("Update returned %v, want ErrDecisionPanicked", err)
	}
	if err := db.Update(func(tx *store.Tx) error { return nil }); err != nil {
		t.Fatalf("decider did not survive a panic: %v", err)
	}
	if _, err := db.Get([]byte("k")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a panicking decision's write is visible: %v", err)
	}
}

func TestReadYourWritesWithinAGroup(t *testing.T) {
	db := MustOpen(t)
	err := db.Update(func(tx *store.Tx) error {
		tx.Put([]byte("a"), []byte("1"))
		v, err := tx.Get([]byte("a"))
		if err != nil || string(v) != "1" {
			t.Errorf("Get after Put in one decision = %q, %v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBatchRanges(t *testing.T) {
	b := &store.Batch{ID: 1, Count: 100}
	if b.State(5) != store.Inactive {
		t.Fatal("a new batch is not inactive")
	}
	b.SetRange(1, 50, store.Active)
	b.SetRange(40, 45, store.Revoked)
	b.SetRange(41, 60, store.Active)
	for serial, want := range map[uint32]store.RangeState{1: store.Active, 39: store.Active, 42: store.Revoked, 46: store.Active, 60: store.Active, 61: store.Inactive} {
		if got := b.State(serial); got != want {
			t.Errorf("serial %d is %s, want %s", serial, got, want)
		}
	}
	if a, r := b.Counts(); a != 54 || r != 6 {
		t.Errorf("Counts = %d active %d revoked, want 54 and 6", a, r)
	}
	if err := b.SetRange(90, 101, store.Active); !errors.Is(err, store.ErrRange) {
		t.Errorf("range past the batch: %v, want ErrRange", err)
	}
}

// TestPalletByPalletActivationStaysOneRange: shipments activated in turn
// for one region extend one range; another region or a revocation between
// them starts a new one, and every serial keeps its state and region.
func TestPalletByPalletActivationStaysOneRange(t *testing.T) {
	b := &store.Batch{ID: 1, Count: 100_000}
	for from := uint32(1); from <= 50_000; from += 1000 {
		if err := b.AddRange(store.Range{From: from, To: from + 999, State: store.Active, Region: "east"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.Ranges) != 1 || b.Ranges[0] != (store.Range{From: 1, To: 50_000, State: store.Active, Region: "east"}) {
		t.Fatalf("50 pallets for the east: %+v", b.Ranges)
	}
	b.AddRange(store.Range{From: 50_001, To: 51_000, State: store.Active, Region: "west"})
	b.AddRange(store.Range{From: 100, To: 200, State: store.Revoked})
	b.AddRange(store.Range{From: 51_001, To: 52_000, State: store.Active, Region: "west"})
	if len(b.Ranges) != 4 {
		t.Fatalf("ranges after another region and a revocation: %+v", b.Ranges)
	}
	for serial, want := range map[uint32]string{1: "active east", 150: "revoked east", 50_500: "active west", 51_500: "active west", 52_001: "inactive "} {
		if got := string(b.State(serial)) + " " + b.RegionOf(serial); got != want {
			t.Errorf("serial %d: %s, want %s", serial, got, want)
		}
	}
}

// TestRangeRegions: a pallet activated for a region is meant to be sold
// there, whatever the batch says; the latest activation naming a region
// wins, and serials no such activation covers keep the batch's region.
func TestRangeRegions(t *testing.T) {
	b := &store.Batch{ID: 1, Count: 100, Region: "east"}
	for _, r := range []store.Range{
		{From: 1, To: 50, State: store.Active, Region: "north"},
		{From: 41, To: 60, State: store.Active},
		{From: 45, To: 47, State: store.Active, Region: "south"},
	} {
		if err := b.AddRange(r); err != nil {
			t.Fatal(err)
		}
	}
	for serial, want := range map[uint32]string{1: "north", 44: "north", 46: "south", 55: "east", 99: "east"} {
		if got := b.RegionOf(serial); got != want {
			t.Errorf("serial %d is meant for %q, want %q", serial, got, want)
		}
	}
	if err := b.AddRange(store.Range{From: 1, To: 2, State: store.Revoked, Region: "west"}); err == nil {
		t.Error("a revocation with a region was accepted")
	}
}

func TestCloseIsCleanAndFinal(t *testing.T) {
	db, err := store.Open("db", &store.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(*store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Update after Close: %v, want ErrClosed", err)
	}
}

// TestTinyCacheNeverServesStaleReads runs conflicting read-modify-writes
// with a cache that is trimmed after every group: a read that missed a
// write of its own group, or of an earlier one, would lose an increment.
func TestTinyCacheNeverServesStaleReads(t *testing.T) {
	db, err := store.Open("db", &store.Options{FS: vfs.NewMem(), HotRecords: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const workers, each, keys = 16, 100, 4
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				k := string(rune('a' + (w+i)%keys))
				if err := db.Update(func(tx *store.Tx) error {
					tx.Put([]byte(k), binary.BigEndian.AppendUint64(nil, counter(tx, k)+1))
					return nil
				}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	var total uint64
	for k := 0; k < keys; k++ {
		v, err := db.Get([]byte{byte('a' + k)})
		if err != nil {
			t.Fatal(err)
		}
		total += binary.BigEndian.Uint64(v)
	}
	if total != workers*each {
		t.Fatalf("counters sum to %d after %d increments: a stale read lost some", total, workers*each)
	}
}
