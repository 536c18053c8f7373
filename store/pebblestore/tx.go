package pebblestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"github.com/yima-dev/yima/store"
)

// Tx is what a decision sees: reads through its own writes, the decisions
// before it in the same group, and the database; writes that take effect
// only if the decision returns nil.
type Tx struct {
	db    *pebble.DB
	batch *pebble.Batch
	hot   *hotCache
	// writes are this decision's, applied to batch only on success, so a
	// refused decision leaves no trace.
	keys  [][]byte
	vals  [][]byte // nil marks a delete
	arena []byte
	// last is where each key was last written, for a decision of many
	// writes (see rewritten).
	last   map[string]int
	failed error
	// corrupt is a read that hit a corrupt file: the decision fails with
	// store.ErrCorrupt whatever it returns, and the store stays open.
	corrupt error
}

// Get returns the value of key as this decision would leave it. The slice
// is shared with the decider's cache: read it, never modify it.
func (tx *Tx) Get(key []byte) ([]byte, bool, error) {
	for i := len(tx.keys) - 1; i >= 0; i-- {
		if bytes.Equal(tx.keys[i], key) {
			v := tx.vals[i]
			return v, v != nil, nil
		}
	}
	if v, ok := tx.hot.get(key); ok {
		return v, v != nil, nil
	}
	// Every write of this group is in the cache (see hotCache), so the
	// database, which holds every earlier group, answers the rest.
	v, c, err := tx.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		tx.hot.loaded(key, nil)
		return nil, false, nil
	}
	if err != nil {
		if err := corrupt(err); errors.Is(err, store.ErrCorrupt) {
			tx.corrupt = err
			return nil, false, err
		}
		tx.failed = err
		return nil, false, store.ErrUnavailable
	}
	out := bytes.Clone(v)
	if out == nil {
		out = []byte{}
	}
	c.Close()
	tx.hot.loaded(key, out)
	return out, true, nil
}

// Put records a write of value under key. The Tx keeps value as it is: the
// caller must not modify it afterwards.
func (tx *Tx) Put(key, value []byte) {
	tx.keys = append(tx.keys, tx.copy(key))
	if value == nil {
		value = []byte{}
	}
	tx.vals = append(tx.vals, value)
}

// Add adds delta to the counter at key. The decider runs one decision at a
// time, so a read and a write are already free of conflicts here.
func (tx *Tx) Add(key []byte, delta int64) {
	v, found, err := tx.Get(key)
	if err != nil {
		return // tx.failed fails the decision
	}
	var n int64
	if found {
		var ok bool
		if n, ok = store.Counter(v); !ok {
			panic(fmt.Sprintf("store: Add on %q, whose %d-byte value is not a counter", key, len(v)))
		}
	}
	tx.Put(key, store.AppendCounter(nil, n+delta))
}

// Delete records the removal of key.
func (tx *Tx) Delete(key []byte) {
	tx.keys = append(tx.keys, tx.copy(key))
	tx.vals = append(tx.vals, nil)
}

func (tx *Tx) copy(b []byte) []byte {
	if cap(tx.arena)-len(tx.arena) < len(b) {
		tx.arena = make([]byte, 0, max(4096, len(b)))
	}
	n := len(tx.arena)
	tx.arena = append(tx.arena, b...)
	return tx.arena[n:len(tx.arena):len(tx.arena)]
}

// rewritten reports whether the decision wrote keys[i] again later. A
// decision writes a handful of keys, compared with each other; one that
// writes many has them in tx.last (see flush).
func (tx *Tx) rewritten(i int) bool {
	if len(tx.keys) > maxCompared {
		return tx.last[string(tx.keys[i])] != i
	}
	for j := i + 1; j < len(tx.keys); j++ {
		if bytes.Equal(tx.keys[j], tx.keys[i]) {
			return true
		}
	}
	return false
}

const maxCompared = 32

func (tx *Tx) reset(b *pebble.Batch) {
	tx.batch = b
	tx.keys = tx.keys[:0]
	tx.vals = tx.vals[:0]
	tx.failed = nil
	tx.corrupt = nil
	// The arena's old bytes may still be referenced by a caller's result,
	// so it is never rewound, only replaced when full.
}

