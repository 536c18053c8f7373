package reward

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/yima-dev/yima/store"
)

// Stat is one line of the operators' view: redemptions and what they paid,
// for one value of a dimension on one day (in the brand's time zone, Engine.Zone).
type Stat struct {
	Dimension  string `json:"dimension"`
	Value      string `json:"value"`
	Day        string `json:"day,omitempty"`
	Redeemed   int64  `json:"redeemed"`
	Points     int64  `json:"points"`
	Coupons    int64  `json:"coupons"`
	Commission int64  `json:"commission"`
	// Diverted counts redemptions outside the batch's intended region.
	Diverted int64 `json:"diverted"`
	// Verified counts coupons verified at the counter (核销), on the day
	// of the verification, under the verifying guide and their store.
	Verified int64 `json:"verified"`
	// NewMembers counts the members whose first touch (Member.FirstTouch,
	// their first redeemed scan) this line holds.
	NewMembers int64 `json:"new_members"`
}

// Dimensions a redemption is counted under. A source is the scan's
// channel; a store is the store of the guide the sale belongs to (the
// member's bound guide, else the scan's; see Redemption.Store).
var Dimensions = []string{"product", "batch", "region", "guide", "campaign", "source", "store"}

// NoValue is the line of a source or store dimension that counts scans
// without one: a scan that named no source, a sale no store's guide had a
// part in. No source can be "(none)" (checkSource allows no parentheses),
// so the line never mixes with a real channel's.
const NoValue = "(none)"

func statKey(dim, value, day string) []byte {
	k := append(append([]byte("st/"), dim...), 0)
	return append(append(append(k, value...), 0), day...)
}

// appendStatKey appends statKey's bytes to b.
func appendStatKey(b []byte, dim, value string, day []byte) []byte {
	b = append(append(append(b, "st/"...), dim...), 0)
	return append(append(append(b, value...), 0), day...)
}

// statsEvery is how far statistics may lag the payouts they count.
const statsEvery = time.Second

// countStats adds a committed redemption to its lines of the day, one per
// dimension. Seven read-modify-writes per scan would cost more than the
// payout itself, so the sums collect in memory and the first count after
// statsEvery writes them in a decision of their own, as FlushStats does.
// A crash can lose that last second of statistics; it cannot lose a
// payout, and the audit never reads statistics.
//
// It runs after the redemption's commit, never inside its decision: a
// decision that is refused, or run again by a retrying backend, must not
// have counted.
func (e *Engine) countStats(r *Redemption) error {
	e.sumStats(saleValues(r, r.Guide, r.Store), r.At, func(s *Stat) {
		s.Redeemed++
		s.Points += r.Points
		s.Commission += r.Commission
		if r.Coupon != "" {
			s.Coupons++
		}
		if r.Diverted {
			s.Diverted++
		}
		if r.newMember {
			s.NewMembers++
		}
	})
	return e.maybeFlushStats()
}

// countVerified adds a coupon verification, and the commission it paid,
// to the lines of the sale that issued the coupon (sale is nil for a
// coupon no scan issued, such as the mall's), on the day and under the
// guide and store of the verification: the dashboard's commission then
// agrees with the campaign's counter, which counts both kinds, and a
// store's line counts the gifts verified at its counter. Like countStats,
// it runs after the verification's commit.
func (e *Engine) countVerified(v *verification) error {
	vals := statValues{guide: v.guide, store: orNone(v.store), campaign: v.campaign}
	if v.sale != nil {
		vals = saleValues(v.sale, v.guide, v.store)
	}
	e.sumStats(vals, v.at, func(s *Stat) {
		s.Verified++
		s.Commission += v.per
	})
	return e.maybeFlushStats()
}

// statValues are a count's values, in the order of Dimensions; an empty
// one is not counted.
type statValues struct{ product, batch, region, guide, campaign, source, store string }

