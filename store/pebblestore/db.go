package pebblestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/yima-dev/yima/store"
)

// ErrLocked is returned by Open when another process holds the directory.
var ErrLocked = errors.New("store: data directory is in use by another process")

// The engine satisfies the store contract.
var (
	_ store.DB       = (*DB)(nil)
	_ store.Tx       = (*Tx)(nil)
	_ store.Snapshot = (*Snapshot)(nil)
	_ store.Serial   = (*DB)(nil)
)

// Options configures a DB. The zero value is ready to use.
type Options struct {
	// FS replaces the file system, for crash and fault tests.
	FS vfs.FS
	// Logger receives Pebble's events; nil discards them.
	Logger *slog.Logger
	// MaxGroup bounds how many decisions share one Pebble batch.
	MaxGroup int
	// CacheSize is Pebble's block cache in bytes (default 128 MiB).
	CacheSize int64
	// MemTableSize is Pebble's memtable in bytes (default 64 MiB).
	MemTableSize uint64
	// HotRecords bounds the decider's cache of records decisions read
	// (default 262144); a group's writes of other keys are cached only
	// until the group is applied.
	HotRecords int
	// OnFail is called once, from any goroutine, when the store fails
	// closed. Servers use it to begin shutting down.
	OnFail func(error)
	// NoSync turns off the WAL sync. Tests use it to show that the crash
	// test notices lost writes; nothing else should.
	NoSync bool
	// AcceptLoss opens a store whose log is damaged (ErrDamaged) with what
	// is readable: each log is cut at its first unreadable record (the
	// whole file is kept aside), and the store forgets that it had
	// acknowledged more. Only an operator who has no backup and accepts
	// losing payouts should set it.
	AcceptLoss bool
}

func (o *Options) ensureDefaults() {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.MaxGroup <= 0 {
		o.MaxGroup = 1024
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 128 << 20
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = 64 << 20
	}
	if o.HotRecords <= 0 {
		o.HotRecords = 1 << 18
	}
}

// DB is an open store.
type DB struct {
	pdb   *pebble.DB
	popts *pebble.Options
	opts  Options
	dir   string
	// held is an exclusive op the decider took from the queue while
	// building a group; it runs alone, before the next group.
	held *op

	ops      chan *op
	groups   chan *group
	deciderW sync.WaitGroup
	// submit guards ops against a send after Close closed it.
	submit  sync.RWMutex
	closing sync.Once
	closed  atomic.Bool

	failure store.Failure

	// groupSizes observes how many decisions shared each commit.
	groupSizes atomic.Pointer[func(n int)]
	// unlock releases the lock on the directory (see lockDir).
	unlock func()

	// opening is set while Pebble's Open runs; a background write failure
	// then ends Open (see openPebble).
	opening    atomic.Bool
	openFailed chan error
	// seq numbers the groups written (decider only); synced is the last
	// whose sync was confirmed; acks records it in ACKED (see acked.go).
	seq    uint64
	synced atomic.Uint64
	acks   *ackWriter
}

