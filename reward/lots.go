package reward

import (
	"slices"
	"time"

	json "github.com/segmentio/encoding/json"
)

// A member's points and growth are also kept by the month they were
// earned (in the brand's time zone), in the member record, because a
// decision can read records but not range over a ledger:
//
//   - points lots (Member.Lots) say which points expire when. Every credit
//     of points adds to the lot of its month; every debit (a spend, a void,
//     a merge away, an expiry) takes the oldest points first (FIFO), so the
//     lots always sum to the balance.
//   - growth months (Member.GrowthMonths) say how much growth falls in the
//     brand's tier window. A credit adds to its month; a debit (a void, a
//     merge away) takes the newest growth first, since it mostly reverses a
//     recent scan. Months older than MaxTierWindowMonths are dropped: no
//     window reaches them.
//
// Each credit entry names its month (Entry.Month), so the audit replays
// the lots from the ledger exactly (see auditLots). A member written before
// lots existed has them rebuilt from its ledger the first time a decision
// posts to it or reads its tier (see ensureBooked).

// ReasonExpiry is the reason of a ledger entry that expires points.
const ReasonExpiry = "expiry"

// Lot is an amount of points or growth earned in one month.
type Lot struct {
	// Month is the month earned, YYYYMM in the brand's time zone.
	Month  string `json:"month"`
	Amount int64  `json:"amount"`
}

// MaxTierWindowMonths bounds the brand's tier window, and how many months
// of growth a member record keeps.
const MaxTierWindowMonths = 60

// monthOf is the month of t in loc, YYYYMM.
func monthOf(t time.Time, loc *time.Location) string { return t.In(loc).Format("200601") }

// addMonths moves a YYYYMM month by n months.
func addMonths(month string, n int) string {
	t, err := time.Parse("200601", month)
	if err != nil {
		return month
	}
	return t.AddDate(0, n, 0).Format("200601")
}

// zoneOf is the brand's time zone, read once per member record in a
// decision: a scan sets it from the brand it already read.
func (m *Member) zoneOf(tx getter) (*time.Location, error) {
	if m.zone != nil {
		return m.zone, nil
	}
	var b Brand
	if _, err := getJSON(tx, brandKey, &b); err != nil {
		return nil, err
	}
	m.zone = location(b.TimeZone)
	return m.zone, nil
}

// ensureBooked rebuilds the lots of a member written before lots existed,
// from its ledger, by point lookups (a decision cannot range).
func (m *Member) ensureBooked(tx getter) error {
	if m.Booked {
		return nil
	}
	m.Lots, m.GrowthMonths = nil, nil
	if m.Seq > 0 {
		loc, err := m.zoneOf(tx)
		if err != nil {
			return err
		}
		for seq := uint64(1); seq <= m.Seq; seq++ {
			var en Entry
			found, err := getJSON(tx, ledgerKey(m.ID, seq), &en)
			if err != nil {
				return err
			}
			if found {
				m.book(en, loc)
			}
		}
	}
	m.Booked = true
	return nil
}

// book moves the lots by one ledger entry. A credit's month is the
// entry's Month, else the month of its time in loc (entries written before
// lots existed).
func (m *Member) book(en Entry, loc *time.Location) {
	month := en.Month
	if month == "" {
		month = monthOf(en.At, loc)
	}
	switch en.Account {
	case AccountPoints:
		m.Lots = bookLots(m.Lots, month, en.Delta, false)
	case AccountGrowth:
		m.GrowthMonths = bookLots(m.GrowthMonths, month, en.Delta, true)
		// No window reaches further back than MaxTierWindowMonths.
		oldest := addMonths(month, -MaxTierWindowMonths)
		m.GrowthMonths = slices.DeleteFunc(m.GrowthMonths, func(l Lot) bool { return l.Month < oldest })
	}
}

// bookLots adds a credit to month's lot, or takes a debit from the oldest
// lots (newest when newestFirst), dropping lots that reach zero.
func bookLots(lots []Lot, month string, delta int64, newestFirst bool) []Lot {
	if delta > 0 {
		i, found := slices.BinarySearchFunc(lots, month, func(l Lot, m string) int {
			switch {
			case l.Month < m:
				return -1
			case l.Month > m:
				return 1
			}
			return 0
		})
		if found {
			lots[i].Amount += delta
			return lots
		}
		return slices.Insert(lots, i, Lot{Month: month, Amount: delta})
	}
	take := -delta
	for take > 0 && len(lots) > 0 {
		i := 0
		if newestFirst {
			i = len(lots) - 1
		}
		n := min(take, lots[i].Amount)
		lots[i].Amount -= n
		take -= n
		if lots[i].Amount == 0 {
			lots = slices.Delete(lots, i, i+1)
		}
	}
	return lots
}

// windowGrowth is the growth earned in the window of months that ends with
// the month of now: all of it when months is 0.
func (m *Member) windowGrowth(months int, now time.Time, loc *time.Location) int64 {
	if months <= 0 {
		return m.Growth
	}
	first := addMonths(monthOf(now, loc), -(months - 1))
	var sum int64
	for _, l := range m.GrowthMonths {
		if l.Month >= first {
			sum += l.Amount
		}
	}
	return sum
}

// auditZone is the brand's time zone, read through an audit's Scanner.
func auditZone(db Scanner) (*time.Location, error) {
	var b Brand
	var bad error
	err := db.Scan(brandKey, nil, func(k, v []byte) bool {
		if string(k) == string(brandKey) {
			bad = json.Unmarshal(v, &b)
		}
		return false
	})
	err = firstErr(err, bad)
	return location(b.TimeZone), err
}
