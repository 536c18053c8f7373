package reward

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/ksuid"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/store"
)

// A preload fills a store with redeemed codes for growth benchmarks (yima
// bench --preload): members, their ledgers, redemptions, scan records and
// feed events, as many as a brand collects in months, in minutes. The
// records are the real ones: every code is redeemed by the redemption rule
// itself (decideScan), run on an in-memory view of the store instead of a
// decision, and what it writes goes to a store.Loader in key order, which
// the backend ingests whole. So the audit passes on a preloaded store, a
// preloaded code is refused as already redeemed, and the records weigh
// what real ones would.
//
// It redeems serials 1..Codes of one batch, PerMember consecutive codes to
// each member in turn, so that every kind of record comes out in ascending
// key order: codes sort by serial within a batch, member ids are numbered
// with leading zeros, ledger keys and daily counts follow their member,
// feed events their sequence, coupons and their expiries the preload's
// clock (its coupon ids are KSUIDs of that clock, numbered within a
// second). The batch may be of fixed points or covered by a campaign
// (docs/rewards.md's example: random points, a new-member bonus, gift
// coupons); the scans name no guide, so no commission is preloaded.
// Records every redemption rewrites (the feed's head, the campaign's
// counters and prize counts) are kept in memory and written once, at the
// end. Statistics (the dashboard's daily counts) are engine memory written
// after decisions, and are not preloaded.

// PreloadSpec says what Preload redeems.
type PreloadSpec struct {
	// Batch is an active batch without a PIN, of fixed points or of a
	// product a live campaign covers for the preload's days, with at
	// least Codes codes, none scanned.
	Batch uint32
	// Codes is how many codes are redeemed: serials 1..Codes.
	Codes int
	// PerMember is how many codes each member redeems (10).
	PerMember int
	// Members names the members: Members + a zero-padded number.
	Members string
	// From and To bound the redemptions' times, spread evenly (the 30
	// days before the preload).
	From, To time.Time
}

// Preloaded is what a preload wrote: Guard refuses to ingest it if the
// store changed underneath, and the engine learns of it with Preloaded.
type Preloaded struct {
	Spec    PreloadSpec
	Members int
	// Records and Bytes count what went to the loader.
	Records, Bytes int64
	// FeedFrom and FeedTo are the feed's head before and after.
	FeedFrom, FeedTo int64
}

// preloadFamilies are the records a redemption writes, each in ascending
// key order across a preload; preloadTotals are those every redemption
// rewrites, written once at the end with the feed's head.
var (
	preloadFamilies = []string{"cpn/", "cx/", "dl/", "ev/", "l/", "m/", "nb/", "r/", "sc/"}
	preloadTotals   = []string{"cc/", "cpz/", string(feedHeadKey)}
)

