package reward

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	json "github.com/segmentio/encoding/json"
)

// Monthly settlement of guides' commissions (月结). A guide's commission
// ledger only grows; settling a month closes it: each guide's commission
// of that month becomes one settled line, which payroll pays, and nothing
// of that month is ever settled again.
//
// What a settlement covers is decided by ledger sequence, not by dates
// alone: each guide keeps a cursor, the last entry settled, and settling a
// month takes the entries after the cursor dated before the month's end
// (in the brand's time zone) and moves the cursor past them, in the same
// decision. So every entry is settled exactly once, in the first
// settlement after it was written: an entry written while a month is being
// settled, or a void written after its month was settled, lands in the
// next open month, and a settled line is never rewritten. The audit checks
// that each line equals the sum of the entries it covers and that the
// lines of a guide cover their ledger without gap or overlap.

// Codes of settlement.
const (
	// CodePeriodNotEnded refuses a month that has not ended yet in the
	// brand's time zone: its commissions are still being earned.
	CodePeriodNotEnded Code = "period_not_ended"
	// CodePeriodClosed refuses a month before the last one settled that
	// was itself never settled: its commission was settled with a later
	// month.
	CodePeriodClosed Code = "period_closed"
	// CodeSettlementUnfinished refuses a month while the settlement of
	// another stopped midway: that one is finished first.
	CodeSettlementUnfinished Code = "settlement_unfinished"
)

// Settlement statuses.
const (
	SettlementSettling = "settling"
	SettlementSettled  = "settled"
)

// Settlement is a settled month: the sums of its guides' lines.
type Settlement struct {
	Period string `json:"period"`
	// Start and End bound the month in TimeZone, the brand's zone when
	// it was settled: entries dated before End were settled with it.
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	TimeZone string    `json:"time_zone"`
	// Status is settling while its lines are being written (a settlement
	// that stopped midway is finished by settling the month again), then
	// settled.
	Status     string    `json:"status"`
	Guides     int       `json:"guides"`
	Entries    int       `json:"entries"`
	Commission int64     `json:"commission"`
	StartedAt  time.Time `json:"started_at"`
	SettledAt  time.Time `json:"settled_at,omitzero"`
}

// GuideSettlement is one guide's settled commission of a month: the
// entries FromSeq..ToSeq of the guide's commission ledger.
type GuideSettlement struct {
	Period string `json:"period"`
	Guide  string `json:"guide"`
	Name   string `json:"name,omitempty"`
	Store  string `json:"store"`
	// StoreName and StoreCode name the store as its record does now (its
	// name, the brand's code for it), so that payroll reads it as people
	// know it; they are filled when a settlement is read, never stored.
	StoreName  string    `json:"store_name,omitempty"`
	StoreCode  string    `json:"store_code,omitempty"`
	Commission int64     `json:"commission"`
	Entries    int       `json:"entries"`
	FromSeq    uint64    `json:"from_seq"`
	ToSeq      uint64    `json:"to_seq"`
	SettledAt  time.Time `json:"settled_at"`
}

// SettlementView is a month's settlement with its guides' lines, by store
// then guide.
type SettlementView struct {
	Settlement
	Lines []GuideSettlement `json:"lines"`
	// Repeated is set when the month was settled before this call, which
	// then changed nothing.
	Repeated bool `json:"repeated,omitempty"`
}

// settleCursor is how far a guide's ledger is settled.
type settleCursor struct {
	Seq    uint64 `json:"seq"`
	Period string `json:"period"`
}

// settleChunk bounds the guides one decision settles, so that a brand with
// ten thousand guides does not hold the decider for long.
const settleChunk = 64

var settledThroughKey = []byte("meta/settled-through")

func settlementKey(period string) []byte { return append([]byte("sp/"), period...) }
func guideSettlementPrefix(period string) []byte {
	return append(append([]byte("sg/"), period...), 0)
}
func guideSettlementKey(period, guide string) []byte {
	return append(guideSettlementPrefix(period), guide...)
}
func settleCursorKey(guide string) []byte { return append([]byte("gsq/"), guide...) }

