package reward

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/segmentio/encoding/json"
)

// statusRecords keeps the records Status reads on every call and few
// decisions write: a code's batch, its product's campaign list and the
// campaigns on it. The landing page asks for a code's status on every
// view, and reading and decoding these was a third of a view's cost.
// Entries are shared: Status only reads them.
//
// It is one of the engine's single-writer views (see doc.go). While this
// engine is its store's one writer, an entry is kept until a decision
// writes its key: every decision runs through update, whose Tx notes the
// keys of these records it puts, deletes or adds to, and update drops
// them once the store has answered, before its caller hears of the
// decision. A read that raced such a decision keeps nothing: every drop
// advances gen, and a read stores what it read only if gen has not moved
// since before it read. So Status never answers from a record older than
// a decision acknowledged before it was asked, and absent records (a
// product without campaigns) are kept as absent the same way.
//
// An engine sharing its store (Options.NoSeenIndex, or a NodeID) cannot
// know another node's writes: it reads each record on every call and uses
// the kept entry only when the bytes are the same, which saves only the
// decoding; a record changed by any node is decoded afresh.
type statusRecords struct {
	off bool // shared store: validate every entry against the store
	mu  sync.RWMutex
	gen uint64
	m   map[string]statusRecord
}

type statusRecord struct {
	raw   []byte // the bytes decoded, kept only when off
	found bool
	v     any
}

// maxStatusRecords bounds the entries kept; past it they are dropped and
// kept again as pages ask for them.
const maxStatusRecords = 4096

// isStatusRecord reports whether key is one statusRecords keeps.
func isStatusRecord(key []byte) bool {
	return bytes.HasPrefix(key, batchPrefix) || bytes.HasPrefix(key, productCampaignsPrefix) || bytes.HasPrefix(key, campaignPrefix)
}

// readStatusRecord reads key for Status, decoded into a *T shared with
// other callers; what names the record in a decoding error. key is not
// kept: callers may pass a buffer of their own.
func readStatusRecord[T any](e *Engine, key []byte, what string) (*T, bool, error) {
	c := &e.statusRecords
	c.mu.RLock()
	kept, ok := c.m[string(key)]
	gen := c.gen
	c.mu.RUnlock()
	if ok && !c.off {
		v, _ := kept.v.(*T)
		return v, kept.found, nil
	}
	k := slices.Clone(key)
	raw, found, err := e.db.Get(k)
	if err != nil {
		return nil, false, err
	}
	if ok && kept.found == found && bytes.Equal(kept.raw, raw) {
		v, _ := kept.v.(*T)
		return v, found, nil
	}
	var v *T
	if found {
		v = new(T)
		if err := json.Unmarshal(raw, v); err != nil {
			return nil, false, fmt.Errorf("reward: %s record is corrupt: %w", what, err)
		}
	}
	entry := statusRecord{found: found, v: v}
	if c.off {
		entry.raw = raw // Get's value is the caller's to keep
	}
	c.mu.Lock()
	if c.off || c.gen == gen {
		if c.m == nil || len(c.m) >= maxStatusRecords {
			c.m = map[string]statusRecord{}
		}
		c.m[string(k)] = entry
	}
	c.mu.Unlock()
	return v, found, nil
}

// drop forgets keys, written by a decision the store has answered.
func (c *statusRecords) drop(keys []string) {
	if len(keys) == 0 || c.off {
		return
	}
	c.mu.Lock()
	c.gen++
	for _, k := range keys {
		delete(c.m, k)
	}
	c.mu.Unlock()
}

// statusBatch is getBatch(e.db, id) for Status.
func (e *Engine) statusBatch(id uint32) (*Batch, bool, error) {
	var buf [8]byte
	key := binary.BigEndian.AppendUint32(append(buf[:0], batchPrefix...), id)
	b, found, err := readStatusRecord[Batch](e, key, "batch")
	if err != nil {
		return nil, false, fmt.Errorf("reward: batch %d: %w", id, err)
	}
	return b, found, nil
}
