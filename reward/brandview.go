package reward

import (
	"sync"
	"sync/atomic"

	"github.com/segmentio/encoding/json"
)

// brandView is the brand's settings as this engine last committed or read
// them, so that a scan finds the tier ladder (and the zone of a member's
// months) in memory instead of reading the brand record in every decision.
// It is one of the engine's single-writer views (see doc.go): only SetBrand
// writes the record, and it replaces the view once its decision has
// committed. Decisions of the same group after the change still see the old
// settings: they were asked concurrently with it, before it was
// acknowledged.
//
// An engine that shares its store with other writers (Options.NoSeenIndex)
// keeps it off and reads the record in each decision, as another node may
// change the ladder at any time: a cheap check of the record's version
// would still be a read of the store.
type brandView struct {
	off bool
	cur atomic.Pointer[Brand]
	// mu orders a load from the store with SetBrand's replacement, so
	// that a load that read the old record cannot overwrite the new one.
	mu sync.Mutex
}

// zeroBrand is the settings of a store where none were set. Shared: never
// modified.
var zeroBrand = &Brand{}

// warm loads the view from the store if it is empty, outside any decision:
// the decision after it finds the settings in memory. A failed read leaves
// it empty, and decisions read the record themselves.
func (v *brandView) warm(db getter) {
	if v.off || v.cur.Load() != nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cur.Load() != nil {
		return
	}
	raw, found, err := db.Get(brandKey)
	if err != nil {
		return
	}
	b := zeroBrand
	if found {
		b = new(Brand)
		if json.Unmarshal(raw, b) != nil {
			return
		}
	}
	v.cur.Store(b)
}

// set replaces the view with settings a decision committed.
func (v *brandView) set(b Brand) {
	if v.off {
		return
	}
	v.mu.Lock()
	v.cur.Store(&b)
	v.mu.Unlock()
}

// brandIn is the brand's settings inside a decision: the view when the
// engine is its store's one writer, else the record as the decision reads
// it. The result is shared: callers must not modify it.
func (e *Engine) brandIn(tx Tx) (*Brand, error) {
	if b := e.brand.cur.Load(); b != nil {
		return b, nil
	}
	b, _, err := readFrozen[Brand](e, tx, brandKey)
	if err != nil || b == nil {
		return zeroBrand, err
	}
	return b, nil
}
