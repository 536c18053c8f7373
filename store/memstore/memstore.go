package memstore

import (
	"bytes"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/yima-dev/yima/store"
)

// Flaw is one promise of the contract the store can be told to break, so
// that a test can show the conformance suite catching it.
type Flaw int

const (
	Sound               Flaw = iota
	ForgetsOwnWrites         // a decision's Get ignores its own writes
	ReadsStale               // a decision reads the state before the previous decision
	KeepsRefused             // a refused or panicking decision's writes are kept
	Tears                    // a decision's writes land one at a time, visible in between
	LeakySnapshot            // a snapshot reads the live state
	Unordered                // Scan yields keys in no particular order
	ReverseForward           // ScanReverse yields keys in ascending order
	IgnoresStart             // Scan ignores its start key
	AddOverwrites            // Add sets the counter to delta
	EmptyIsAbsent            // an empty value reads as absent
	WorksAfterClose          // calls after Close succeed
	AcksBeforeDisk           // a decision is acknowledged before it is on the disk
	AcksOnBrokenDisk         // a failed disk write is ignored
	SharesValues             // Get hands out the stored bytes, not a copy
	ReadsAheadEarly          // UpdateReading reads its keys ahead before the decisions queued before it commit
	DecidesConcurrently      // Update runs a decision while others run, yet the store says it is Serial
)

// Flaws lists every flaw but Sound.
var Flaws = []Flaw{ForgetsOwnWrites, ReadsStale, KeepsRefused, Tears, LeakySnapshot, Unordered, ReverseForward, IgnoresStart, AddOverwrites, EmptyIsAbsent, WorksAfterClose, AcksBeforeDisk, AcksOnBrokenDisk, SharesValues, ReadsAheadEarly, DecidesConcurrently}

func (f Flaw) String() string {
	return [...]string{"Sound", "ForgetsOwnWrites", "ReadsStale", "KeepsRefused", "Tears", "LeakySnapshot", "Unordered", "ReverseForward", "IgnoresStart", "AddOverwrites", "EmptyIsAbsent", "WorksAfterClose", "AcksBeforeDisk", "AcksOnBrokenDisk", "SharesValues", "ReadsAheadEarly", "DecidesConcurrently"}[f]
}

// Options configures a store.
type Options struct {
	// Flaw is the promise to break; the zero value breaks none.
	Flaw Flaw
	// Retry runs every decision twice and keeps only the second run, as an
	// optimistic backend does after a conflict: rules that change memory of
	// their own inside a decision count twice.
	Retry bool
}

// state is a sorted set of records.
type state struct {
	m    map[string][]byte
	keys []string // sorted
}

func newState() *state { return &state{m: map[string][]byte{}} }

func (s *state) clone() *state {
	return &state{m: maps.Clone(s.m), keys: slices.Clone(s.keys)}
}

func (s *state) set(k string, v []byte) {
	if v == nil {
		if _, ok := s.m[k]; ok {
			delete(s.m, k)
			i, _ := slices.BinarySearch(s.keys, k)
			s.keys = slices.Delete(s.keys, i, i+1)
		}
		return
	}
	if _, ok := s.m[k]; !ok {
		i, _ := slices.BinarySearch(s.keys, k)
		s.keys = slices.Insert(s.keys, i, k)
	}
	s.m[k] = v
}

// DB is an in-memory store.
type DB struct {
	opts Options
	disk *Disk // nil for a store on no disk

	decide sync.Mutex   // one decision at a time
	mu     sync.RWMutex // guards cur, prev, closed, failed
	cur    *state
	prev   *state // the state before the last decision, for ReadsStale
	closed bool
	failed bool
	// claimed holds every key a decision claimed (store.Claimer), which
	// no decision may delete; guarded by decide.
	claimed map[string]bool
}

var (
	_ store.DB         = (*DB)(nil)
	_ store.Tx         = (*tx)(nil)
	_ store.Prefetcher = (*DB)(nil)
	_ store.Claimer    = (*DB)(nil)
	_ store.Serial     = (*DB)(nil)
	_ store.Snapshot   = (*snapshot)(nil)
)

// New returns an empty store that lives in memory only.
func New(opts Options) *DB {
	return &DB{opts: opts, cur: newState(), prev: newState(), claimed: map[string]bool{}}
}

func (db *DB) err() error {
	switch {
	case db.failed:
		return fmt.Errorf("%w: the disk failed", store.ErrUnavailable)
	case db.closed && db.opts.Flaw != WorksAfterClose:
		return store.ErrClosed
	}
	return nil
}