// ParsePeriod reads a month written YYYY-MM and returns its first instant
// and the first instant of the next month in loc.
func ParsePeriod(period string, loc *time.Location) (start, end time.Time, err error) {
	t, perr := time.Parse("2006-01", period)
	if perr != nil || t.Format("2006-01") != period || t.Year() < 2000 {
		return start, end, Errorf(CodeInvalidRequest, "period %q: write a month as YYYY-MM, e.g. 2026-11", period)
	}
	start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 1, 0), nil
}

// Settle closes period, a month (YYYY-MM) that has ended in the brand's
// time zone: each guide's commission entries not yet settled and dated
// before the month's end become that guide's settled line of the month.
// Settling a month again changes nothing and answers the settlement with
// Repeated set; a settlement that stopped midway is finished by settling
// the month again. A month that has not ended, a malformed one, or one
// before the last month settled is refused and nothing is stored.
func (e *Engine) Settle(period string) (*SettlementView, error) {
	start, end, err := ParsePeriod(period, e.Zone())
	if err != nil {
		return nil, err
	}
	var st Settlement
	repeated := false
	err = e.update(func(tx Tx) error {
		now := e.now()
		repeated = false
		found, err := getJSON(tx, settlementKey(period), &st)
		if err != nil {
			return err
		}
		if found {
			repeated = st.Status == SettlementSettled
			return nil
		}
		if now.Before(end) {
			return &Error{Code: CodePeriodNotEnded, Message: fmt.Sprintf("%s has not ended yet in the brand's time zone (%s); settle it from %s on", period, e.Zone(), end.Format("2006-01-02 15:04 MST")), Details: map[string]any{"ends_at": end}}
		}
		last, _, err := tx.Get(settledThroughKey)
		if err != nil {
			return err
		}
		if l := string(last); l != "" {
			var prev Settlement
			if _, err := getJSON(tx, settlementKey(l), &prev); err != nil {
				return err
			}
			if prev.Status != SettlementSettled {
				return &Error{Code: CodeSettlementUnfinished, Message: fmt.Sprintf("the settlement of %s stopped midway; settle %s again to finish it first", l, l), Details: map[string]any{"period": l}}
			}
			if period < l {
				return &Error{Code: CodePeriodClosed, Message: fmt.Sprintf("%s is before %s, the last month settled, and was not settled itself: its commission was settled with a later month", period, l), Details: map[string]any{"settled_through": l}}
			}
		}
		st = Settlement{Period: period, Start: start.UTC(), End: end.UTC(), TimeZone: e.Zone().String(), Status: SettlementSettling, StartedAt: now}
		putJSON(tx, settlementKey(period), st)
		tx.Put(settledThroughKey, []byte(period))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if repeated {
		return e.settlementView(&st, true)
	}
	guides, err := e.guideIDs()
	if err != nil {
		return nil, err
	}
	for len(guides) > 0 {
		chunk := guides[:min(settleChunk, len(guides))]
		guides = guides[len(chunk):]
		// A settlement takes the ledger by seq: number what is pending.
		for _, id := range chunk {
			if err := e.foldShared(id); err != nil {
				return nil, err
			}
		}
		if err := e.update(func(tx Tx) error { return settleGuides(tx, period, chunk, e.now()) }); err != nil {
			return nil, err
		}
	}
	err = e.update(func(tx Tx) error {
		if _, err := getJSON(tx, settlementKey(period), &st); err != nil {
			return err
		}
		if st.Status != SettlementSettled {
			st.Status, st.SettledAt = SettlementSettled, e.now()
			putJSON(tx, settlementKey(period), st)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e.settlementView(&st, false)
}

// settleGuides writes the settled lines of period for the guides in chunk,
// in one decision, and adds them to the month's sums. A guide already
// settled for the month (a settlement run again after it stopped) is left
// alone; one with nothing to settle gets no line.
func settleGuides(tx Tx, period string, chunk []string, now time.Time) error {
	var st Settlement
	if _, err := getJSON(tx, settlementKey(period), &st); err != nil {
		return err
	}
	for _, id := range chunk {
		if _, found, err := tx.Get(guideSettlementKey(period, id)); err != nil {
			return err
		} else if found {
			continue
		}
		g, err := loadGuide(tx, id)
		if err != nil || g == nil {
			return err
		}
		var cur settleCursor
		if _, err := getJSON(tx, settleCursorKey(id), &cur); err != nil {
			return err
		}
		line := GuideSettlement{Period: period, Guide: id, Name: g.Name, Store: g.Store, FromSeq: cur.Seq + 1, SettledAt: now}
		for seq := cur.Seq + 1; seq <= g.Seq; seq++ {
			var en Entry
			found, err := getJSON(tx, guideLedgerKey(id, seq), &en)
			if err != nil {
				return err
			}
			// Entries are written in time order; the first one dated at
			// or after the month's end starts the next month.
			if !found || !en.At.Before(st.End) {
				break
			}
			if line.Commission, err = addAmount(line.Commission, en.Delta); err != nil {
				return err
			}
			line.Entries++
			line.ToSeq = seq
		}
		if line.Entries == 0 {
			continue
		}
		putJSON(tx, guideSettlementKey(period, id), line)
		putJSON(tx, settleCursorKey(id), settleCursor{Seq: line.ToSeq, Period: period})
		if err := record(tx, FeedCommissionSettled, now, line); err != nil {
			return err
		}
		st.Guides++
		st.Entries += line.Entries
		var err2 error
		if st.Commission, err2 = addAmount(st.Commission, line.Commission); err2 != nil {
			return err2
		}
	}
	putJSON(tx, settlementKey(period), st)
	return nil
}

// guideIDs lists every guide, in id order.
func (e *Engine) guideIDs() ([]string, error) {
	var out []string
	p := []byte("g/")
	err := e.db.Scan(p, nil, func(k, _ []byte) bool {
		out = append(out, string(k[len(p):]))
		return true
	})
	return out, wrapStore(err)
}

// SettlementOf returns a month's settlement and its lines; not_found when
// the month was never settled.
func (e *Engine) SettlementOf(period string) (*SettlementView, error) {
	if _, _, err := ParsePeriod(period, e.Zone()); err != nil {
		return nil, err
	}
	st, err := getRecord[Settlement](e.db, settlementKey(period), func() error {
		return Errorf(CodeNotFound, "%s was not settled; yima guide settle --period %s settles it once it has ended", period, period)
	})
	if err != nil {
		return nil, wrapStore(err)
	}
	return e.settlementView(st, false)
}

// settlementView reads the lines of st, by store then guide.
func (e *Engine) settlementView(st *Settlement, repeated bool) (*SettlementView, error) {
	v := &SettlementView{Settlement: *st, Lines: []GuideSettlement{}, Repeated: repeated}
	var bad error
	err := e.db.Scan(guideSettlementPrefix(st.Period), nil, func(_, raw []byte) bool {
		var l GuideSettlement
		if bad = json.Unmarshal(raw, &l); bad != nil {
			return false
		}
		v.Lines = append(v.Lines, l)
		return true
	})
	if err = firstErr(err, bad); err != nil {
		return nil, wrapStore(err)
	}
	stores := map[string]*Store{}
	for i := range v.Lines {
		l := &v.Lines[i]
		st, ok := stores[l.Store]
		if !ok {
			// A guide's store from before stores were records has none:
			// its line names it by the text it was given.
			if st, err = loadStore(e.db, l.Store); err != nil {
				return nil, wrapStore(err)
			}
			stores[l.Store] = st
		}
		if st != nil {
			l.StoreName, l.StoreCode = st.Name, st.Code
		}
	}
	slices.SortFunc(v.Lines, func(a, b GuideSettlement) int {
		return cmp.Or(strings.Compare(a.Store, b.Store), strings.Compare(a.Guide, b.Guide))
	})
	return v, nil
}

// Stores are the stores of v's lines, in order.
func (v *SettlementView) Stores() []string {
	var out []string
	for _, l := range v.Lines {
		if len(out) == 0 || out[len(out)-1] != l.Store {
			out = append(out, l.Store)
		}
	}
	return out
}

// settleAudit checks settled months against the guides' ledgers: each
// line equals the sum of the entries it covers, all dated before its
// month's end; a guide's lines cover their ledger from its first entry
// without gap or overlap, up to the guide's cursor; and each month's sums
// equal its lines. It holds the settlements (a line a guide a month) and
// reads the ledgers as the audit streams them past (add), so a ledger is
// never held whole.
type settleAudit struct {
	months  map[string]*Settlement
	cursors map[string]settleCursor
	// byGuide holds each guide's lines in the order of their first entry,
	// maxTo the highest last entry of the lines up to each, and sums what
	// the ledger gave each line so far (sum, n).
	byGuide map[string]*guideLines
}

type guideLines struct {
	lines []GuideSettlement
	maxTo []uint64
	sum   []int64
	n     []int
}

// loadSettleAudit reads the settlements and checks what needs no ledger.
func loadSettleAudit(a *AuditReport, db Scanner) (*settleAudit, error) {
	s := &settleAudit{months: map[string]*Settlement{}, cursors: map[string]settleCursor{}, byGuide: map[string]*guideLines{}}
	var lines []GuideSettlement
	err := firstErr(
		scanRecords(db, "sp/", a.corrupt("settlement"), func(_ string, st *Settlement) { s.months[st.Period] = st }),
		scanRecords(db, "sg/", a.corrupt("settled line"), func(_ string, l *GuideSettlement) { lines = append(lines, *l) }),
		scanRecords(db, "gsq/", a.corrupt("settlement cursor"), func(k string, c *settleCursor) { s.cursors[k] = *c }),
	)
	if err != nil {
		return nil, err
	}
	a.Settlements = len(s.months)
	for _, l := range lines {
		if s.months[l.Period] == nil {
			a.violate("guide %s has a settled line for %s, which has no settlement", l.Guide, l.Period)
			continue
		}
		g := s.byGuide[l.Guide]
		if g == nil {
			g = &guideLines{}
			s.byGuide[l.Guide] = g
		}
		g.lines = append(g.lines, l)
	}
	for _, g := range s.byGuide {
		slices.SortStableFunc(g.lines, func(x, y GuideSettlement) int { return cmp.Compare(x.FromSeq, y.FromSeq) })
		g.maxTo, g.sum, g.n = make([]uint64, len(g.lines)), make([]int64, len(g.lines)), make([]int, len(g.lines))
		for i, l := range g.lines {
			g.maxTo[i] = l.ToSeq
			if i > 0 {
				g.maxTo[i] = max(l.ToSeq, g.maxTo[i-1])
			}
		}
	}
	return s, nil
}

// add counts a guide's ledger entry into the lines that cover it.
func (s *settleAudit) add(a *AuditReport, en *Entry) {
	g := s.byGuide[en.Guide]
	if g == nil {
		return
	}
	// Lines are sorted by their first entry: those before i start at or
	// before en.Seq, and going back stops where none reaches it.
	i, _ := slices.BinarySearchFunc(g.lines, en.Seq+1, func(l GuideSettlement, seq uint64) int { return cmp.Compare(l.FromSeq, seq) })
	for j := i - 1; j >= 0 && g.maxTo[j] >= en.Seq; j-- {
		l := &g.lines[j]
		if en.Seq < l.FromSeq || en.Seq > l.ToSeq {
			continue
		}
		g.sum[j] += en.Delta
		g.n[j]++
		if st := s.months[l.Period]; !en.At.Before(st.End) {
			a.violate("guide %s's entry #%d is dated %s, after %s ended, but was settled with it", l.Guide, en.Seq, en.At.Format(time.RFC3339), l.Period)
		}
	}
}

// finish checks the lines against what the ledgers gave them, the months
// against their lines and the cursors against both.
func (s *settleAudit) finish(a *AuditReport) {
	sums := map[string]*Settlement{}
	for guide, g := range s.byGuide {
		next := uint64(1)
		for i, l := range g.lines {
			st := sums[l.Period]
			if st == nil {
				st = &Settlement{}
				sums[l.Period] = st
			}
			st.Guides++
			st.Entries += l.Entries
			st.Commission += l.Commission
			sum, n := g.sum[i], g.n[i]
			if sum != l.Commission || n != l.Entries || uint64(n) != l.ToSeq-l.FromSeq+1 {
				a.violate("guide %s's settled line of %s says %d in %d entries (#%d-#%d), the ledger holds %d in %d", l.Guide, l.Period, l.Commission, l.Entries, l.FromSeq, l.ToSeq, sum, n)
			}
			if l.FromSeq != next {
				a.violate("guide %s's settled line of %s starts at entry #%d, the one before ends at #%d", guide, l.Period, l.FromSeq, next-1)
			}
			next = l.ToSeq + 1
		}
		if c := s.cursors[guide]; c.Seq != next-1 {
			a.violate("guide %s's settlement cursor is at entry #%d, its settled lines end at #%d", guide, c.Seq, next-1)
		}
	}
	for period, st := range s.months {
		sum := sums[period]
		if sum == nil {
			sum = &Settlement{}
		}
		if st.Status == SettlementSettled && (sum.Guides != st.Guides || sum.Entries != st.Entries || sum.Commission != st.Commission) {
			a.violate("settlement of %s totals %d for %d guides in %d entries, its lines add up to %d for %d in %d", period, st.Commission, st.Guides, st.Entries, sum.Commission, sum.Guides, sum.Entries)
		}
	}
	for guide, c := range s.cursors {
		if s.byGuide[guide] == nil && c.Seq != 0 {
			a.violate("guide %s's settlement cursor is at entry #%d but no line settles it", guide, c.Seq)
		}
	}
}

// PayrollColumns are the columns of a payroll file.
// A store is named by its id, its name and the brand's code for it (its
// ERP's, its payroll's), which is what a payroll office files it by.
var PayrollColumns = []string{"guide", "name", "store", "store_name", "store_code", "period", "commission"}

// WritePayroll writes the lines of store (all stores when store is empty)
// as a payroll CSV: UTF-8 with a byte order mark, which Excel needs to
// read Chinese names, and CRLF line ends (RFC 4180). A text cell that a
// spreadsheet would run as a formula (=, +, -, @ first) is quoted with a
// leading apostrophe: guides' names are typed by people.
func (v *SettlementView) WritePayroll(w io.Writer, store string) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(utf8BOM)
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	if err := cw.Write(PayrollColumns); err != nil {
		return err
	}
	for _, l := range v.Lines {
		if store != "" && l.Store != store {
			continue
		}
		if err := cw.Write([]string{guardCell(l.Guide), guardCell(l.Name), guardCell(l.Store), guardCell(l.StoreName), guardCell(l.StoreCode), l.Period, strconv.FormatInt(l.Commission, 10)}); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// PayrollFile is the name of a store's payroll file of period: the store's
// id with every character that is not a letter, a digit, '-', '_' or '.'
// replaced by '_', so that it names one file in one directory.
func PayrollFile(period, store string) string {
	safe := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, store)
	return "payroll-" + period + "-" + safe + ".csv"
}