// saleValues are the values of redemption r, with guide and store as the
// guide's and the store's.
func saleValues(r *Redemption, guide, store string) statValues {
	v := statValues{product: r.Product, region: r.Region, guide: guide, campaign: r.Campaign, source: orNone(r.Source), store: orNone(store)}
	if v.region == "" {
		v.region = "unknown"
	}
	if r.Batch != 0 {
		v.batch = strconv.FormatUint(uint64(r.Batch), 10)
	}
	return v
}

func orNone(v string) string {
	if v == "" {
		return NoValue
	}
	return v
}

// sumStats applies add to the day's line of each of vals.
func (e *Engine) sumStats(vals statValues, at time.Time, add func(*Stat)) {
	// It runs after every redemption: the day and the lines' keys are
	// built in buffers on the stack, and only a new line allocates.
	var dayBuf [8]byte
	day := at.In(e.Zone()).AppendFormat(dayBuf[:0], "20060102")
	values := [...]string{vals.product, vals.batch, vals.region, vals.guide, vals.campaign, vals.source, vals.store}
	var kb [256]byte
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	for i, dim := range Dimensions {
		v := values[i]
		if v == "" {
			continue
		}
		k := appendStatKey(kb[:0], dim, v, day)
		s := e.stats[string(k)]
		if s == nil {
			s = &Stat{Dimension: dim, Value: v, Day: string(day)}
			e.stats[string(k)] = s
		}
		add(s)
	}
}

// maybeFlushStats writes the sums once statsEvery has passed since the
// last write, unless a write is under way.
func (e *Engine) maybeFlushStats() error {
	e.statsMu.Lock()
	due := !e.statsFlushing && e.now().Sub(e.statsFlushed) >= statsEvery
	e.statsMu.Unlock()
	if due {
		return e.FlushStats()
	}
	return nil
}

// FlushStats writes the statistics still summed in memory, in one decision
// of its own, after the page views waiting (see FlushVisits). A server
// calls it before closing the store.
//
// The sums leave memory before the decision and come back if it fails, so
// that sums counted meanwhile are neither written twice nor lost, and the
// decision is a function of what it writes: safe to run again.
func (e *Engine) FlushStats() error {
	if err := e.FlushVisits(); err != nil {
		return err
	}
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	e.statsMu.Lock()
	taken := e.stats
	e.stats = map[string]*Stat{}
	e.statsFlushing = true
	e.statsMu.Unlock()
	lines := e.statLines(taken)
	claims := make([][]byte, 0, len(lines))
	for k := range lines {
		claims = append(claims, []byte(k))
	}
	err := e.updateIn(-1, func() (reads, _ [][]byte) { return nil, claims }, func(tx Tx) error { return writeStats(tx, lines) })
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	e.statsFlushing = false
	e.statsFlushed = e.now()
	if err != nil {
		for k, d := range taken {
			s := e.stats[k]
			if s == nil {
				s = &Stat{Dimension: d.Dimension, Value: d.Value, Day: d.Day}
				e.stats[k] = s
			}
			s.add(d)
		}
	}
	return err
}

func (s *Stat) add(d *Stat) {
	s.Redeemed += d.Redeemed
	s.Points += d.Points
	s.Coupons += d.Coupons
	s.Commission += d.Commission
	s.Diverted += d.Diverted
	s.Verified += d.Verified
	s.NewMembers += d.NewMembers
}

// statLines are the keys the sums are flushed to: each day's line, or on
// a node of several sharing the store (an engine with a node id) the
// node's own part of it, the line's key, 0x00 and the node's id, which
// the readers add up. Every node sums the same lines (the product's, the
// campaign's, a guide's of the day), and each flushes them once a
// second: writing the shared line, two nodes' flushes in flight at once
// refused one node's group, with every scan in it (docs/cluster.md). A
// node's part is written by that node only, and claimed rather than read
// (store.Claimer): no line is ever deleted.
func (e *Engine) statLines(sums map[string]*Stat) map[string]*Stat {
	if e.node == "" {
		return sums
	}
	out := make(map[string]*Stat, len(sums))
	for k, s := range sums {
		out[k+"\x00"+e.node] = s
	}
	return out
}