// Preload redeems spec's codes through the redemption rule and puts every
// record into l. Nothing is in the store until the caller ingests l with
// the result's Guard, and then calls Preloaded.
func (e *Engine) Preload(ctx context.Context, spec PreloadSpec, l store.Loader) (*Preloaded, error) {
	if spec.PerMember <= 0 {
		spec.PerMember = 10
	}
	if spec.To.IsZero() {
		spec.To = e.now()
	}
	if spec.From.IsZero() || !spec.From.Before(spec.To) {
		spec.From = spec.To.AddDate(0, 0, -30)
	}
	if spec.Members == "" {
		spec.Members = "preload-"
	}
	b, found, err := getBatch(e.db, spec.Batch)
	switch {
	case err != nil:
		return nil, err
	case !found:
		return nil, Errorf(CodeNotFound, "batch %d does not exist", spec.Batch)
	case spec.Codes < 1 || uint64(spec.Codes) > uint64(b.Count):
		return nil, Errorf(CodeInvalidRequest, "batch %d has %d codes; a preload redeems 1 to all of them, not %d", spec.Batch, b.Count, spec.Codes)
	case b.Claim == ClaimPIN:
		return nil, Errorf(CodeInvalidRequest, "batch %d is claimed with a PIN; a preload redeems batches without one", spec.Batch)
	}
	signer, err := e.Signer(b)
	if err != nil {
		return nil, err
	}
	head, err := storedFeedHead(e.db)
	if err != nil {
		return nil, err
	}
	res := &Preloaded{Spec: spec, FeedFrom: int64(head)}
	runs := map[string]store.Run{}
	defer func() {
		for _, r := range runs {
			r.Close()
		}
	}()
	for _, f := range append(slices.Clone(preloadFamilies), "totals") {
		if runs[f], err = l.Run(); err != nil {
			return nil, err
		}
	}
	put := func(k, v []byte) error {
		res.Records++
		res.Bytes += int64(len(k) + len(v))
		for _, f := range preloadFamilies {
			if bytes.HasPrefix(k, []byte(f)) {
				return runs[f].Put(k, v)
			}
		}
		return fmt.Errorf("reward: a preloaded redemption wrote %q, which is not a record a preload can bulk-load", k)
	}

	// One engine of its own decides: no index of scanned codes (every
	// code is looked up, in the view and then the store), its clock the
	// preload's.
	var now time.Time
	gen := New(e.db, e.Keys(), Options{NoSeenIndex: true, Now: func() time.Time { return now }})
	gen.ids = preloadIDs(func() time.Time { return now })
	view := &preloadTx{db: e.db, writes: map[string][]byte{}, reads: map[string][]byte{}}
	view.writes[string(feedHeadKey)] = store.AppendCounter(nil, res.FeedFrom)
	step := spec.To.Sub(spec.From) / time.Duration(spec.Codes)
	width := len(fmt.Sprint((spec.Codes + spec.PerMember - 1) / spec.PerMember))
	code := make([]byte, 0, 32)
	for first := 1; first <= spec.Codes; first += spec.PerMember {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		member := fmt.Sprintf("%s%0*d", spec.Members, width, res.Members+1)
		for serial := first; serial < first+spec.PerMember && serial <= spec.Codes; serial++ {
			code = signer.Append(code[:0], uint32(serial))
			p, err := codegen.Parse(string(code))
			if err != nil {
				return nil, err
			}
			now = spec.From.Add(time.Duration(serial-1) * step)
			_, red, refusal := gen.decideScan(view, p, p.String(), ScanRequest{Code: p.String(), Member: member}, nil)
			if refusal != nil {
				return nil, fmt.Errorf("reward: preloading code %d of batch %d: %w", serial, spec.Batch, refusal)
			}
			if red == nil {
				return nil, fmt.Errorf("reward: preloading code %d of batch %d: not redeemed", serial, spec.Batch)
			}
		}
		res.Members++
		if err := view.flush(put); err != nil {
			return nil, err
		}
	}
	res.FeedTo, _ = store.Counter(view.writes[string(feedHeadKey)])
	if err := view.flushTotals(runs["totals"].Put); err != nil {
		return nil, err
	}
	for f, r := range runs {
		delete(runs, f)
		if err := r.Close(); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// Guard refuses to ingest the preload when the feed moved since it was
// read: its events would then share numbers with others.
func (p *Preloaded) Guard(tx store.Tx) error {
	// The events are numbered without gaps: the feed moved if and only if
	// the number after the preload's first is taken (an engine keeping the
	// feed's tail in memory writes no head record, see feedtail.go), or if
	// an engine keeping the record moved it.
	_, moved, err := tx.Get(feedKey(uint64(p.FeedFrom) + 1))
	if err != nil {
		return err
	}
	head, err := counterAt(tx, feedHeadKey)
	if err != nil {
		return err
	}
	if moved || head > p.FeedFrom {
		return fmt.Errorf("reward: the store's feed moved past event %d during the preload; nothing was loaded. Preload a store nothing else writes to", p.FeedFrom)
	}
	return nil
}

// Preloaded tells the engine of an ingested preload: its codes are scanned
// (the index of scanned codes would otherwise skip their lookup and pay
// them again) and the feed's readers may read its events.
func (e *Engine) Preloaded(p *Preloaded) error {
	err := e.update(func(Tx) error {
		for s := 1; s <= p.Spec.Codes; s++ {
			e.seen.set(p.Spec.Batch, uint32(s))
		}
		// The next decision numbers after the preload's events.
		e.tail.raise(uint64(p.FeedTo))
		return nil
	})
	if err == nil {
		e.feed.advance(uint64(p.FeedTo))
	}
	return err
}

// preloadTx is the view a preload decides on: the writes of the member
// being preloaded over the store, and records read from the store that
// no preload writes (the batch), kept so that decoding them is cached.
type preloadTx struct {
	db     store.Reader
	writes map[string][]byte
	reads  map[string][]byte
}

func (t *preloadTx) Get(key []byte) ([]byte, bool, error) {
	if v, ok := t.writes[string(key)]; ok {
		return v, v != nil, nil
	}
	if v, ok := t.reads[string(key)]; ok {
		return v, v != nil, nil
	}
	v, found, err := t.db.Get(key)
	if err != nil {
		return nil, false, err
	}
	if !preloaded(key) {
		if len(t.reads) > 4096 {
			clear(t.reads)
		}
		t.reads[string(key)] = v
	}
	return v, found, nil
}

func (t *preloadTx) Put(key, value []byte) {
	if value == nil {
		value = []byte{}
	}
	t.writes[string(key)] = value
}

func (t *preloadTx) Delete(key []byte) { t.writes[string(key)] = nil }

func (t *preloadTx) Add(key []byte, delta int64) {
	v, _, _ := t.Get(key)
	n, _ := store.Counter(v)
	t.Put(key, store.AppendCounter(nil, n+delta))
}

// flush puts one member's records, in key order, and keeps the totals.
func (t *preloadTx) flush(put func(k, v []byte) error) error {
	return t.put(put, func(k string) bool { return !total(k) })
}

// flushTotals puts the totals, at the end of the preload.
func (t *preloadTx) flushTotals(put func(k, v []byte) error) error {
	return t.put(put, total)
}

// put puts the writes whose keys which picks, in key order.
func (t *preloadTx) put(put func(k, v []byte) error, which func(string) bool) error {
	keys := make([]string, 0, len(t.writes))
	for k := range t.writes {
		if which(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := t.writes[k]
		if v == nil {
			return fmt.Errorf("reward: a preloaded redemption deleted %q", k)
		}
		if err := put([]byte(k), v); err != nil {
			return err
		}
		delete(t.writes, k)
	}
	return nil
}

// preloaded reports whether key is of a kind a preload writes.
func preloaded(key []byte) bool {
	for _, f := range preloadFamilies {
		if strings.HasPrefix(string(key), f) {
			return true
		}
	}
	return total(string(key))
}

// total reports whether key is one every redemption may rewrite.
func total(key string) bool {
	for _, f := range preloadTotals {
		if strings.HasPrefix(key, f) {
			return true
		}
	}
	return false
}

// preloadIDs names a preload's coupons in the order it issues them:
// KSUIDs of the preload's clock whose payload starts with a count (so
// that ids of one second sort as issued) and ends with random bytes of
// the preload's own (so that no two preloads share one).
func preloadIDs(now func() time.Time) func() string {
	var payload [16]byte
	rand.Read(payload[8:])
	var n uint64
	return func() string {
		n++
		binary.BigEndian.PutUint64(payload[:8], n)
		id, err := ksuid.FromParts(now(), payload[:])
		if err != nil {
			panic(err) // a 16-byte payload is always accepted
		}
		return id.String()
	}
}
