package pebblestore

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/yima-dev/yima/store"
)

// Snapshot is a consistent read view of the store at one moment, for reads
// that span many records while decisions go on (the audit).
type Snapshot struct {
	snap *pebble.Snapshot
}

// Snapshot returns a read view; Close it when done.
func (db *DB) Snapshot() (store.Snapshot, error) {
	if err := db.Err(); err != nil {
		return nil, err
	}
	return &Snapshot{snap: db.pdb.NewSnapshot()}, nil
}

// Get returns a copy of the value of key; found is false when it has none.
func (s *Snapshot) Get(key []byte) ([]byte, bool, error) { return get(s.snap, key) }

// Scan is DB.Scan over the snapshot.
func (s *Snapshot) Scan(prefix, start []byte, fn func(key, value []byte) bool) error {
	return scan(s.snap, prefix, start, fn)
}

// ScanReverse is DB.ScanReverse over the snapshot.
func (s *Snapshot) ScanReverse(prefix []byte, fn func(key, value []byte) bool) error {
	return scanReverse(s.snap, prefix, fn)
}

// Close releases the snapshot.
func (s *Snapshot) Close() error { return s.snap.Close() }

// Checkpoint writes a consistent copy of the store into dir, which must not
// exist, while the store keeps serving: every write acknowledged before the
// call is in it, and no decision is in it by halves. Files are hard-linked
// where the file system allows, so a checkpoint on the same disk is quick
// and small until the store moves on.
func (db *DB) Checkpoint(dir string) error {
	if err := db.Err(); err != nil {
		return err
	}
	if err := db.pdb.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("store: checkpoint into %s: %w", dir, err)
	}
	return nil
}
