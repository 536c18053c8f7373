package baseline

import (
	"fmt"
	"slices"

	"github.com/yima-dev/yima/bench"
)

// ledgerAudit is a baseline's own audit, the counterpart of yima's GET
// /v1/audit: fed every member's balance and ledger, every guide's
// commission and ledger, every redemption and the campaign's counters, it
// reports balances that differ from their ledgers, negative balances,
// codes paid twice or to someone their redemption does not name, and
// campaign counters that differ from the ledgers and coupons or overspend
// the budget or stock.
type ledgerAudit struct {
	rules      *rules
	out        []string
	paidTo     map[string]string // code → member its scan entry pays
	reds       map[string]string // code → member its redemption names
	campaignPd int64             // scan and bonus points in all ledgers
	commission int64             // all guides' ledgers
}

const maxBaselineViolations = 100

func (a *ledgerAudit) init(r *rules) {
	a.rules, a.paidTo, a.reds = r, map[string]string{}, map[string]string{}
}

func (a *ledgerAudit) violate(format string, args ...any) {
	if len(a.out) < maxBaselineViolations {
		a.out = append(a.out, fmt.Sprintf(format, args...))
	}
}

func (a *ledgerAudit) member(m string, balance int64, entries []ledgerEntry) {
	var sum int64
	for _, e := range entries {
		if e.account != "points" {
			continue
		}
		sum += e.delta
		switch e.reason {
		case "scan":
			if prev, dup := a.paidTo[e.ref]; dup {
				a.violate("code %s is paid twice: to %s and to %s", e.ref, prev, m)
			}
			a.paidTo[e.ref] = m
			a.campaignPd += e.delta
		case "new_member_bonus":
			a.campaignPd += e.delta
		}
	}
	if sum != balance {
		a.violate("member %s has a balance of %d; its ledger sums to %d", m, balance, sum)
	}
	if balance < 0 {
		a.violate("member %s has a negative balance, %d", m, balance)
	}
}

func (a *ledgerAudit) guide(g string, balance, ledger int64) {
	if balance != ledger {
		a.violate("guide %s has %d commission; its ledger sums to %d", g, balance, ledger)
	}
	a.commission += ledger
}

func (a *ledgerAudit) redemption(code, member string) { a.reds[code] = member }

// campaign checks the counters against what the ledgers and coupons say
// and against the limits; call it after every member and guide.
func (a *ledgerAudit) campaign(c bench.CampaignState, issued, used int64) {
	r := a.rules
	if !c.Found {
		a.violate("campaign %s has no counters", r.campaign)
		return
	}
	if r.budget > 0 && c.PointsPaid > r.budget {
		a.violate("campaign %s paid %d points, over its budget of %d", r.campaign, c.PointsPaid, r.budget)
	}
	if c.CouponsIssued > r.stock {
		a.violate("campaign %s issued %d coupons, over its stock of %d", r.campaign, c.CouponsIssued, r.stock)
	}
	for _, f := range []struct {
		what      string
		got, want int64
	}{
		{"points paid", c.PointsPaid, a.campaignPd},
		{"coupons issued", c.CouponsIssued, issued},
		{"coupons used", c.CouponsUsed, used},
		{"commission", c.Commission, a.commission},
	} {
		if f.got != f.want {
			a.violate("campaign %s counts %d %s; the ledgers and coupons say %d", r.campaign, f.got, f.what, f.want)
		}
	}
}

func (a *ledgerAudit) finish() []string {
	codes := make([]string, 0, len(a.paidTo))
	for c := range a.paidTo {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		if r, ok := a.reds[c]; !ok {
			a.violate("code %s is paid to %s but has no redemption", c, a.paidTo[c])
		} else if r != a.paidTo[c] {
			a.violate("code %s is paid to %s but its redemption names %s", c, a.paidTo[c], r)
		}
	}
	if a.out == nil {
		a.out = []string{}
	}
	return a.out
}
