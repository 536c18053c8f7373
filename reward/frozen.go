package reward

import (
	"sync"
	"unsafe"

	"github.com/segmentio/encoding/json"
)

// frozen remembers the decoded form of records that every scan reads and
// few decisions write — batches, campaigns, product indexes — so that an
// unchanged record is decoded once, not once per scan. An entry is keyed by
// the identity of the bytes the store handed out: the decider's cache
// returns the same slice until the record is written again, and a write
// brings new bytes, so a stale entry can never match.
//
// Only decisions touch it, and its values are shared: callers must not
// modify them. A store deciding in several lanes (store.Laned) runs
// decisions on several goroutines at once, hence the lock.
type frozen struct {
	mu sync.RWMutex
	m  map[string]frozenEntry
}

type frozenEntry struct {
	data *byte
	n    int
	v    any
}

const maxFrozen = 1 << 16

// hint returns the *T decoded last from key's record, whatever the record
// holds now, or nil: for naming the keys a decision will probably read
// (store.UpdateReading), never for deciding. Only the decider calls it.
func hint[T any](e *Engine, key []byte) *T {
	e.frozen.mu.RLock()
	defer e.frozen.mu.RUnlock()
	v, _ := e.frozen.m[string(key)].v.(*T)
	return v
}

// readFrozen reads key inside a decision and decodes it into a fresh *T, or
// returns the shared *T decoded from the same bytes before. found is false
// when the key is absent.
func readFrozen[T any](e *Engine, tx Tx, key []byte) (v *T, found bool, err error) {
	raw, found, err := tx.Get(key)
	if err != nil || !found {
		return nil, false, err
	}
	e.frozen.mu.RLock()
	f, ok := e.frozen.m[string(key)]
	e.frozen.mu.RUnlock()
	if ok && f.data == unsafe.SliceData(raw) && f.n == len(raw) {
		if v, ok := f.v.(*T); ok {
			return v, true, nil
		}
	}
	v = new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, false, err
	}
	e.frozen.mu.Lock()
	defer e.frozen.mu.Unlock()
	if len(e.frozen.m) >= maxFrozen {
		clear(e.frozen.m)
	}
	e.frozen.m[string(key)] = frozenEntry{data: unsafe.SliceData(raw), n: len(raw), v: v}
	return v, true, nil
}
