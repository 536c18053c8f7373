package reward

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/segmentio/encoding/json"
)

// statusBatches keeps the batch records Status decoded, so that the
// landing page, which asks for a code's status on every view, decodes a
// batch once rather than once a view. Status still reads the record on
// every call and uses the kept one only when the bytes are the same: a
// batch changed by this node or by another sharing the database (activated,
// revoked, released) is decoded afresh, so nothing is ever stale. The
// kept batches are shared: Status only reads them.
type statusBatches struct {
	mu sync.RWMutex
	m  map[uint32]statusBatch
}

type statusBatch struct {
	raw []byte
	b   *Batch
}

// maxStatusBatches bounds the batches kept; past it they are dropped and
// kept again as pages ask for them.
const maxStatusBatches = 4096

// statusBatch is getBatch(e.db, id) for Status.
func (e *Engine) statusBatch(id uint32) (*Batch, bool, error) {
	raw, found, err := e.db.Get(batchKey(id))
	if err != nil || !found {
		return nil, false, err
	}
	c := &e.statusBatches
	c.mu.RLock()
	kept, ok := c.m[id]
	c.mu.RUnlock()
	if ok && bytes.Equal(kept.raw, raw) {
		return kept.b, true, nil
	}
	b := new(Batch)
	if err := json.Unmarshal(raw, b); err != nil {
		return nil, false, fmt.Errorf("reward: batch %d record is corrupt: %w", id, err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxStatusBatches {
		c.m = map[uint32]statusBatch{}
	}
	c.m[id] = statusBatch{raw: raw, b: b} // Get's value is the caller's to keep
	c.mu.Unlock()
	return b, true, nil
}
