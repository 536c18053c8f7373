package reward

import (
	"context"
	"errors"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/store"
)

// seenIndex knows, for every batch, which serials have a scan record or a
// redemption (a code's first scan that redeems it writes only the latter).
// Most scans are of codes nobody scanned before, and proving that a record
// is absent is the costliest read of a scan: the index answers it from
// memory. A clear bit means "neither record" for certain; a set bit means
// "look it up". One bit per serial: ten million scanned codes take 1.25 MB.
//
// Only decisions touch it, so the decider goroutine serialises every
// access. Until it is loaded (after a restart it is rebuilt in the
// background from a snapshot, see LoadSeen) every scan reads the store, as
// if there were no index.
//
// Setting a bit inside a decision, before its commit, is what keeps it
// right: the next decision of the same group must see it. A bit set by a
// decision that then fails, or set twice by a retried one, costs one
// lookup and is never wrong. It is right only while this engine is the
// store's one writer (see Options.NoSeenIndex).
type seenIndex struct {
	off   bool // Options.NoSeenIndex: never loaded, nothing recorded
	ready bool
	bits  map[uint32][]uint64 // batch → serial bitmap
	// fresh records the serials scanned for the first time while the
	// index loads: the snapshot it loads from may miss them.
	fresh [][2]uint32
}

func (s *seenIndex) set(batch, serial uint32) {
	if s.off {
		return
	}
	if !s.ready {
		s.fresh = append(s.fresh, [2]uint32{batch, serial})
		return
	}
	setBit(s.bits, batch, serial)
}

// absent reports whether the code was certainly never scanned.
func (s *seenIndex) absent(batch, serial uint32) bool {
	if !s.ready {
		return false
	}
	b := s.bits[batch]
	i := serial / 64
	return int(i) >= len(b) || b[i]&(1<<(serial%64)) == 0
}

func setBit(bits map[uint32][]uint64, batch, serial uint32) {
	b := bits[batch]
	i := int(serial / 64)
	if i >= len(b) {
		b = append(b, make([]uint64, i+1-len(b)+len(b)/4)...)
	}
	b[i] |= 1 << (serial % 64)
	bits[batch] = b
}

// LoadSeen builds the index of scanned codes from a snapshot of the store
// and installs it; scans then skip the lookup of a fresh code's records.
// A server calls it once in the background after opening the store; it
// returns when the index is in place, or with the store's error.
func (e *Engine) LoadSeen(ctx context.Context) error {
	if e.seen.off {
		return nil
	}
	// The snapshot is taken inside a decision, so it holds every decision
	// before this one that was applied; the ones it may miss (earlier in
	// this decision's group) are in seen.fresh, which every first scan
	// appends to until the index is ready.
	var snap store.Snapshot
	err := e.update(func(Tx) error {
		var err error
		snap, err = e.db.Snapshot()
		return err
	})
	if err != nil {
		return err
	}
	defer snap.Close()
	bits := map[uint32][]uint64{}
	// A code is scanned when it has a scan record or a redemption: the
	// one scan that redeemed it writes none (see ScanStats).
	for _, prefix := range [][]byte{[]byte("sc/"), []byte("r/")} {
		var perr error
		err = snap.Scan(prefix, nil, func(k, _ []byte) bool {
			if perr = ctx.Err(); perr != nil {
				return false
			}
			p, err := codegen.Parse(string(k[len(prefix):]))
			if err != nil {
				// A record under a key that is no code: leave the
				// index unloaded rather than trust it.
				perr = errors.New("reward: scan record or redemption under a key that is not a code: " + string(k))
				return false
			}
			setBit(bits, p.Batch, p.Serial)
			return true
		})
		if err = firstErr(err, perr); err != nil {
			return err
		}
	}
	return e.update(func(Tx) error {
		for _, f := range e.seen.fresh {
			setBit(bits, f[0], f[1])
		}
		e.seen = seenIndex{ready: true, bits: bits}
		return nil
	})
}