// Get is store.Reader's.
func (db *DB) Get(key []byte) ([]byte, bool, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if err := db.err(); err != nil {
		return nil, false, err
	}
	return get(db.cur, key, db.opts.Flaw)
}

func get(s *state, key []byte, flaw Flaw) ([]byte, bool, error) {
	v, ok := s.m[string(key)]
	if !ok || flaw == EmptyIsAbsent && len(v) == 0 {
		return nil, false, nil
	}
	if flaw == SharesValues {
		return v, true, nil
	}
	return bytes.Clone(v), true, nil
}

// Scan is store.Reader's.
func (db *DB) Scan(prefix, start []byte, fn func(key, value []byte) bool) error {
	db.mu.RLock()
	if err := db.err(); err != nil {
		db.mu.RUnlock()
		return err
	}
	kvs := collect(db.cur, prefix, start, db.opts.Flaw)
	db.mu.RUnlock()
	return yield(kvs, fn)
}

// ScanReverse is store.Reader's.
func (db *DB) ScanReverse(prefix []byte, fn func(key, value []byte) bool) error {
	db.mu.RLock()
	if err := db.err(); err != nil {
		db.mu.RUnlock()
		return err
	}
	kvs := collectReverse(db.cur, prefix, db.opts.Flaw)
	db.mu.RUnlock()
	return yield(kvs, fn)
}

type kv struct{ k, v []byte }

// collect copies the records a scan yields, so that fn runs with no lock
// held and may read the store itself.
func collect(s *state, prefix, start []byte, flaw Flaw) []kv {
	from := string(prefix)
	if start != nil && bytes.Compare(start, prefix) > 0 && flaw != IgnoresStart {
		from = string(start)
	}
	i, _ := slices.BinarySearch(s.keys, from)
	var out []kv
	for ; i < len(s.keys) && bytes.HasPrefix([]byte(s.keys[i]), prefix); i++ {
		out = append(out, kv{[]byte(s.keys[i]), bytes.Clone(s.m[s.keys[i]])})
	}
	if flaw == Unordered {
		// Map order: what a backend that forgot to sort would give.
		m := map[string]kv{}
		for _, r := range out {
			m[string(r.k)] = r
		}
		out = out[:0]
		for _, r := range m {
			out = append(out, r)
		}
	}
	return out
}

func collectReverse(s *state, prefix []byte, flaw Flaw) []kv {
	out := collect(s, prefix, nil, Sound)
	if flaw != ReverseForward {
		slices.Reverse(out)
	}
	return out
}

func yield(kvs []kv, fn func(key, value []byte) bool) error {
	for _, r := range kvs {
		if !fn(r.k, r.v) {
			break
		}
	}
	return nil
}

// Snapshot is store.DB's.
func (db *DB) Snapshot() (store.Snapshot, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if err := db.err(); err != nil {
		return nil, err
	}
	if db.opts.Flaw == LeakySnapshot {
		return &snapshot{db: db}, nil
	}
	return &snapshot{s: db.cur.clone(), flaw: db.opts.Flaw}, nil
}

type snapshot struct {
	s    *state
	db   *DB // live, for LeakySnapshot
	flaw Flaw
}

func (s *snapshot) Get(key []byte) ([]byte, bool, error) {
	if s.db != nil {
		return s.db.Get(key)
	}
	return get(s.s, key, s.flaw)
}

func (s *snapshot) Scan(prefix, start []byte, fn func(key, value []byte) bool) error {
	if s.db != nil {
		return s.db.Scan(prefix, start, fn)
	}
	return yield(collect(s.s, prefix, start, s.flaw), fn)
}

func (s *snapshot) ScanReverse(prefix []byte, fn func(key, value []byte) bool) error {
	if s.db != nil {
		return s.db.ScanReverse(prefix, fn)
	}
	return yield(collectReverse(s.s, prefix, s.flaw), fn)
}

func (s *snapshot) Close() error { return nil }

// tx is a decision's view: its writes over the store's state.
type tx struct {
	base   *state
	writes map[string][]byte // nil value: deleted
	// ahead is what UpdateReading read ahead (nil value: absent), served
	// before base, as a backend over a network serves its reads ahead.
	ahead map[string][]byte
	order []string
	flaw  Flaw
	// claimed is the DB's: keys claimed, never to be deleted.
	claimed map[string]bool
}

