package store

import (
	"encoding/binary"
	"errors"
)

// Errors a backend returns. Callers test them with errors.Is; a backend
// wraps them with its own detail.
var (
	// ErrUnavailable means storage failed: the call's writes were not
	// acknowledged (a write whose sync failed may still survive a
	// restart), and the backend fails closed until it is reopened.
	ErrUnavailable = errors.New("store: storage unavailable")
	// ErrBusy means the database did not answer for a while (a failover
	// under way, a restart): the call did nothing, the backend stays open
	// and answers again once the database is back, and the caller may try
	// again later.
	ErrBusy = errors.New("store: the database does not answer for now; nothing was done, try again shortly")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("store: closed")
	// ErrConflict means a backend that runs decisions concurrently gave
	// up on one that kept conflicting with others: nothing of it was
	// written, and the caller may try again.
	ErrConflict = errors.New("store: decision conflicted; nothing was written")
	// ErrDecisionPanicked is returned for a decision that panicked. Its
	// writes are dropped and the backend carries on with the next one.
	ErrDecisionPanicked = errors.New("store: decision panicked")
	// ErrCorrupt is returned by a read, or a decision that read, records
	// the backend finds damaged on disk (a file failed its checksum). Only
	// that call fails: the backend stays open, since a restart would not
	// mend the file, and the operator restores a backup.
	ErrCorrupt = errors.New("store: stored data is corrupt (a file failed its checksum); restore a backup")
)

// Reader reads records without deciding anything. Values and keys handed
// to a callback are only valid during the call; values Get returns belong
// to the caller unless the method says otherwise.
type Reader interface {
	// Get returns the value of key. found is false, and err nil, when the
	// key has no value: absence is not an error.
	Get(key []byte) (value []byte, found bool, err error)
	// Scan calls fn for each key with prefix, in ascending byte order,
	// starting at the first key ≥ start (or at the prefix when start is
	// nil or before it). fn returns false to stop.
	Scan(prefix, start []byte, fn func(key, value []byte) bool) error
	// ScanReverse is Scan in descending key order from the last key with
	// prefix: the newest first, for records keyed by time.
	ScanReverse(prefix []byte, fn func(key, value []byte) bool) error
}

// Tx is what a decision sees: its own writes, every decision committed
// before it, and nothing of decisions that are refused. Its writes take
// effect together, and only if the decision returns nil.
type Tx interface {
	// Get returns the value of key as this decision would leave it. The
	// slice may be shared with the backend: read it, never modify it.
	Get(key []byte) (value []byte, found bool, err error)
	// Put records a write of value under key. The backend may keep value
	// as it is: the caller must not modify it afterwards.
	Put(key, value []byte)
	// Delete records the removal of key.
	Delete(key []byte)
	// Add adds delta to the counter at key (see Counter; a missing key
	// counts as zero). Unlike a Get then a Put, it does not make the
	// decision depend on the counter's value, so a backend that runs
	// decisions concurrently need not make two adds to one hot counter
	// conflict. A later Get in the same decision sees the sum. A value
	// under key that is not a counter is a programming error: Add panics.
	Add(key []byte, delta int64)
}

// Snapshot is a consistent read view of the store at one moment, for reads
// that span many records while decisions go on (the audit, rebuilding an
// index). Close it when done.
type Snapshot interface {
	Reader
	Close() error
}

// DB is a store. Update is the single write path: every change, however
// small, is a decision run by Update.
type DB interface {
	Reader
	// Update runs fn against a Tx and returns once its writes are durable,
	// or once it is certain they were not made. fn's own error is returned
	// as is and its writes are dropped.
	//
	// A backend may run fn more than once (an optimistic backend retries a
	// decision that conflicted); only the run whose result Update returns
	// counts. fn must therefore be a function of what it reads through the
	// Tx, keep no Tx after returning, and change nothing outside the Tx:
	// work on memory the caller keeps belongs after Update returned nil.
	Update(fn func(tx Tx) error) error
	// Snapshot returns a consistent read view holding every decision
	// acknowledged before the call.
	Snapshot() (Snapshot, error)
	// Close waits for decisions already submitted and releases the store;
	// every later call returns ErrClosed. A second Close does nothing.
	Close() error
}

