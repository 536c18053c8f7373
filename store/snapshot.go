package store

import (
	"bytes"

	"github.com/cockroachdb/pebble/v2"
)

// Snapshot is a consistent read view of the store at one moment, for reads
// that span many records while decisions go on (the audit).
type Snapshot struct {
	snap *pebble.Snapshot
}

// Snapshot returns a read view; Close it when done.
func (db *DB) Snapshot() (*Snapshot, error) {
	if err := db.Err(); err != nil {
		return nil, err
	}
	return &Snapshot{snap: db.pdb.NewSnapshot()}, nil
}

// Get returns a copy of the value of key, or ErrNotFound.
func (s *Snapshot) Get(key []byte) ([]byte, error) { return get(s.snap, key) }

// Scan is DB.Scan over the snapshot.
func (s *Snapshot) Scan(prefix, start []byte, fn func(key, value []byte) bool) error {
	it, err := s.snap.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	ok := it.First()
	if start != nil && bytes.Compare(start, prefix) > 0 {
		ok = it.SeekGE(start)
	}
	for ; ok; ok = it.Next() {
		if !fn(it.Key(), it.Value()) {
			break
		}
	}
	return it.Error()
}

// Close releases the snapshot.
func (s *Snapshot) Close() error { return s.snap.Close() }
