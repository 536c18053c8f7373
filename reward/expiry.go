package reward

import (
	"time"

	json "github.com/segmentio/encoding/json"
)

// Points expire by the brand's rule (Brand.PointsExpiry), lot by lot, the
// oldest first: points earned in a month (the brand's time zone) expire
// at the end of that month's period plus After periods. ExpirePoints posts
// one expiry entry per member whose oldest lots are due, in a decision of
// that member's own, so scans and spends go on meanwhile and a run that
// stops midway, or runs twice, expires each lot once: an expired lot is
// gone from the record the next run reads.

// ExpiryRule is when points expire: {"unit":"year","after":1} expires the
// points earned in a year at the end of the following year.
type ExpiryRule struct {
	// Unit is "year" or "month".
	Unit string `json:"unit"`
	// After is how many whole periods after the one they were earned in
	// points live on: 0 expires them at the end of that period.
	After int `json:"after"`
}

// Expiry rule units and limits.
const (
	ExpiryYear     = "year"
	ExpiryMonth    = "month"
	maxExpiryYears = 10
	// maxExpiryListed bounds the members an expiry report lists; its
	// totals count them all.
	maxExpiryListed = 1000
	// pointsExpiryChunk is how many members one expiry decision takes, so that
	// scans queued behind it wait for a small one.
	pointsExpiryChunk = 64
)

func (r *ExpiryRule) check() error {
	switch {
	case r.Unit == ExpiryYear && r.After >= 0 && r.After <= maxExpiryYears:
	case r.Unit == ExpiryMonth && r.After >= 0 && r.After <= 12*maxExpiryYears:
	default:
		return Errorf(CodeInvalidRequest, "points_expiry: give {\"unit\":\"year\",\"after\":0..%d} or {\"unit\":\"month\",\"after\":0..%d}, e.g. {\"unit\":\"year\",\"after\":1} for the end of the year after the points were earned; {} never expires them", maxExpiryYears, 12*maxExpiryYears)
	}
	return nil
}

// expiresAt is when the points earned in month (YYYYMM) expire.
func (r *ExpiryRule) expiresAt(month string, loc *time.Location) time.Time {
	t, err := time.ParseInLocation("200601", month, loc)
	if err != nil {
		return time.Time{}
	}
	if r.Unit == ExpiryYear {
		return time.Date(t.Year()+r.After+1, 1, 1, 0, 0, 0, 0, loc)
	}
	return time.Date(t.Year(), t.Month()+time.Month(r.After)+1, 1, 0, 0, 0, 0, loc)
}

// due is what of lots has expired at now: the amount and the last month.
// Lots are oldest first and expire in that order, so due ones lead.
func (r *ExpiryRule) due(lots []Lot, now time.Time, loc *time.Location) (amount int64, through string) {
	for _, l := range lots {
		if now.Before(r.expiresAt(l.Month, loc)) {
			break
		}
		amount += l.Amount
		through = l.Month
	}
	return amount, through
}

// Expiring is points that will expire at a time.
type Expiring struct {
	Points int64     `json:"points"`
	At     time.Time `json:"at"`
}

// upcoming groups lots by when they expire, soonest first, at most n.
func (r *ExpiryRule) upcoming(lots []Lot, loc *time.Location, n int) []Expiring {
	var out []Expiring
	for _, l := range lots {
		at := r.expiresAt(l.Month, loc)
		if k := len(out); k > 0 && out[k-1].At.Equal(at) {
			out[k-1].Points += l.Amount
			continue
		}
		if len(out) == n {
			break
		}
		out = append(out, Expiring{Points: l.Amount, At: at})
	}
	return out
}

// Expired is one member's expiry in a report.
type Expired struct {
	Member  string `json:"member"`
	Points  int64  `json:"points"`
	Through string `json:"through"`
	Entry   string `json:"entry,omitempty"`
}

