package reward

import (
	"time"

	"github.com/segmentio/ksuid"
)

// post appends a member's ledger entry and moves the balance with it; the
// caller writes the member record in the same decision. ref carries what the
// entry came from (code, coupon, campaign, request).
func (m *Member) post(tx Tx, now time.Time, account string, delta int64, reason string, ref Entry) Entry {
	bal := &m.Points
	if account == AccountGrowth {
		bal = &m.Growth
	} else if account != AccountPoints {
		panic("reward: members have no account " + account)
	}
	*bal += delta
	m.Seq++
	e := ref
	e.ID, e.Seq, e.At, e.Member = ksuid.New().String(), m.Seq, now, m.ID
	e.Account, e.Delta, e.Balance, e.Reason = account, delta, *bal, reason
	putJSON(tx, ledgerKey(m.ID, m.Seq), e)
	return e
}

// post appends a guide's commission entry; the caller writes the guide.
func (g *Guide) post(tx Tx, now time.Time, delta int64, reason string, ref Entry) Entry {
	g.Commission += delta
	g.Seq++
	e := ref
	e.ID, e.Seq, e.At, e.Guide = ksuid.New().String(), g.Seq, now, g.ID
	e.Account, e.Delta, e.Balance, e.Reason = AccountCommission, delta, g.Commission, reason
	putJSON(tx, guideLedgerKey(g.ID, g.Seq), e)
	return e
}