// Open opens or creates the store in dir.
func Open(dir string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.ensureDefaults()
	db := &DB{opts: o, dir: dir, ops: make(chan *op, 4096), groups: make(chan *group, 64), unlock: func() {}, openFailed: make(chan error, 1)}
	if o.FS == vfs.Default {
		unlock, err := lockDir(dir)
		if err != nil {
			return nil, err
		}
		db.unlock = unlock
	}
	cache := pebble.NewCache(o.CacheSize)
	defer cache.Unref() // Pebble holds its own reference while open
	popts := &pebble.Options{
		FS:     &walWatch{FS: o.FS, fail: db.fail}, // a pointer: Pebble compares file systems
		Logger: fatalLogger{db: db, log: o.Logger},
		Cache:  cache,
		EventListener: &pebble.EventListener{
			// Pebble's default makes a checksum failure fatal. A read
			// of a corrupt file returns store.ErrCorrupt instead, and
			// the rest of the store keeps serving.
			DataCorruption: func(info pebble.DataCorruptionInfo) {
				o.Logger.Error("stored data is corrupt; restore a backup", "info", info.String())
			},
			BackgroundError: db.backgroundError,
		},
		// From this format on, each WAL record says how far the log was
		// synced: a damaged record followed by a synced one is damage,
		// not a torn tail, and Pebble's Open refuses it. Older stores
		// are raised to it on open.
		FormatMajorVersion: pebble.FormatWALSyncChunks,
		// Recent codes, members and counters stay in the memtable: a
		// scan's reads hit memory, not sstables.
		MemTableSize: o.MemTableSize,
	}
	// Most reads of a scan are for keys that do not exist yet (a fresh
	// code's redemption, its first scanner): bloom filters answer those
	// without reading a block.
	for i := range popts.Levels {
		popts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db.popts = popts
	if err := removeIngestDirs(o.FS, dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		db.unlock()
		return nil, fmt.Errorf("store: removing what a bulk load left in %s: %w", dir, err)
	}
	if err := db.open(dir, popts); err != nil {
		db.unlock()
		return nil, err
	}
	db.deciderW.Add(2)
	go db.decide()
	go db.release()
	return db, nil
}

// open opens Pebble and checks that its log holds every group the store
// acknowledged (see acked.go).
func (db *DB) open(dir string, popts *pebble.Options) error {
	o := db.opts
	acked, err := readAcked(o.FS, dir)
	if err != nil && !o.AcceptLoss {
		return damaged(dir, err.Error())
	}
	pdb, err := db.openPebble(dir, popts)
	if err != nil && pebble.IsCorruptionError(err) && o.AcceptLoss {
		cut, rerr := repairLogs(o.FS, dir)
		if rerr != nil {
			return fmt.Errorf("store: cutting the damaged log in %s: %w", dir, rerr)
		}
		o.Logger.Warn("opening a damaged store, accepting the loss: logs cut at their first unreadable record", "dir", dir, "cut", cut)
		pdb, err = db.openPebble(dir, popts)
	}
	switch {
	case err == nil:
	case isLockErr(err):
		return fmt.Errorf("%w: %s (%v)", ErrLocked, dir, err)
	case pebble.IsCorruptionError(err):
		return damaged(dir, err.Error())
	case errors.Is(err, ErrRecovery):
		return err
	default:
		return fmt.Errorf("store: opening %s: %w", dir, err)
	}
	replayed, found, err := get(pdb, commitKey)
	var seq uint64
	switch {
	case errors.Is(err, store.ErrCorrupt):
		// A corrupt table, not the log: reads that need it fail with
		// ErrCorrupt, and the log cannot be checked this time.
		o.Logger.Error("the store's commit count is unreadable; the log is not checked", "err", err)
		seq = acked
	case err != nil:
		pdb.Close()
		return fmt.Errorf("store: opening %s: %w", dir, err)
	case found && len(replayed) != 8:
		pdb.Close()
		return damaged(dir, "the store's commit count is malformed")
	case found:
		seq = binary.BigEndian.Uint64(replayed)
	}
	if seq < acked {
		if !o.AcceptLoss {
			pdb.Close()
			return damaged(dir, fmt.Sprintf("the log ends at commit %d but commit %d had been acknowledged: the log was cut short or damaged at its end", seq, acked))
		}
		o.Logger.Warn("opening a store that lost acknowledged writes, accepting the loss", "dir", dir, "log_ends_at", seq, "acknowledged", acked)
	}
	db.pdb, db.seq = pdb, seq
	db.synced.Store(seq)
	if !o.NoSync {
		if db.acks, err = openAckWriter(o.FS, dir, seq); err != nil {
			pdb.Close()
			return err
		}
		go db.recordAcks(db.acks)
	}
	return nil
}

// isLockErr reports whether Open failed because the directory's LOCK file
// is held. Within a process Pebble says "lock held by current process";
// across processes it returns fcntl's bare EAGAIN or EACCES ("resource
// temporarily unavailable"), which names no lock, so the text alone misses
// the case that matters: a CLI command beside a running server.
func isLockErr(err error) bool {
	if strings.Contains(err.Error(), "lock held by current process") {
		return true
	}
	var errno syscall.Errno
	var pathErr *fs.PathError // a file Pebble could not open, not a lock
	return errors.As(err, &errno) && (errno == syscall.EAGAIN || errno == syscall.EACCES) && !errors.As(err, &pathErr)
}

// fatalLogger turns Pebble's fatal errors into a failed store instead of an
// exit in the middle of a commit: the caller of the write sees
// ErrUnavailable, and OnFail lets the server stop cleanly.
type fatalLogger struct {
	db  *DB
	log *slog.Logger
}

// Infof is Pebble's chatter (WALs found and replayed, compactions): of use
// when debugging storage, noise otherwise.
func (l fatalLogger) Infof(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}
func (l fatalLogger) Errorf(format string, args ...any) { l.log.Error(fmt.Sprintf(format, args...)) }
func (l fatalLogger) Fatalf(format string, args ...any) {
	err := fmt.Errorf("pebble: "+format, args...)
	l.log.Error("storage failed", "err", err)
	l.db.fail(err)
}

// walWatch fails the store the moment a WAL write or sync fails, before
// Pebble's log writer records the error. Waiting for SyncWait to report it is
// too late: by then the decider may have applied more batches, and Pebble
// v2.1.7 panics when a batch meets a failed WAL (commitWrite), or dies with
// "unlock of unlocked mutex" when it must rotate one (rotateWAL). Failing
// first stops the decider before its next Apply; only a first fault that
// strikes during a WAL rotation can still kill the process.
type walWatch struct {
	vfs.FS
	fail func(error)
}

func (w walWatch) Unwrap() vfs.FS { return w.FS }

func (w walWatch) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return w.watch(name)(w.FS.Create(name, c))
}