func (t *tx) Get(key []byte) ([]byte, bool, error) {
	if v, ok := t.writes[string(key)]; ok && t.flaw != ForgetsOwnWrites {
		if v == nil || t.flaw == EmptyIsAbsent && len(v) == 0 {
			return nil, false, nil
		}
		return v, true, nil
	}
	v, ok := t.base.m[string(key)]
	if a, read := t.ahead[string(key)]; read {
		v, ok = a, a != nil
	}
	if !ok || t.flaw == EmptyIsAbsent && len(v) == 0 {
		return nil, false, nil
	}
	return v, true, nil
}

func (t *tx) Put(key, value []byte) {
	if value == nil {
		value = []byte{}
	}
	t.write(string(key), value)
}

// Delete records the removal of key. A key a decision claimed is one
// that no decision deletes (store.Claimer): a backend that reads a claimed
// key by taking it for writing would not see such a deletion, so deleting
// one is a rule's mistake, and panics here, where the tests run.
func (t *tx) Delete(key []byte) {
	if t.claimed[string(key)] {
		panic(fmt.Sprintf("memstore: Delete of %q, a key decisions claim as one no decision deletes (store.Claimer)", key))
	}
	t.write(string(key), nil)
}

func (t *tx) write(k string, v []byte) {
	if _, ok := t.writes[k]; !ok {
		t.order = append(t.order, k)
	}
	t.writes[k] = v
}

func (t *tx) Add(key []byte, delta int64) {
	v, found, _ := t.Get(key)
	var n int64
	if found && t.flaw != AddOverwrites {
		var ok bool
		if n, ok = store.Counter(v); !ok {
			panic(fmt.Sprintf("memstore: Add on %q, whose %d-byte value is not a counter", key, len(v)))
		}
	}
	t.write(string(key), store.AppendCounter(nil, n+delta))
}

// Update is store.DB's: decisions run one at a time, in the order they
// take the lock.
func (db *DB) Update(fn func(store.Tx) error) error {
	if db.opts.Flaw == DecidesConcurrently {
		return db.updateBeside(fn)
	}
	return db.update(nil, fn)
}

// Serial is store.Serial's: one decision at a time, and a decision run
// again (Options.Retry) at once.
func (db *DB) Serial() bool { return true }

// updateBeside runs fn outside the lock, on a copy of the state, while
// other decisions run too, and commits it under the lock.
func (db *DB) updateBeside(fn func(store.Tx) error) error {
	db.decide.Lock()
	defer db.decide.Unlock()
	db.mu.RLock()
	err := db.err()
	base := db.cur.clone()
	db.mu.RUnlock()
	if err != nil {
		return err
	}
	db.decide.Unlock()
	t := &tx{base: base, writes: map[string][]byte{}, flaw: db.opts.Flaw, claimed: map[string]bool{}}
	err = run(fn, t)
	db.decide.Lock()
	if err != nil {
		return err
	}
	return db.commit(t)
}

// UpdateReading is store.Prefetcher's: the keys are read ahead into the
// decision's view, as a backend over a network reads a group's keys in one
// statement; reading them at the decision's turn keeps the view exact.
func (db *DB) UpdateReading(keys func() [][]byte, fn func(store.Tx) error) error {
	if db.opts.Flaw == ReadsAheadEarly {
		db.mu.RLock()
		ahead := readAhead(db.cur, keys)
		db.mu.RUnlock()
		return db.update(func(*state) map[string][]byte { return ahead }, fn)
	}
	return db.update(func(base *state) map[string][]byte { return readAhead(base, keys) }, fn)
}

// UpdateClaiming is store.Claimer's: the claims are read ahead as the keys
// are, and remembered, so that a decision deleting one panics (see
// tx.Delete).
func (db *DB) UpdateClaiming(hints store.Hints, fn func(store.Tx) error) error {
	if hints == nil {
		return db.Update(fn)
	}
	// The hints are computed once, when the keys are read ahead, always
	// before fn runs.
	var claims [][]byte
	both := func() [][]byte {
		reads, c := hints()
		claims = c
		return append(reads[:len(reads):len(reads)], c...)
	}
	return db.UpdateReading(both, func(t store.Tx) error {
		for _, k := range claims {
			db.claimed[string(k)] = true // under db.decide
		}
		return fn(t)
	})
}

func readAhead(s *state, keys func() [][]byte) map[string][]byte {
	if keys == nil {
		return nil
	}
	ahead := map[string][]byte{}
	for _, k := range keys() {
		ahead[string(k)] = s.m[string(k)]
	}
	return ahead
}

