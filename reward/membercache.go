package reward

import (
	"slices"
	"time"
	"unsafe"

	"github.com/segmentio/encoding/json"
)

// memberCache remembers the member records scans wrote, decoded, keyed as
// frozen is by the identity of the bytes written: where the store hands
// back the very bytes a decision put (the Pebble engine's decider cache),
// the member's next scan copies the record instead of decoding its JSON,
// which was the largest part of reading it. Any other bytes under the key
// (another decision's write, a store that copies, a restart) do not match
// and are decoded as before, and an entry holds its bytes, so no other
// record can come to sit at the same address.
//
// Its members are handed out as copies only: a decision changes the
// member it loaded, and may fail after that. Only decisions touch it, and
// it is on only where they run one at a time (store.Serial), so it takes
// no lock, as the index of scanned codes takes none.
type memberCache struct {
	// on where the store hands decisions back the bytes a decision put:
	// one writer on a Serial store, as for the feed's tail. Elsewhere
	// (PostgreSQL) no lookup could hit, and filling the cache would only
	// cost each scan a key and the members' memory.
	on bool
	m  map[string]cachedMember
}

type cachedMember struct {
	data *byte
	n    int
	m    *Member
}

// maxCachedMembers bounds the cache: a few MB of recently scanned members.
const maxCachedMembers = 1 << 14

// loadScanMember is loadResolved through e.members.
func (e *Engine) loadScanMember(tx getter, canonical string, now time.Time) (*Member, error) {
	if !e.members.on {
		return loadResolved(tx, canonical, now)
	}
	key := memberKey(canonical)
	raw, found, err := tx.Get(key)
	if err != nil {
		return nil, err
	}
	if !found {
		return &Member{ID: canonical, Created: now, fresh: true}, nil
	}
	c, ok := e.members.m[string(key)]
	if ok && c.data == unsafe.SliceData(raw) && c.n == len(raw) {
		return c.m.clone(), nil
	}
	m := &Member{ID: canonical}
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, err
	}
	return m, nil
}

// putScanMember is putMember remembering m under the bytes written. m is
// the cache's from then on: the caller must not change it.
func (e *Engine) putScanMember(tx Tx, m *Member) error {
	if !e.members.on {
		return putMember(tx, m)
	}
	key, raw, err := putMemberRecord(tx, m)
	if err != nil || !m.decodesAsIs() {
		return err
	}
	c := cachedMember{data: unsafe.SliceData(raw), n: len(raw), m: m}
	if e.members.m == nil || len(e.members.m) >= maxCachedMembers {
		e.members.m = make(map[string]cachedMember)
	}
	e.members.m[string(key)] = c
	return nil
}

// clone is a copy of m sharing nothing a decision may change, as decoding
// its record would give it: no decision's state (zone, fresh) and no empty
// list where the record omits it (TestMemberCloneIsTheDecodedRecord).
func (m *Member) clone() *Member {
	c := *m
	c.zone, c.fresh = nil, false
	c.Aliases = cloneList(m.Aliases)
	c.Merged = cloneList(m.Merged)
	c.Lots = cloneList(m.Lots)
	c.GrowthMonths = cloneList(m.GrowthMonths)
	if m.FirstTouch != nil {
		t := *m.FirstTouch
		c.FirstTouch = &t
	}
	return &c
}

func cloneList[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// decodesAsIs reports whether decoding m's record gives m's times back as
// they are: in UTC, as the engine's clock gives them. A time in another
// location would come back as a fixed offset, so such a member is not
// cached.
func (m *Member) decodesAsIs() bool {
	utc := func(t time.Time) bool { return t.Location() == time.UTC && t == t.Round(0) }
	return utc(m.Created) && utc(m.BoundAt) && (m.FirstTouch == nil || utc(m.FirstTouch.At))
}