func (w walWatch) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return w.watch(newname)(w.FS.ReuseForWrite(oldname, newname, c))
}

func (w walWatch) watch(name string) func(vfs.File, error) (vfs.File, error) {
	return func(f vfs.File, err error) (vfs.File, error) {
		if !strings.HasSuffix(name, ".log") {
			return f, err
		}
		if err != nil {
			w.fail(fmt.Errorf("creating WAL %s: %w", name, err))
			return f, err
		}
		return walFile{File: f, fail: w.fail}, nil
	}
}

type walFile struct {
	vfs.File
	fail func(error)
}

func (f walFile) check(err error) error {
	if err != nil {
		f.fail(fmt.Errorf("WAL: %w", err))
	}
	return err
}

func (f walFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	return n, f.check(err)
}

func (f walFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	return n, f.check(err)
}

// walPrealloc bounds how much of a new WAL is reserved ahead. Pebble
// reserves 110% of the memtable (70 MiB by default) at once, which alone
// fills a small volume and leaves no room for the tables that would free
// it. Reserving ahead only spares block allocation on write.
const walPrealloc = 4 << 20

func (f walFile) Preallocate(offset, length int64) error {
	return f.File.Preallocate(offset, min(length, walPrealloc))
}

func (f walFile) Sync() error     { return f.check(f.File.Sync()) }
func (f walFile) SyncData() error { return f.check(f.File.SyncData()) }

func (f walFile) SyncTo(length int64) (bool, error) {
	full, err := f.File.SyncTo(length)
	return full, f.check(err)
}

func (db *DB) fail(err error) { db.failure.Set(err, db.opts.OnFail) }

// Err returns the failure that closed the store, or nil while it is healthy.
func (db *DB) Err() error { return db.failure.Err(db.closed.Load()) }