// ExpiryReport is what ExpirePoints did, or would do (DryRun).
type ExpiryReport struct {
	At      time.Time   `json:"at"`
	DryRun  bool        `json:"dry_run"`
	Rule    *ExpiryRule `json:"rule"`
	Members int         `json:"members"`
	Points  int64       `json:"points"`
	// Expired lists the members, at most 1000, in member order.
	Expired []Expired `json:"expired"`
}

func (r *ExpiryReport) add(x Expired) {
	r.Members++
	r.Points += x.Points
	if len(r.Expired) < maxExpiryListed {
		r.Expired = append(r.Expired, x)
	}
}

// ExpirePoints expires every member's points that are due by the brand's
// rule now; with dryRun it only says what it would expire. It is safe to
// run beside scans, and to run again: see the comment at the top.
func (e *Engine) ExpirePoints(dryRun bool) (*ExpiryReport, error) {
	b, err := e.Brand()
	if err != nil {
		return nil, err
	}
	now := e.now()
	rep := &ExpiryReport{At: now, DryRun: dryRun, Rule: b.PointsExpiry, Expired: []Expired{}}
	if b.PointsExpiry == nil {
		return rep, nil
	}
	rule, loc := b.PointsExpiry, location(b.TimeZone)
	// Candidates are read outside the decider; each decision reads its
	// members again, so a scan or spend in between is counted.
	var ids []string
	var bad error
	err = e.db.Scan([]byte("m/"), nil, func(k, v []byte) bool {
		var m Member
		if bad = json.Unmarshal(v, &m); bad != nil {
			return false
		}
		if m.Points == 0 {
			return true
		}
		if !m.Booked {
			ids = append(ids, m.ID) // its lots are rebuilt in the decision
			return true
		}
		if n, _ := rule.due(m.Lots, now, loc); n > 0 {
			ids = append(ids, m.ID)
		}
		return true
	})
	err = firstErr(err, bad)
	if err != nil {
		return nil, wrapStore(err)
	}
	for len(ids) > 0 {
		chunk := ids[:min(pointsExpiryChunk, len(ids))]
		ids = ids[len(chunk):]
		var done []Expired
		decide := func(tx Tx) error {
			done = done[:0]
			for _, id := range chunk {
				m, err := loadResolved(tx, id, now)
				if err != nil {
					return err
				}
				m.zone = loc
				if err := m.ensureBooked(tx); err != nil {
					return err
				}
				n, through := rule.due(m.Lots, now, loc)
				if n <= 0 {
					continue
				}
				x := Expired{Member: m.ID, Points: n, Through: through}
				if !dryRun {
					en, err := m.post(tx, now, AccountPoints, -n, ReasonExpiry, Entry{Through: through})
					if err != nil {
						return err
					}
					x.Entry = en.ID
					if err := putMember(tx, m); err != nil {
						return err
					}
				}
				done = append(done, x)
			}
			return nil
		}
		if dryRun {
			// Read only: the same rule over the store as it is now.
			err = decide(readOnly{e.db})
		} else {
			err = e.update(decide)
		}
		if err != nil {
			return nil, wrapStore(err)
		}
		for _, x := range done {
			rep.add(x)
		}
	}
	return rep, nil
}

// readOnly lets a dry run share a decision's code over plain reads; a
// write through it is a programming error.
type readOnly struct{ getter }

func (readOnly) Put(key, _ []byte) { panic("reward: a dry run wrote " + string(key)) }
func (readOnly) Delete(key []byte) { panic("reward: a dry run deleted " + string(key)) }
func (readOnly) Add([]byte, int64) { panic("reward: a dry run added to a counter") }

// centreExpiring tells the member centre when the member's points expire.
func (e *Engine) centreExpiring(c *MemberCentre) error {
	b, err := e.Brand()
	if err != nil || b.PointsExpiry == nil || c.Points == 0 {
		return err
	}
	loc := location(b.TimeZone)
	m := c.Member
	m.zone = loc
	if err := m.ensureBooked(e.db); err != nil {
		return err
	}
	c.Expiring = b.PointsExpiry.upcoming(m.Lots, loc, 3)
	return nil
}