// Prefetcher is a DB whose reads cross a network (PostgreSQL), told ahead
// of a decision which keys it will read, so that it can read those of a
// whole group of decisions in one round trip rather than one key at a time.
// Reads stay inside the decision's transaction, so the decision sees
// exactly what Update would have shown it: a key read ahead is still
// overlaid by the writes, deletes and adds of the decisions run before it.
// A backend whose reads are local (Pebble, memory) need not offer it; use
// UpdateReading, which falls back to Update.
type Prefetcher interface {
	// UpdateReading is Update, with keys naming what fn will probably
	// read. keys is only a hint: fn may read others, and a key it does
	// not read costs a wasted read, never a wrong answer. The backend
	// calls keys on the goroutine that runs fn's group (one of several on
	// a Laned backend), before fn and possibly before decisions queued
	// ahead of fn have run, any number of times; keys may therefore read
	// memory that only decisions touch, but must not depend on it being
	// current.
	UpdateReading(keys func() [][]byte, fn func(tx Tx) error) error
}

// UpdateReading runs fn as db.Update does, telling a Prefetcher which keys
// fn will probably read (see Prefetcher).
func UpdateReading(db DB, keys func() [][]byte, fn func(tx Tx) error) error {
	if p, ok := db.(Prefetcher); ok && keys != nil {
		return p.UpdateReading(keys, fn)
	}
	return db.Update(fn)
}

// Hints names what a decision will probably touch, computed once per call:
// reads, the keys it will read, and apart claims, those it will write (and
// read first). Both are only hints: a key named and not touched costs a
// wasted read, never a wrong answer, and one touched unnamed is read or
// written as before. A key in both is a claim. The backend calls Hints on
// the goroutine that runs the decision's group (see Prefetcher), any
// number of times, never concurrently with the decision.
//
// A decision that gives hints (even ones naming nothing) lets the backend gather
// the reads its hints missed: a run of it may read such keys as absent,
// and the backend then discards that run, whatever it returned or wrote,
// reads the keys the group's runs missed in one round trip, and runs it
// again. So such a decision must do nothing outside its Tx that a run on
// a view of absent keys must not do; its answer comes from a run that saw
// the store as it is. A decision that gives no hints sees only that.
type Hints func() (reads, claims [][]byte)

// Keys is every key h names, reads then claims; nil for a nil h.
func (h Hints) Keys() [][]byte {
	if h == nil {
		return nil
	}
	reads, claims := h()
	return append(reads[:len(reads):len(reads)], claims...)
}

// Claimer is a Prefetcher whose transactions would otherwise make
// decisions of different nodes conflict over keys they do not share:
// PostgreSQL's SERIALIZABLE remembers a read by the index page the key is
// on (or would be on, for an absent key), so that a decision reading a
// fresh code's records conflicts with another node writing its neighbour's.
// Told which of a decision's keys it will write, such a backend reads
// those by taking them for writing (a lock on the key alone, held to the
// commit, as the write itself would take), and only the others as reads.
// What the decision sees is unchanged; a claim costs a write's lock: a
// decision of another node on the same key waits for it, as it would for
// the write, or runs again.
//
// A claimed key must be one that no decision ever deletes: taking a key
// for writing finds it absent when another node deleted it after the
// decision's view was taken, and only a read would see that.
type Claimer interface {
	// UpdateClaiming is UpdateReading, with hints naming the keys fn
	// will probably read and, apart, those it will probably write (see
	// Hints).
	UpdateClaiming(hints Hints, fn func(tx Tx) error) error
}

// UpdateClaiming runs fn as UpdateReading does, telling a Claimer which
// keys fn will probably read and write (see Claimer); any other
// Prefetcher is told every key hints names as one it will read.
func UpdateClaiming(db DB, hints Hints, fn func(tx Tx) error) error {
	if hints == nil {
		return db.Update(fn)
	}
	if c, ok := db.(Claimer); ok {
		return c.UpdateClaiming(hints, fn)
	}
	return UpdateReading(db, hints.Keys, fn)
}

