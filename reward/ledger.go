package reward

import (
	"errors"
	"math"
	"time"

	"github.com/segmentio/ksuid"
)

// errOverflow is an amount that would leave int64. It is not an *Error on
// purpose: a decision that meets it drops every write it made (see Scan),
// and wrapStore reports it as CodeAmountOutOfRange. With the campaign
// limits (see Limits in campaign.go) no balance or counter reaches it in
// practice; the check makes sure none wraps to a negative number if one did.
var errOverflow = errors.New("reward: amount out of range")

// addAmount is a + b, or errOverflow when the sum leaves int64.
func addAmount(a, b int64) (int64, error) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, errOverflow
	}
	return a + b, nil
}

// post appends a member's ledger entry and moves the balance with it; the
// caller writes the member record in the same decision. ref carries what the
// entry came from (code, coupon, campaign, request).
func (m *Member) post(tx Tx, now time.Time, account string, delta int64, reason string, ref Entry) (Entry, error) {
	bal := &m.Points
	if account == AccountGrowth {
		bal = &m.Growth
	} else if account != AccountPoints {
		panic("reward: members have no account " + account)
	}
	// The lots follow the ledger entry by entry (see lots.go).
	if err := m.ensureBooked(tx); err != nil {
		return Entry{}, err
	}
	next, err := addAmount(*bal, delta)
	if err != nil {
		return Entry{}, err
	}
	*bal = next
	m.Seq++
	e := ref
	if e.ID == "" { // a transfer names its entries before posting them
		e.ID = ksuid.New().String()
	}
	e.Seq, e.At, e.Member = m.Seq, now, m.ID
	e.Account, e.Delta, e.Balance, e.Reason = account, delta, *bal, reason
	loc, err := m.zoneOf(tx)
	if err != nil {
		return Entry{}, err
	}
	if delta > 0 {
		e.Month = monthOf(now, loc)
	}
	m.book(e, loc)
	raw := marshalRecord(e)
	tx.Put(ledgerKey(m.ID, m.Seq), raw)
	// The feed tells of the member before of what they earned.
	if err := memberCreated(tx, m); err != nil {
		return Entry{}, err
	}
	return e, record(tx, ledgerFeedType(e), now, encodedBody(raw))
}

// post appends a guide's commission entry; the caller writes the guide.
func (g *Guide) post(tx Tx, now time.Time, delta int64, reason string, ref Entry) (Entry, error) {
	e := g.entry(ksuid.New().String(), now, delta, reason, ref)
	return e, g.number(tx, &e)
}

// entry is g's commission entry id of delta at now, for reason, with the
// code, campaign and other references of ref; not yet numbered.
func (g *Guide) entry(id string, now time.Time, delta int64, reason string, ref Entry) Entry {
	e := ref
	e.ID, e.At, e.Guide = id, now, g.ID
	e.Account, e.Delta, e.Reason = AccountCommission, delta, reason
	return e
}

// number appends e, a commission entry of g made at e.At, to g's ledger:
// the next seq and the balance with it; the caller writes the guide.
func (g *Guide) number(tx Tx, e *Entry) error {
	next, err := addAmount(g.Commission, e.Delta)
	if err != nil {
		return err
	}
	g.Commission = next
	g.Seq++
	e.Seq, e.Balance = g.Seq, g.Commission
	putJSON(tx, guideLedgerKey(g.ID, g.Seq), *e)
	return record(tx, ledgerFeedType(*e), e.At, *e)
}