// flush moves the decision's writes into the group's batch and the
// decider's cache. A key written more than once (a counter a decision adds
// to twice, such as the feed's head) goes in once, with its last value:
// every write is a memtable insert, and only the last would be read.
func (tx *Tx) flush() error {
	if len(tx.keys) > maxCompared {
		if tx.last == nil {
			tx.last = make(map[string]int, len(tx.keys))
		}
		clear(tx.last)
		for j, k := range tx.keys {
			tx.last[string(k)] = j
		}
	}
	for i, k := range tx.keys {
		if tx.rewritten(i) {
			continue
		}
		var err error
		if v := tx.vals[i]; v == nil {
			err = tx.batch.Delete(k, nil)
			tx.hot.wrote(k, nil)
		} else {
			err = tx.batch.Set(k, v, nil)
			tx.hot.wrote(k, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// hotCache is the decider's view of the records it read recently and of
// the writes of the group being decided, so that most reads of a decision
// are a map lookup, not a Pebble seek. Only the decider goroutine touches
// it, and every write goes through the decider, so it is never stale. A nil
// value records that the key is absent: lookups of ids that have no record
// (no alias, no campaign for a product) are as frequent as lookups of those
// that do.
//
// Most of what a scan writes is never read again (its redemption, ledger
// entry and feed events), while the few records it reads (the member, the
// batch) are read by scan after scan. So the cache keeps them apart: read
// holds the records decisions read and every later write of them, bounded;
// written holds this group's other writes only until the group's batch is
// applied, when the database answers for them. Kept together, the records
// written once filled the map to its bound over and over, each with a key
// of its own allocated and kept for the garbage collector to scan.
type hotCache struct {
	read map[string]int // index into vals
	vals [][]byte
	// written is keyed by strings over the decision's key bytes (Tx.copy's
	// arena, never modified once written) and cleared between groups.
	written map[string][]byte
	max     int
}

func newHotCache(max int) *hotCache {
	return &hotCache{read: make(map[string]int), written: make(map[string][]byte), max: max}
}

func (h *hotCache) get(k []byte) ([]byte, bool) {
	if v, ok := h.written[string(k)]; ok {
		return v, true
	}
	if i, ok := h.read[string(k)]; ok {
		return h.vals[i], true
	}
	return nil, false
}

// loaded records what the database holds under k (nil: nothing), read by a
// decision; k is the caller's and is copied.
func (h *hotCache) loaded(k, v []byte) {
	h.read[string(k)] = len(h.vals)
	h.vals = append(h.vals, v)
}

// wrote records a write of the group being decided; k must stay unmodified
// until the next trim (see written).
func (h *hotCache) wrote(k, v []byte) {
	if i, ok := h.read[string(k)]; ok {
		h.vals[i] = v
		return
	}
	h.written[unsafe.String(unsafe.SliceData(k), len(k))] = v
}

// trim runs only between groups, once the last group's batch is applied
// (or the store has failed): within a group the cache must hold every
// write, because the group's batch is not applied yet and reads do not
// look into it. Past its bound the read records are all forgotten: crude
// but O(1) amortised, and hot records come back.
func (h *hotCache) trim() {
	clear(h.written)
	if len(h.read) >= h.max {
		h.forget()
	}
}

// forget drops every record, for when the database changed under the
// cache (a bulk load).
func (h *hotCache) forget() {
	clear(h.written)
	clear(h.read)
	clear(h.vals)
	h.vals = h.vals[:0]
}

type op struct {
	fn func(store.Tx) error
	// excl, when set instead of fn, runs on the decider with no decision
	// in its group (see exclusive).
	excl func(*Tx) error
	err  error
	done chan error
}

var opPool = sync.Pool{New: func() any { return &op{done: make(chan error, 1)} }}

type group struct {
	batch *pebble.Batch // nil when no decision in the group wrote
	ops   []*op
	seq   uint64 // the group's number in commitKey, when it wrote
}

// Update runs fn on the decider goroutine and returns once its writes are
// durable, or once it is certain they were not made. fn's error is returned
// as is and its writes are dropped. fn must not block, and must not keep the
// Tx after returning.
func (db *DB) Update(fn func(store.Tx) error) error {
	if err := db.Err(); err != nil {
		return err
	}
	o := opPool.Get().(*op)
	o.fn = fn
	return db.submitOp(o)
}

// Serial is store.Serial's: every decision runs on the decider goroutine,
// once, and a group whose commit fails fails the store closed.
func (db *DB) Serial() bool { return true }

// exclusive runs fn on the decider between two groups: every decision
// submitted before it is applied, none after it has run. It returns fn's
// error once the groups before it are synced.
func (db *DB) exclusive(fn func(*Tx) error) error {
	if err := db.Err(); err != nil {
		return err
	}
	o := opPool.Get().(*op)
	o.excl = fn
	return db.submitOp(o)
}

func (db *DB) submitOp(o *op) error {
	db.submit.RLock()
	if db.closed.Load() {
		db.submit.RUnlock()
		opPool.Put(o)
		return store.ErrClosed
	}
	db.ops <- o
	db.submit.RUnlock()
	err := <-o.done
	o.fn, o.excl, o.err = nil, nil, nil
	opPool.Put(o)
	return err
}

// decide runs decisions in arrival order, in groups that share one batch
// and one WAL sync. The decider never waits for a sync, only the releaser
// does.
func (db *DB) decide() {
	defer db.deciderW.Done()
	defer close(db.groups)
	tx := &Tx{db: db.pdb, hot: newHotCache(db.opts.HotRecords)}
	wopts := pebble.Sync
	if db.opts.NoSync {
		wopts = pebble.NoSync
	}
	for {
		first := db.held
		db.held = nil
		if first == nil {
			var ok bool
			if first, ok = <-db.ops; !ok {
				return
			}
		}
		if first.excl != nil {
			// Alone: the groups before it are applied, and its answer
			// waits for their sync like any other.
			first.err = db.Err()
			if first.err == nil {
				tx.reset(nil)
				first.err = first.excl(tx)
			}
			db.groups <- &group{ops: []*op{first}}
			continue
		}
		g := &group{ops: make([]*op, 0, 16)}
		tx.hot.trim()
		b := db.pdb.NewBatch()
		g.ops = append(g.ops, first)
		// Decide what has queued, then what queued meanwhile, until the
		// queue is empty: under load a group grows to what arrived during
		// its own decisions, with no wait added when the load is light.
		for done := 0; done < len(g.ops); {
			for ; done < len(g.ops); done++ {
				o := g.ops[done]
				o.err = db.run(tx, b, o.fn)
			}
			db.drain(g)
		}
		if !b.Empty() {
			// The group's number goes with its writes, so that a restart
			// knows how far the log it replayed reaches (acked.go).
			db.seq++
			g.seq = db.seq
			if err := b.Set(commitKey, binary.BigEndian.AppendUint64(nil, g.seq), nil); err != nil {
				db.fail(err)
			}
		}
		if b.Empty() {
			b.Close()
		} else if err := db.Err(); err != nil {
			b.Close()
			for _, o := range g.ops {
				o.err = err
			}
		} else if db.opts.NoSync {
			err := db.pdb.Apply(b, wopts)
			b.Close()
			if err == nil {
				err = db.Err() // a fatal error reported through the logger
			}
			if err != nil {
				db.fail(err)
			}
		} else if err := db.applyNoSyncWait(b, wopts); err != nil {
			db.fail(err)
			// Pebble may still hold a batch whose commit failed; it is
			// dropped, not closed, so that it is never reused.
			for _, o := range g.ops {
				o.err = db.Err()
			}
		} else {
			g.batch = b
		}
		db.groups <- g
	}
}

// applyNoSyncWait hands b to Pebble, turning a panic of its commit path
// (Pebble panics when the WAL rejects a record) into an error: the store
// then fails closed and never applies again, so Pebble's state after the
// panic does not matter.
func (db *DB) applyNoSyncWait(b *pebble.Batch, wopts *pebble.WriteOptions) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pebble: commit panicked: %v", r)
		}
	}()
	if err := db.pdb.ApplyNoSyncWait(b, wopts); err != nil {
		return err
	}
	// A commit error reaches the logger's Fatalf, which failed the store,
	// and ApplyNoSyncWait then returns nil.
	return db.Err()
}

// drain adds the decisions waiting in the queue to g, up to MaxGroup.
func (db *DB) drain(g *group) {
	for db.held == nil && len(g.ops) < db.opts.MaxGroup {
		select {
		case o, ok := <-db.ops:
			if !ok {
				return
			}
			if o.excl != nil {
				db.held = o // runs alone, after this group
				return
			}
			g.ops = append(g.ops, o)
		default:
			return
		}
	}
}

func (db *DB) run(tx *Tx, b *pebble.Batch, fn func(store.Tx) error) (err error) {
	if err := db.Err(); err != nil {
		return err
	}
	tx.reset(b)
	err = safeCall(fn, tx)
	if tx.corrupt != nil && tx.failed == nil {
		// The decision read a corrupt record: it cannot be made, but
		// nothing failed that a restart would mend.
		return tx.corrupt
	}
	if err != nil {
		if tx.failed != nil {
			db.fail(tx.failed)
			return db.Err()
		}
		return err
	}
	if tx.failed != nil {
		// The decision swallowed a read error; its view was incomplete.
		db.fail(tx.failed)
		return db.Err()
	}
	if err := tx.flush(); err != nil {
		db.fail(err)
		return db.Err()
	}
	return nil
}

// release answers each group once its batch, and so every batch before it,
// is synced. Groups that wrote nothing are answered in order too: their
// answers (a 409, say) may rest on writes of an earlier group.
func (db *DB) release() {
	defer db.deciderW.Done()
	for g := range db.groups {
		if g.batch != nil {
			err := g.batch.SyncWait()
			if err == nil {
				err = db.Err()
			}
			if err != nil {
				db.fail(err)
				err = db.Err()
				for _, o := range g.ops {
					o.err = err
				}
				// A batch whose sync failed must not be reused; dropping
				// it without Close is what Pebble asks for.
			} else {
				g.batch.Close()
				db.synced.Store(g.seq)
				if db.acks != nil {
					db.acks.notify()
				}
			}
		}
		if fn := db.groupSizes.Load(); fn != nil {
			(*fn)(len(g.ops))
		}
		for _, o := range g.ops {
			o.done <- o.err
		}
	}
}

func safeCall(fn func(store.Tx) error, tx *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v\n%s", store.ErrDecisionPanicked, r, debug.Stack())
		}
	}()
	return fn(tx)
}