// CounterSize is the length of a counter's value (see Tx.Add).
const CounterSize = 8

// Counter decodes the value of a counter written by Tx.Add: a big-endian
// two's-complement int64. ok is false for a value of another length.
func Counter(v []byte) (n int64, ok bool) {
	if len(v) != CounterSize {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(v)), true
}

// AppendCounter appends the encoding of counter n to b.
func AppendCounter(b []byte, n int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(n)) }

// PrefixEnd returns the smallest key greater than every key with prefix,
// or nil when there is none (a prefix of only 0xff bytes): a backend's
// upper bound for Scan.
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Loader bulk-loads records without decisions: a backend that has one
// writes the records into sorted runs and makes them part of the store at
// once, far faster than decisions could (yima bench --preload fills a store
// with millions of redeemed codes this way). The records must be ones the
// rules would have written; the caller makes sure nothing else writes the
// keys it loads meanwhile.
type Loader interface {
	// Run starts a sorted run: its keys must be put in strictly ascending
	// byte order, and runs must not share a key.
	Run() (Run, error)
}

// Run is one sorted run of a Loader.
type Run interface {
	// Put adds a record after the last one; a key not after the last is
	// an error.
	Put(key, value []byte) error
	// Close ends the run.
	Close() error
}

// Laned is a DB that decides in several lanes at once (PostgreSQL): each
// lane forms groups of the decisions sent to it and commits them one at a
// time, and the groups of different lanes are in flight together, so that
// while one group's commit waits for the database's disk, others decide.
// Decisions of different lanes run in concurrent transactions and conflict
// as different nodes' would (the backend retries the loser), so a rule that
// writes one record on every decision of a kind (an escrow slice) keeps one
// such record per lane, and sends decisions that write the same records
// (one member's) to the same lane. Every promise of DB.Update holds
// whatever the lane. Update and UpdateReading decide on lane 0, so that a
// caller that names no lane (a wrapper of the DB, a caller whose memory
// relies on its decisions running one at a time) sees one decider, as on
// a backend without lanes. Use Lanes and UpdateIn, which fall back to
// one lane.
type Laned interface {
	// Lanes is how many lanes the DB decides in, at least 1; it does not
	// change while the DB is open.
	Lanes() int
	// UpdateIn is UpdateClaiming on lane, from 0 to Lanes()-1; a lane out
	// of range lets the backend choose one. hints may be nil.
	UpdateIn(lane int, hints Hints, fn func(tx Tx) error) error
}

// Lanes is how many lanes db decides in: 1 unless it is Laned.
func Lanes(db DB) int {
	if l, ok := db.(Laned); ok {
		return max(1, l.Lanes())
	}
	return 1
}

// Serial is a DB that runs its decisions on one goroutine, one at a time
// in the order they were submitted, and a decision again, if ever, before
// the next one starts (a backend that throws a run away runs it again at
// once); a commit that fails fails the store closed, so no decision after
// it goes on from one that was not written. The Pebble engine and the
// in-memory backend are Serial; a Laned backend, whose groups are in
// flight together and run again whole, is not, whatever its lanes.
//
// Only on a Serial DB may a caller keep memory that its decisions move
// inside fn, for the next decision to go on from before the commit (the
// engine's feed tail): DB.Update's promise alone asks for such work after
// Update returned. A wrapper of a DB says Serial only if what it wraps
// does, and keeps its decisions in order.
type Serial interface {
	// Serial reports whether the DB keeps the promise; it does not change
	// while the DB is open.
	Serial() bool
}

// IsSerial reports whether db keeps the promise of Serial. A DB that does
// not say so is taken not to.
func IsSerial(db DB) bool {
	s, ok := db.(Serial)
	return ok && s.Serial()
}

// UpdateIn runs fn as UpdateClaiming does, on lane of a Laned db; a lane
// out of range, or a db with one lane, leaves the choice to the backend.
func UpdateIn(db DB, lane int, hints Hints, fn func(tx Tx) error) error {
	if l, ok := db.(Laned); ok {
		return l.UpdateIn(lane, hints, fn)
	}
	return UpdateClaiming(db, hints, fn)
}
