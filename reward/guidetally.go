package reward

import (
	"bytes"
	"encoding/binary"
	"time"

	json "github.com/segmentio/encoding/json"
	"github.com/segmentio/ksuid"
)

// What a guide is owed, without rewriting the guide on a shared database.
//
// With one engine on its store (Pebble) a scan that pays a guide a
// commission appends an entry to the guide's ledger (gl/ID 0x00 SEQ) and
// rewrites the guide's record (g/ID: the commission, the ledger's last
// seq, the verifications and members counted), as a verification of a
// coupon and a binding do. With several nodes on one database every node's
// scans of a guide's members would write that one record and the same
// next seq, and PostgreSQL's SERIALIZABLE refuses the second of two
// concurrent writes of a row: the nodes' groups would take turns on their
// guides, as they did on a campaign's counters before escrow.
//
// So a decision of an engine with a node id (a node of a shared database)
// writes what it owes a guide as a record of its own, never read or
// rewritten by another scan: gp/ID 0x00 STAMP ID, holding the commission
// entry not yet numbered (no seq, no balance) and the verifications and
// members it adds. A fold numbers a guide's pending items into its ledger
// and record, in stamp order, in a decision of its own (foldGuide): before
// the guide's page, desk or settlement is read, and every guideFoldEvery on
// the node that relays the feed. The feed tells of a pending commission
// when it is numbered (commission.earned with its seq and balance), so the
// feed's balances are the ledger's. The audit joins pending entries to the
// redemptions and coupons that list them, as numbered ones. An engine
// without a node id writes the guide at once, as it always did: on Pebble
// no gp/ record is ever written.

// guideTally is one pending item of a guide (gp/ID 0x00 STAMP ID).
type guideTally struct {
	// Entry is a commission entry to number: Seq and Balance are set by
	// the fold. Nil for an item that only counts.
	Entry    *Entry `json:"entry,omitempty"`
	Verified int64  `json:"verified,omitempty"`
	Members  int64  `json:"members,omitempty"`
}

// guideFoldEvery is how often the relay's node folds every guide's
// pending items, so that they stay few between reads of a guide.
const guideFoldEvery = 5 * time.Second

// foldChunk bounds the pending items one fold decision numbers.
const foldChunk = 256

func guidePendingPrefix(guide string) []byte {
	return append(append([]byte("gp/"), guide...), 0)
}

// guidePendingKey orders a guide's pending items by when they were made,
// id breaking ties (two nodes' clocks may agree to the nanosecond).
func guidePendingKey(guide string, at time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(guidePendingPrefix(guide), uint64(at.UnixNano()))
	return append(k, id...)
}

// sharedNode is the node id of the engine deciding tx: "" for an engine
// without one, which writes guides at once.
func sharedNode(tx Tx) string {
	if et, ok := tx.(*eventTx); ok {
		return et.node
	}
	return ""
}

// owe adds to g what the decision tx owes it: t's verifications and
// members, and a commission entry of delta for reason (none when delta is
// 0). It returns the entry, whose id the redemption or coupon lists. An
// engine without a node id writes the guide's record and ledger at once;
// one with a node id leaves a pending item (see above), and g stays as
// read.
func (g *Guide) owe(tx Tx, now time.Time, t guideTally, delta int64, reason string, ref Entry) (Entry, error) {
	if sharedNode(tx) == "" {
		g.Verified += t.Verified
		g.Members += t.Members
		var en Entry
		if delta != 0 {
			var err error
			if en, err = g.post(tx, now, delta, reason, ref); err != nil {
				return Entry{}, err
			}
		}
		putJSON(tx, guideKey(g.ID), g)
		return en, nil
	}
	id := ksuid.New().String()
	if delta != 0 {
		en := g.entry(id, now, delta, reason, ref)
		t.Entry = &en
	}
	putJSON(tx, guidePendingKey(g.ID, now, id), t)
	if t.Entry != nil {
		return *t.Entry, nil
	}
	return Entry{}, nil
}

// foldGuide numbers guide id's pending items into its ledger and record,
// foldChunk at a time. Items written meanwhile wait for the next fold.
func (e *Engine) foldGuide(id string) error {
	prefix := guidePendingPrefix(id)
	for {
		var keys [][]byte
		err := e.db.Scan(prefix, nil, func(k, _ []byte) bool {
			keys = append(keys, bytes.Clone(k))
			return len(keys) < foldChunk
		})
		if err != nil {
			return wrapStore(err)
		}
		if len(keys) == 0 {
			return nil
		}
		var folded int
		// The decision reads the guide and each item: named, they are
		// read in one round trip on a store that reads ahead, rather
		// than one an item (256 of them held the node's decisions back
		// for over half a second on PostgreSQL, docs/cluster.md).
		reads := append([][]byte{guideKey(id)}, keys...)
		hints := func() (r, c [][]byte) { return reads, nil }
		if err := e.updateIn(-1, hints, func(tx Tx) (err error) { folded, err = foldItems(tx, id, keys); return err }); err != nil {
			return err
		}
		// Items left unfolded (their guide has no record) would be read
		// again and again: the audit reports them.
		if len(keys) < foldChunk || folded == 0 {
			return nil
		}
	}
}

// foldItems is the decision of a fold: each item of keys still pending
// is added to the guide and deleted, its entry numbered. An item another
// fold took meanwhile is gone, and that fold rewrote the guide: on a
// shared database the two folds conflict there, and this one runs again.
func foldItems(tx Tx, id string, keys [][]byte) (n int, err error) {
	g, err := loadGuide(tx, id)
	if err != nil || g == nil {
		// Items of a guide with no record stay, for the audit to report.
		return 0, err
	}
	for _, k := range keys {
		var t guideTally
		found, err := getJSON(tx, k, &t)
		if err != nil {
			return 0, err
		}
		if !found {
			continue
		}
		n++
		g.Verified += t.Verified
		g.Members += t.Members
		if t.Entry != nil {
			if err := g.number(tx, t.Entry); err != nil {
				return 0, err
			}
		}
		tx.Delete(k)
	}
	if n > 0 {
		putJSON(tx, guideKey(id), g)
	}
	return n, nil
}

// foldShared folds guide id's pending items before a read of its record or
// ledger, on an engine that shares its store (only there are there any).
func (e *Engine) foldShared(id string) error {
	if e.node == "" && !e.shared {
		return nil
	}
	return e.foldGuide(id)
}

// FoldGuides folds every guide's pending items, guide by guide.
func (e *Engine) FoldGuides() error {
	p := []byte("gp/")
	var start []byte
	for {
		id, found := "", false
		err := e.db.Scan(p, start, func(k, _ []byte) bool {
			id, found = holderOf(k, "gp/"), true
			return false
		})
		if err != nil {
			return wrapStore(err)
		}
		if !found {
			return nil
		}
		if err := e.foldGuide(id); err != nil {
			return err
		}
		// The least key after every one of the guide's: ids hold no 0x00.
		start = append(append([]byte("gp/"), id...), 1)
	}
}

// withPending adds to g, as read outside a decision, what its pending
// items add: the guide as it will be once they are folded (Seq stays the
// ledger's last numbered entry). Pebble holds none.
func withPending(r Scanner, g *Guide) error {
	var bad error
	err := r.Scan(guidePendingPrefix(g.ID), nil, func(_, raw []byte) bool {
		var t guideTally
		if bad = json.Unmarshal(raw, &t); bad != nil {
			return false
		}
		g.Verified += t.Verified
		g.Members += t.Members
		if t.Entry != nil {
			g.Commission += t.Entry.Delta
		}
		return true
	})
	return firstErr(err, bad)
}
