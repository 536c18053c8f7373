package pebblestore

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/yima-dev/yima/store"
)

// The engine bulk-loads through Pebble's sstable ingestion: each run of
// records is written into sstables of its own (sstable.Writer over a file
// of the store's file system), and Ingest hands every file to Pebble, which
// links them into the LSM at the lowest level they do not overlap, without
// the WAL or the memtable. A store of millions of redeemed codes is built in
// the time it takes to write its files once.

var _ store.Loader = (*Loader)(nil)

// loadFileSize is where a run starts a new file.
const loadFileSize = 64 << 20

// ingestDirPrefix names the directories of files written for ingestion,
// inside the store's directory. Ingestion links the files into the store,
// so a directory left behind by a crash holds nothing the store needs, and
// Open removes it.
const ingestDirPrefix = "ingest-"

// Loader writes runs of records into files for Ingest. Runs may be written
// from several goroutines at once, one goroutine per run.
type Loader struct {
	db   *DB
	dir  string
	opts sstable.WriterOptions

	mu    sync.Mutex
	files []loadFile
	seq   int
	done  bool
}

// loadFile is a finished file of a run and the keys it spans.
type loadFile struct {
	path              string
	smallest, largest []byte
}

// NewLoader returns a loader whose files go into a fresh directory inside
// the store's. Close it when done, whether Ingest ran or not.
func (db *DB) NewLoader() (*Loader, error) {
	if err := db.Err(); err != nil {
		return nil, err
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	dir := filepath.Join(db.dir, ingestDirPrefix+hex.EncodeToString(rnd[:]))
	if err := db.opts.FS.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: making %s for a bulk load: %w", dir, err)
	}
	// The store's own options, defaulted as Pebble's Open defaults them:
	// the same comparer, compression and bloom filters as its tables.
	po := db.popts.Clone()
	po.EnsureDefaults()
	opts := po.MakeWriterOptions(0, db.pdb.TableFormat())
	return &Loader{db: db, dir: dir, opts: opts}, nil
}

// Run starts a sorted run.
func (l *Loader) Run() (store.Run, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return nil, errors.New("store: the loader is closed")
	}
	return &run{l: l}, nil
}

// run is a Run: the file being written and the keys it spans.
type run struct {
	l     *Loader
	w     *sstable.Writer
	path  string
	first []byte
	last  []byte
	size  int
	err   error
}

func (r *run) Put(key, value []byte) error {
	if r.err != nil {
		return r.err
	}
	if r.last != nil && bytes.Compare(key, r.last) <= 0 {
		r.err = fmt.Errorf("store: bulk load: key %q does not follow %q in its run", key, r.last)
		return r.err
	}
	if bytes.Equal(key, commitKey) {
		r.err = fmt.Errorf("store: bulk load: %q is the engine's own key", key)
		return r.err
	}
	if r.w == nil {
		if r.err = r.open(); r.err != nil {
			return r.err
		}
		r.first = bytes.Clone(key)
	}
	if err := r.w.Set(key, value); err != nil {
		r.err = fmt.Errorf("store: bulk load: writing %s: %w", r.path, err)
		return r.err
	}
	r.last = append(r.last[:0], key...)
	r.size += len(key) + len(value)
	if r.size >= loadFileSize {
		r.err = r.finish()
	}
	return r.err
}

func (r *run) open() error {
	l := r.l
	l.mu.Lock()
	l.seq++
	r.path = filepath.Join(l.dir, fmt.Sprintf("%06d.sst", l.seq))
	l.mu.Unlock()
	f, err := l.db.opts.FS.Create(r.path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("store: bulk load: %w", err)
	}
	r.w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), l.opts)
	return nil
}

// finish closes the file being written (which syncs it) and records it.
func (r *run) finish() error {
	if r.w == nil {
		return nil
	}
	err := r.w.Close()
	r.w = nil
	if err != nil {
		return fmt.Errorf("store: bulk load: closing %s: %w", r.path, err)
	}
	r.l.mu.Lock()
	r.l.files = append(r.l.files, loadFile{path: r.path, smallest: r.first, largest: bytes.Clone(r.last)})
	r.l.mu.Unlock()
	r.size = 0
	return nil
}

func (r *run) Close() error {
	if r.err == nil {
		r.err = r.finish()
	}
	if r.w != nil { // a failed run: its file is not ingested
		r.w.Close()
		r.w = nil
	}
	err := r.err
	if err == nil {
		r.err = errRunClosed
	} else if err == errRunClosed {
		err = nil
	}
	return err
}

var errRunClosed = errors.New("store: the run is closed")

// Ingest makes the records of every closed run part of the store, as one
// step between two decisions: on the decider, after the decisions before
// it and before any after it, guard reads the store through a Tx (its
// writes are refused) and may refuse the load, say because a record it was
// built on has changed; then Pebble ingests the files, and the decider
// forgets the records it cached, which the load may have replaced. It
// returns once the records are durable. Files that overlap are ingested in
// as many steps as it takes, each of files that do not.
func (l *Loader) Ingest(guard func(tx store.Tx) error) error {
	l.mu.Lock()
	files := slices.Clone(l.files)
	l.mu.Unlock()
	slices.SortFunc(files, func(a, b loadFile) int { return bytes.Compare(a.smallest, b.smallest) })
	// Pebble refuses overlapping files in one ingestion; consecutive runs
	// over one key range go in steps of their own.
	var steps [][]string
	var ends [][]byte
	for _, f := range files {
		i := slices.IndexFunc(ends, func(end []byte) bool { return bytes.Compare(end, f.smallest) < 0 })
		if i < 0 {
			steps, ends = append(steps, nil), append(ends, nil)
			i = len(steps) - 1
		}
		steps[i] = append(steps[i], f.path)
		ends[i] = f.largest
	}
	return l.db.exclusive(func(tx *Tx) error {
		if guard != nil {
			tx.reset(nil)
			err := safeCall(guard, tx)
			switch {
			case err != nil:
				return err
			case tx.failed != nil:
				return fmt.Errorf("%w: %v", store.ErrUnavailable, tx.failed)
			case tx.corrupt != nil:
				return tx.corrupt
			case len(tx.keys) > 0:
				return errors.New("store: a bulk load's guard must not write")
			}
		}
		defer tx.hot.forget()
		for _, paths := range steps {
			if err := l.db.pdb.Ingest(context.Background(), paths); err != nil {
				return fmt.Errorf("store: ingesting %d files: %w", len(paths), err)
			}
		}
		return nil
	})
}

// Close removes the loader's files: ingestion linked what it took.
func (l *Loader) Close() error {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
	return l.db.opts.FS.RemoveAll(l.dir)
}

// removeIngestDirs removes what bulk loads left behind in dir.
func removeIngestDirs(fs vfs.FS, dir string) error {
	names, err := fs.List(dir)
	if err != nil {
		return err
	}
	slices.SortFunc(names, cmp.Compare)
	for _, n := range names {
		if strings.HasPrefix(n, ingestDirPrefix) {
			if err := fs.RemoveAll(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	return nil
}