// statDay is the day of a line's key, given the key after its dimension
// and value: the day alone, or a node's part of it (statLines).
func statDay(rest []byte) string {
	if i := bytes.IndexByte(rest, 0); i >= 0 {
		rest = rest[:i]
	}
	return string(rest)
}

// writeStats adds sums to the stored lines, inside a decision.
func writeStats(tx Tx, sums map[string]*Stat) error {
	for k, d := range sums {
		var s Stat
		if _, err := getJSON(tx, []byte(k), &s); err != nil {
			return err
		}
		s.add(d)
		s.Dimension, s.Value, s.Day = d.Dimension, d.Value, d.Day
		putJSON(tx, []byte(k), s)
	}
	return nil
}

// Stats sums redemptions by one dimension over days from..to (YYYYMMDD,
// inclusive; empty for no bound). With daily, one line per value and day.
func (e *Engine) Stats(dim, from, to string, daily bool) ([]Stat, error) {
	known := false
	for _, d := range Dimensions {
		known = known || d == dim
	}
	if !known {
		return nil, Errorf(CodeInvalidRequest, "dimension %q: use one of %v", dim, Dimensions)
	}
	if err := e.FlushStats(); err != nil {
		return nil, err
	}
	for _, d := range []string{from, to} {
		if _, err := time.Parse("20060102", d); d != "" && err != nil {
			return nil, Errorf(CodeInvalidRequest, "day %q: write days as YYYYMMDD (days of the brand's time zone, %s)", d, e.Zone())
		}
	}
	prefix := append(append([]byte("st/"), dim...), 0)
	sums := map[string]*Stat{}
	var derr error
	err := e.db.Scan(prefix, nil, func(k, v []byte) bool {
		rest := k[len(prefix):]
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return true
		}
		day := statDay(rest[i+1:])
		if (from != "" && day < from) || (to != "" && day > to) {
			return true
		}
		var s Stat
		if derr = json.Unmarshal(v, &s); derr != nil {
			return false
		}
		key := s.Value
		if daily {
			key += "\x00" + day
		} else {
			s.Day = ""
		}
		if t, ok := sums[key]; ok {
			t.add(&s)
		} else {
			sums[key] = &s
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, wrapStore(fmt.Errorf("reading stats: %w", err))
	}
	out := make([]Stat, 0, len(sums))
	for _, s := range sums {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Value != out[j].Value {
			return out[i].Value < out[j].Value
		}
		return out[i].Day < out[j].Day
	})
	return out, nil
}

// Today returns the current day of the brand's time zone, YYYYMMDD, as
// Stats and Flags name days.
func (e *Engine) Today() string { return e.now().In(e.Zone()).Format("20060102") }

// MaxStatsDays bounds the days one statistics query covers, so that its
// work is bounded whatever the store holds.
const MaxStatsDays = 366

// StatsQuery asks for one page of statistics.
type StatsQuery struct {
	// By is one of Dimensions.
	By string
	// From and To are days, YYYYMMDD, inclusive. To defaults to today;
	// From to MaxStatsDays-1 days before To; the range holds at most
	// MaxStatsDays days.
	From, To string
	// Daily asks for one line per value and day instead of one per value.
	Daily bool
	// After is the Next of the previous page; Limit (1..MaxPage, else
	// DefaultPage) bounds the values a page looks at.
	After string
	Limit int
}

// StatsPage is a page of statistics: the lines of up to Limit values of
// the dimension, in value order, and the cursor of the next page. A value
// with nothing in the range has no line, so a page may hold fewer lines
// than Limit and still have a next page.
type StatsPage struct {
	By    string `json:"by"`
	From  string `json:"from"`
	To    string `json:"to"`
	Stats []Stat `json:"stats"`
	Next  string `json:"next,omitempty"`
}