// update runs fn as the next decision, its view of base preceded by what
// ahead (when not nil) reads ahead of it.
func (db *DB) update(ahead func(base *state) map[string][]byte, fn func(store.Tx) error) error {
	db.decide.Lock()
	defer db.decide.Unlock()
	db.mu.RLock()
	err := db.err()
	db.mu.RUnlock()
	if err != nil {
		return err
	}
	base := db.cur
	if db.opts.Flaw == ReadsStale {
		base = db.prev
	}
	var read map[string][]byte
	if ahead != nil {
		read = ahead(base)
	}
	if db.opts.Retry {
		run(fn, &tx{base: base, ahead: read, writes: map[string][]byte{}, flaw: db.opts.Flaw, claimed: db.claimed})
	}
	t := &tx{base: base, ahead: read, writes: map[string][]byte{}, flaw: db.opts.Flaw, claimed: db.claimed}
	if err := run(fn, t); err != nil {
		if db.opts.Flaw == KeepsRefused {
			db.commit(t)
		}
		return err
	}
	return db.commit(t)
}

func run(fn func(store.Tx) error, t *tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v\n%s", store.ErrDecisionPanicked, r, debug.Stack())
		}
	}()
	return fn(t)
}

// commit applies t's writes, to the disk first when there is one.
func (db *DB) commit(t *tx) error {
	if len(t.order) == 0 {
		return nil
	}
	if db.disk != nil {
		if err := db.disk.write(t, db.opts.Flaw); err != nil {
			db.mu.Lock()
			db.failed = true
			db.mu.Unlock()
			return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
		}
	}
	if db.opts.Flaw == Tears {
		for i, k := range t.order {
			db.mu.Lock()
			db.cur.set(k, t.writes[k])
			db.mu.Unlock()
			if i == 0 {
				time.Sleep(50 * time.Microsecond) // a reader's window
			}
		}
		return nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.opts.Flaw == ReadsStale {
		db.prev = db.cur.clone()
	}
	for _, k := range t.order {
		db.cur.set(k, t.writes[k])
	}
	return nil
}

// Close is store.DB's.
func (db *DB) Close() error {
	db.decide.Lock()
	defer db.decide.Unlock()
	db.mu.Lock()
	defer db.mu.Unlock()
	db.closed = true
	return nil
}

// Disk is an in-memory disk a store can be opened on again, for crash and
// fault tests: what a decision wrote is on it before the decision is
// acknowledged.
type Disk struct {
	opts    Options
	mu      sync.Mutex
	data    *state
	pending []*tx // AcksBeforeDisk: the latest decisions, not yet on the disk
	broken  bool
}

// NewDisk returns an empty disk whose stores have opts.
func NewDisk(opts Options) *Disk { return &Disk{opts: opts, data: newState()} }

// Open opens a store on the disk, with what the disk holds.
func (d *Disk) Open() *DB { return d.OpenFlawed(d.opts.Flaw) }

// OpenFlawed opens a store on the disk that breaks the promise f, whatever
// the disk's options say: a crash test shows it catches a store that
// acknowledges before writing (AcksBeforeDisk) with it.
func (d *Disk) OpenFlawed(f Flaw) *DB {
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.opts
	o.Flaw = f
	db := New(o)
	db.disk = d
	db.cur = d.data.clone()
	db.prev = db.cur.clone()
	return db
}

// Crash returns a copy of what is on the disk now.
func (d *Disk) Crash() *Disk {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &Disk{opts: d.opts, data: d.data.clone()}
}

// Break makes every later write fail.
func (d *Disk) Break() {
	d.mu.Lock()
	d.broken = true
	d.mu.Unlock()
}

func (d *Disk) write(t *tx, flaw Flaw) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.broken && flaw != AcksOnBrokenDisk {
		return fmt.Errorf("memstore: the disk is broken")
	}
	if flaw == AcksBeforeDisk {
		// Written behind, in bursts: the latest decisions are only in
		// memory when the power goes.
		if d.pending = append(d.pending, t); len(d.pending) < 64 {
			return nil
		}
		for _, t := range d.pending {
			d.apply(t)
		}
		d.pending = nil
		return nil
	}
	d.apply(t)
	return nil
}

func (d *Disk) apply(t *tx) {
	for _, k := range t.order {
		d.data.set(k, t.writes[k])
	}
}
