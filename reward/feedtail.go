package reward

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/yima-dev/yima/store"
)

// The feed's tail: the last number a decision gave an event. A decision
// that records events numbers them after it. Where the engine is its
// store's single writer and the store runs its decisions one at a time
// and says so (store.Serial: the Pebble engine, the in-memory backend),
// the tail is kept in memory:
// found once from the store (storedFeedHead: the last event's key, by a
// reverse seek) and then moved by the decisions themselves, so that they
// write no head record (it was one more key in every decision, a memtable
// insert each). A decision moves it only when it returns nil having read
// without error, which is when the store keeps it; a run that a backend
// throws away to run the decision again (the in-memory backend does, at
// once) starts again from the tail the first run found. A store that fails
// a group of decisions fails closed, so no later decision numbers after
// events that were not written.
//
// Elsewhere (an engine sharing its store, a store that is not Serial, such
// as one deciding in lanes, whose groups may run again in another order)
// every decision reads and writes the head record meta/feed-head, as it
// always did; on a shared database the relay numbers events in batches
// (relay.go). meta/feed-head is therefore only a floor of the head: stores
// written by a single writer hold a stale one, or none. Readers of a whole store take the head as
// storedFeedHead does, and an engine that keeps the record raises it to
// that once before its first decision (repair), so that a store moved to
// PostgreSQL (yima migrate) numbers after its last event, never over it.

// feedTail is an engine's view of the feed's tail (see above).
type feedTail struct {
	// on is set where the tail is kept in memory.
	on bool
	mu sync.Mutex
	// ready is set once last is loaded (on) or the record repaired (off).
	ready atomic.Bool
	// last is the last number given, by a decision that may not be
	// durable yet. Only decisions change it once it is loaded.
	last atomic.Uint64
}

// storedFeedHead is the last event number r holds: the highest of the
// head record, the last event's key and the compaction's floor (the events
// below it are gone, the last one among them included).
func storedFeedHead(r store.Reader) (uint64, error) {
	head, err := counterAt(r, feedHeadKey)
	if err != nil {
		return 0, err
	}
	floor, err := counterAt(r, feedFloorKey)
	if err != nil {
		return 0, err
	}
	var last uint64
	err = r.ScanReverse(feedPrefix, func(k, _ []byte) bool {
		if len(k) == len(feedPrefix)+8 {
			last = binary.BigEndian.Uint64(k[len(feedPrefix):])
		}
		return false
	})
	if err != nil {
		return 0, err
	}
	return max(uint64(max(head, 0)), last, uint64(max(floor-1, 0))), nil
}

// warm readies the view before a decision, outside it: on, it loads the
// tail from the store the first time; off, it raises the head record to
// the store's head once (see repair). It fails when the store cannot be
// read: no decision may number events meanwhile.
func (t *feedTail) warm(e *Engine) error {
	if t.ready.Load() {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ready.Load() {
		return nil
	}
	head, err := storedFeedHead(e.db)
	if err != nil {
		return err
	}
	if t.on {
		// No decision of this engine has run yet: every one waits here.
		t.last.Store(head)
	} else if err := repairFeedHead(e.db, head); err != nil {
		return err
	}
	t.ready.Store(true)
	return nil
}

// repairFeedHead raises the head record to head where it is below: events
// up to head exist, so that a decision or a relay numbering after the
// record never gives one of their numbers again. A record that is not
// below costs no decision (the usual case: the engines of a shared
// database keep it).
func repairFeedHead(db store.DB, head uint64) error {
	if n, err := counterAt(db, feedHeadKey); err != nil || uint64(max(n, 0)) >= head {
		return err
	}
	return db.Update(func(tx Tx) error {
		n, err := counterAt(tx, feedHeadKey)
		if err != nil || uint64(max(n, 0)) >= head {
			return err
		}
		tx.Put(feedHeadKey, store.AppendCounter(nil, int64(head)))
		return nil
	})
}

// raise moves an in-memory tail to seq if it is below, inside a decision
// (a preload's events were ingested past it).
func (t *feedTail) raise(seq uint64) {
	if t.on && t.last.Load() < seq {
		t.last.Store(seq)
	}
}

// feedTailIn is the last number given before the decision tx runs.
func feedTailIn(tx Tx) (uint64, error) {
	if et, ok := tx.(*eventTx); ok && et.numbering {
		return et.tail, nil
	}
	n, err := counterAt(tx, feedHeadKey)
	return uint64(max(n, 0)), err
}