// Get returns a copy of the value of key; found is false when it has none.
func (db *DB) Get(key []byte) ([]byte, bool, error) {
	if err := db.Err(); err != nil {
		return nil, false, err
	}
	return get(db.pdb, key)
}

type getter interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

func get(r getter, key []byte) ([]byte, bool, error) {
	v, c, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: get: %w", corrupt(err))
	}
	out := bytes.Clone(v)
	c.Close()
	if out == nil {
		out = []byte{}
	}
	return out, true, nil
}

// Scan is store.Reader's, straight from Pebble.
func (db *DB) Scan(prefix, start []byte, fn func(key, value []byte) bool) error {
	if err := db.Err(); err != nil {
		return err
	}
	return scan(db.pdb, prefix, start, fn)
}

// ScanReverse is store.Reader's, straight from Pebble.
func (db *DB) ScanReverse(prefix []byte, fn func(key, value []byte) bool) error {
	if err := db.Err(); err != nil {
		return err
	}
	return scanReverse(db.pdb, prefix, fn)
}

type iterable interface {
	NewIter(o *pebble.IterOptions) (*pebble.Iterator, error)
}

// bounds are the iterator bounds of prefix. An empty prefix has no lower
// bound: Pebble's seek to an empty, non-nil bound trips its invariants.
func bounds(prefix []byte) *pebble.IterOptions {
	if len(prefix) == 0 {
		return &pebble.IterOptions{}
	}
	return &pebble.IterOptions{LowerBound: prefix, UpperBound: store.PrefixEnd(prefix)}
}

func scan(r iterable, prefix, start []byte, fn func(key, value []byte) bool) error {
	it, err := r.NewIter(bounds(prefix))
	if err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	defer it.Close()
	var ok bool
	if start != nil && bytes.Compare(start, prefix) > 0 {
		ok = it.SeekGE(start)
	} else {
		ok = it.First()
	}
	for ; ok; ok = it.Next() {
		if bytes.Equal(it.Key(), commitKey) {
			continue // the engine's own record, not the caller's
		}
		if !fn(it.Key(), it.Value()) {
			break
		}
	}
	return corrupt(it.Error())
}

func scanReverse(r iterable, prefix []byte, fn func(key, value []byte) bool) error {
	it, err := r.NewIter(bounds(prefix))
	if err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	defer it.Close()
	for ok := it.Last(); ok; ok = it.Prev() {
		if bytes.Equal(it.Key(), commitKey) {
			continue
		}
		if !fn(it.Key(), it.Value()) {
			break
		}
	}
	return corrupt(it.Error())
}

// corrupt wraps a Pebble read error as store.ErrCorrupt when it reports
// corruption, and returns it unchanged otherwise.
func corrupt(err error) error {
	if err != nil && pebble.IsCorruptionError(err) {
		return fmt.Errorf("%w: %v", store.ErrCorrupt, err)
	}
	return err
}

// ObserveGroups makes fn receive the number of decisions in each commit
// from now on (a metrics hook). fn runs on the releaser: keep it quick.
func (db *DB) ObserveGroups(fn func(n int)) { db.groupSizes.Store(&fn) }

// Close stops the decider after the decisions already submitted, waits for
// their sync, and closes Pebble.
func (db *DB) Close() error {
	var err error
	db.closing.Do(func() {
		db.submit.Lock()
		db.closed.Store(true)
		close(db.ops)
		db.submit.Unlock()
		db.deciderW.Wait()
		if db.acks != nil {
			close(db.acks.stop)
			<-db.acks.done
		}
		if db.failure.Failed() {
			// Pebble's commit pipeline may be wedged; closing it could
			// block or panic. The process is about to exit anyway, and
			// keeps the directory locked until then.
			return
		}
		err = db.pdb.Close()
		db.unlock()
	})
	return err
}