// StatsPage sums redemptions by one dimension over q's days. It reads each
// value's lines of the range only, by seeking: its work is bounded by
// Limit values × MaxStatsDays days, however many values and days the
// store holds.
func (e *Engine) StatsPage(q StatsQuery) (*StatsPage, error) {
	if !slices.Contains(Dimensions, q.By) {
		return nil, Errorf(CodeInvalidRequest, "by %q: use one of %v", q.By, Dimensions)
	}
	if err := checkID("after", q.After, false); err != nil {
		return nil, err
	}
	from, to, err := e.statsRange(q.From, q.To)
	if err != nil {
		return nil, err
	}
	if err := e.FlushStats(); err != nil {
		return nil, err
	}
	limit := pageSize(q.Limit)
	prefix := append(append([]byte("st/"), q.By...), 0)
	page := &StatsPage{By: q.By, From: from, To: to, Stats: []Stat{}}
	// cur is the least key of the values still to read.
	cur := prefix
	if q.After != "" {
		cur = append(append(slices.Clip(prefix), q.After...), 1)
	}
	last := ""
	for visited := 0; ; visited++ {
		value, found, err := nextStatValue(e.db, prefix, cur)
		if err != nil {
			return nil, err
		}
		if !found {
			return page, nil
		}
		if visited == limit {
			// The value before this one ends the page.
			page.Next = last
			return page, nil
		}
		if err := e.readStatValue(page, prefix, value, from, to, q.Daily); err != nil {
			return nil, err
		}
		last = value
		cur = append(append(slices.Clip(prefix), value...), 1)
	}
}

// statsRange checks a query's days and fills in the defaults.
func (e *Engine) statsRange(from, to string) (string, string, error) {
	parse := func(name, d string) (time.Time, error) {
		t, err := time.Parse("20060102", d)
		if err != nil {
			return t, Errorf(CodeInvalidRequest, "%s %q: write days as YYYYMMDD (days of the brand's time zone, %s)", name, d, e.Zone())
		}
		return t, nil
	}
	if to == "" {
		to = e.Today()
	}
	end, err := parse("to", to)
	if err != nil {
		return "", "", err
	}
	if from == "" {
		from = end.AddDate(0, 0, -(MaxStatsDays - 1)).Format("20060102")
	}
	start, err := parse("from", from)
	if err != nil {
		return "", "", err
	}
	switch days := int(end.Sub(start).Hours()/24) + 1; {
	case days < 1:
		return "", "", Errorf(CodeInvalidRequest, "from %s is after to %s", from, to)
	case days > MaxStatsDays:
		return "", "", Errorf(CodeInvalidRequest, "from %s to %s is %d days; ask for at most %d days at a time", from, to, days, MaxStatsDays)
	}
	return from, to, nil
}

// nextStatValue finds the first value of a dimension's lines at or after
// the key cur.
func nextStatValue(r store.Reader, prefix, cur []byte) (string, bool, error) {
	var value string
	found := false
	err := r.Scan(prefix, cur, func(k, _ []byte) bool {
		rest := k[len(prefix):]
		if i := bytes.IndexByte(rest, 0); i >= 0 {
			value, found = string(rest[:i]), true
		}
		return !found
	})
	return value, found, wrapStore(err)
}

// readStatValue adds value's lines of days from..to to page: summed into
// one line, or one line a day with daily.
func (e *Engine) readStatValue(page *StatsPage, prefix []byte, value, from, to string, daily bool) error {
	vp := append(append(slices.Clip(prefix), value...), 0)
	var sum *Stat
	var derr error
	err := e.db.Scan(vp, append(slices.Clip(vp), from...), func(k, v []byte) bool {
		if statDay(k[len(vp):]) > to {
			return false
		}
		var s Stat
		if derr = json.Unmarshal(v, &s); derr != nil {
			return false
		}
		if daily {
			// Nodes' parts of one day's line are neighbours: one line.
			if n := len(page.Stats); n > 0 && page.Stats[n-1].Value == s.Value && page.Stats[n-1].Day == s.Day {
				page.Stats[n-1].add(&s)
			} else {
				page.Stats = append(page.Stats, s)
			}
			return true
		}
		if sum == nil {
			s.Day = ""
			sum = &s
		} else {
			sum.add(&s)
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return wrapStore(fmt.Errorf("reading stats: %w", err))
	}
	if sum != nil {
		page.Stats = append(page.Stats, *sum)
	}
	return nil
}
