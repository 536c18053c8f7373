package pebblestore_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pebblestore"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
)

// TestCorruptFileIsAnErrorNotAnExit: a record whose sstable fails its
// checksum makes the reads and decisions that need it fail with
// store.ErrCorrupt; the store does not fail closed (a restart would not
// mend the file) and keeps deciding what does not need it.
func TestCorruptFileIsAnErrorNotAnExit(t *testing.T) {
	db, dir := pebbletest.OpenTemp(t)
	val := make([]byte, 100)
	for i := range 200 {
		if err := db.Update(func(tx store.Tx) error {
			tx.Put(fmt.Appendf(nil, "k%03d", i), val)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	// The next open replays the WAL into an sstable.
	pebbletest.OpenDir(t, dir, nil).Close()
	pebbletest.Corrupt(t, dir)

	var failed atomic.Bool
	db = pebbletest.OpenDir(t, dir, &pebblestore.Options{OnFail: func(error) { failed.Store(true) }})
	if _, _, err := db.Get([]byte("k000")); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Get of a corrupt record: %v, want ErrCorrupt", err)
	}
	if err := db.Scan([]byte("k"), nil, func(_, _ []byte) bool { return true }); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Scan over a corrupt file: %v, want ErrCorrupt", err)
	}
	snap, err := db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Scan([]byte("k"), nil, func(_, _ []byte) bool { return true }); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("snapshot Scan over a corrupt file: %v, want ErrCorrupt", err)
	}
	snap.Close()
	err = db.Update(func(tx store.Tx) error {
		v, _, err := tx.Get([]byte("k001"))
		if err != nil {
			return nil // a decision that swallows the error still fails
		}
		tx.Put([]byte("copy"), v)
		return nil
	})
	if !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("decision reading a corrupt record: %v, want ErrCorrupt", err)
	}
	if _, found, err := db.Get([]byte("copy")); found || err != nil {
		t.Errorf("the failed decision wrote (found %v, %v)", found, err)
	}
	if err := db.Update(func(tx store.Tx) error { tx.Put([]byte("z"), []byte("1")); return nil }); err != nil {
		t.Errorf("a decision that reads nothing corrupt: %v", err)
	}
	if err := db.Err(); err != nil || failed.Load() {
		t.Fatalf("the store failed closed on corruption (Err %v, OnFail called %v): the server would exit", err, failed.Load())
	}
}
