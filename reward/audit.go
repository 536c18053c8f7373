package reward

import (
	"fmt"
	"slices"

	json "github.com/segmentio/encoding/json"
)

// Scanner is what an audit reads: every record under a prefix.
type Scanner interface {
	Scan(prefix, start []byte, fn func(key, value []byte) bool) error
}

// AuditReport is the result of an audit. A clean store has no Violations.
type AuditReport struct {
	Redemptions int `json:"redemptions"`
	Members     int `json:"members"`
	Guides      int `json:"guides"`
	Entries     int `json:"entries"`
	Coupons     int `json:"coupons"`
	Campaigns   int `json:"campaigns"`
	Stores      int `json:"stores"`
	// Settlements counts the months settled (see Settle).
	Settlements int      `json:"settlements"`
	Rewards     int      `json:"rewards"`
	Exchanges   int      `json:"exchanges"`
	Orders      int      `json:"orders"`
	Adjustments int      `json:"adjustments"`
	Enrolments  int      `json:"enrolments"`
	Violations  []string `json:"violations"`
}

// maxViolations bounds a report: the first ones are what a person reads.
const maxViolations = 1000

func (a *AuditReport) violate(format string, args ...any) {
	if len(a.Violations) < maxViolations {
		a.Violations = append(a.Violations, fmt.Sprintf(format, args...))
	}
}

// corrupt reports a record of the kind what that does not decode, and
// lets the audit read on.
func (a *AuditReport) corrupt(what string) func(key string, err error) error {
	return func(key string, err error) error {
		a.violate("%s %q is corrupt: %v", what, key, err)
		return nil
	}
}

// scanRecords decodes each record under prefix as a T and hands it, with
// its key less the prefix, to keep. A record that does not decode goes to
// corrupt instead; an error corrupt returns stops the scan with it.
func scanRecords[T any](db Scanner, prefix string, corrupt func(key string, err error) error, keep func(key string, v *T)) error {
	p := []byte(prefix)
	var ferr error
	err := db.Scan(p, nil, func(k, raw []byte) bool {
		key := string(k[len(p):])
		v := new(T)
		if err := json.Unmarshal(raw, v); err != nil {
			ferr = corrupt(key, err)
			return ferr == nil
		}
		keep(key, v)
		return true
	})
	return firstErr(err, ferr)
}

// stopOnCorrupt stops a scan of records at one that does not decode, with
// its error.
func stopOnCorrupt(_ string, err error) error { return err }

// into keeps each record in m by its key.
func into[T any](m map[string]*T) func(key string, v *T) {
	return func(key string, v *T) { m[key] = v }
}

// Audit recomputes every balance from the ledger and checks the money rules
// over the whole store: one redemption per code, each with its ledger
// entries and no entry without its redemption, balances equal to their
// ledgers and never negative, budgets and stock never overspent, every
// coupon issued once and verified at most once, commissions that match
// scans and verifications; and the mall's stock, voucher lists and
// exchanges, purchase orders and adjustments (see auditMall). Run it on a
// quiet store (yima audit opens the data directory, so no server holds it).
func Audit(db Scanner) (*AuditReport, error) {
	a := &AuditReport{Violations: []string{}}
	members := map[string]*Member{}
	guides := map[string]*Guide{}
	reds := map[string]*Redemption{}
	coupons := map[string]*Coupon{}
	camps := map[string]*Campaign{}
	ctrs := map[string]*CampaignCounters{}
	prizes := map[string]map[string]int64{}
	var memberEntries, guideEntries []Entry
	err := firstErr(
		scanRecords(db, "m/", a.corrupt("member"), into(members)),
		scanRecords(db, "g/", a.corrupt("guide"), into(guides)),
		scanRecords(db, "r/", a.corrupt("redemption"), into(reds)),
		scanRecords(db, "cpn/", a.corrupt("coupon"), into(coupons)),
		scanRecords(db, "cp/", a.corrupt("campaign"), into(camps)),
		scanRecords(db, "cc/", a.corrupt("campaign counters"), into(ctrs)),
		scanRecords(db, "cpz/", a.corrupt("campaign prizes"), func(k string, p *map[string]int64) { prizes[k] = *p }),
		scanRecords(db, "l/", a.corrupt("ledger entry"), func(_ string, en *Entry) { memberEntries = append(memberEntries, *en) }),
		scanRecords(db, "gl/", a.corrupt("ledger entry"), func(_ string, en *Entry) { guideEntries = append(guideEntries, *en) }),
	)
	if err != nil {
		return nil, wrapStore(err)
	}
	// Several nodes' slices count with their campaigns' counters.
	if err := auditEscrow(db, a, camps, ctrs, prizes); err != nil {
		return nil, wrapStore(err)
	}
	auditPending(db, a)
	a.Redemptions, a.Members, a.Guides = len(reds), len(members), len(guides)
	a.Coupons, a.Campaigns = len(coupons), len(camps)
	a.Entries = len(memberEntries) + len(guideEntries)

	entryByID := map[string]*Entry{}
	for _, list := range [][]Entry{memberEntries, guideEntries} {
		for i := range list {
			en := &list[i]
			if entryByID[en.ID] != nil {
				a.violate("ledger entry id %s appears twice", en.ID)
			}
			entryByID[en.ID] = en
		}
	}

	// Balances are the sums of their ledgers, entry by entry.
	checkLedger := func(kind, holder string, seq uint64, entries []Entry, balances map[string]int64) {
		running := map[string]int64{}
		if uint64(len(entries)) != seq {
			a.violate("%s %s has %d ledger entries but its record counts %d", kind, holder, len(entries), seq)
		}
		for i, en := range entries {
			if en.Seq != uint64(i+1) {
				a.violate("%s %s: ledger entry %d has seq %d", kind, holder, i+1, en.Seq)
			}
			running[en.Account] += en.Delta
			if running[en.Account] != en.Balance {
				a.violate("%s %s: entry %s says balance %d, the ledger sums to %d", kind, holder, en.ID, en.Balance, running[en.Account])
			}
		}
		for acct, want := range balances {
			if running[acct] != want {
				a.violate("%s %s: %s balance %d, its ledger sums to %d", kind, holder, acct, want, running[acct])
			}
			if want < 0 {
				a.violate("%s %s: %s balance %d is below zero", kind, holder, acct, want)
			}
		}
	}
	byHolder := func(list []Entry, holder func(*Entry) string) map[string][]Entry {
		out := map[string][]Entry{}
		for _, en := range list {
			h := holder(&en)
			out[h] = append(out[h], en)
		}
		return out
	}
	mEntries := byHolder(memberEntries, func(e *Entry) string { return e.Member })
	for id, m := range members {
		checkLedger("member", id, m.Seq, mEntries[id], map[string]int64{AccountPoints: m.Points, AccountGrowth: m.Growth})
	}
	zone, err := auditZone(db)
	if err != nil {
		return nil, wrapStore(err)
	}
	for id, m := range members {
		if m.Booked {
			auditLots(a, m, mEntries[id], zone)
		}
	}
	for id := range mEntries {
		if members[id] == nil {
			a.violate("member %s has ledger entries but no account", id)
		}
	}
	gEntries := byHolder(guideEntries, func(e *Entry) string { return e.Guide })
	for id, g := range guides {
		checkLedger("guide", id, g.Seq, gEntries[id], map[string]int64{AccountCommission: g.Commission})
	}
	for id := range gEntries {
		if guides[id] == nil {
			a.violate("guide %s has ledger entries but no record", id)
		}
	}

	// Merges: every transfer entry has its pair in the other member's
	// ledger, naming it back, for the opposite amount of the same account,
	// and a member merged away holds nothing: a merge moved balances once
	// and created none.
	for _, en := range memberEntries {
		if en.Reason != ReasonMergeOut && en.Reason != ReasonMergeIn {
			continue
		}
		p := entryByID[en.Transfer]
		switch {
		case p == nil:
			a.violate("transfer entry %s of member %s names entry %s, which does not exist", en.ID, en.Member, en.Transfer)
		case p.Transfer != en.ID || p.Member != en.Counterpart || en.Member != p.Counterpart ||
			p.Delta != -en.Delta || p.Account != en.Account || p.Reason == en.Reason ||
			(p.Reason != ReasonMergeOut && p.Reason != ReasonMergeIn):
			a.violate("transfer entries %s (member %s) and %s (member %s) do not match", en.ID, en.Member, p.ID, p.Member)
		}
		if (en.Reason == ReasonMergeOut) != (en.Delta < 0) {
			a.violate("transfer entry %s of member %s moves %d the wrong way", en.ID, en.Member, en.Delta)
		}
	}
	for id, m := range members {
		if m.MergedInto == "" {
			continue
		}
		if members[m.MergedInto] == nil {
			a.violate("member %s was merged into %s, which has no account", id, m.MergedInto)
		}
		if m.Points != 0 || m.Growth != 0 {
			a.violate("member %s was merged into %s but holds %d points and %d growth", id, m.MergedInto, m.Points, m.Growth)
		}
	}

	// Every redemption has its entries, and every payout entry its
	// redemption: nothing was paid twice or without a record.
	redeemedBy := map[string]int64{}
	for code, r := range reds {
		redeemedBy[r.Member]++
		var points int64
		for _, id := range r.Ledger {
			en := entryByID[id]
			switch {
			case en == nil:
				a.violate("redemption of %s lists ledger entry %s, which does not exist", code, id)
				continue
			case en.Code != code:
				a.violate("redemption of %s lists entry %s, which is for code %s", code, id, en.Code)
			}
			if en.Member != "" && en.Member != r.Member {
				a.violate("redemption of %s by %s lists an entry of member %s", code, r.Member, en.Member)
			}
			if en.Account == AccountPoints {
				points += en.Delta
			}
		}
		if points != r.Points {
			a.violate("redemption of %s promised %d points, its entries credit %d", code, r.Points, points)
		}
		if r.Coupon != "" {
			if c := coupons[r.Coupon]; c == nil || c.Code != code {
				a.violate("redemption of %s names coupon %s, which is missing or not from this code", code, r.Coupon)
			}
		}
	}
	for _, en := range slices.Concat(memberEntries, guideEntries) {
		switch en.Reason {
		case "scan", "new_member_bonus", "scan_commission":
			r := reds[en.Code]
			if r == nil || !slices.Contains(r.Ledger, en.ID) {
				a.violate("ledger entry %s (%s for %s) belongs to no redemption: a code paid twice or a lost record", en.ID, en.Reason, en.Code)
			}
		}
	}
	for id, m := range members {
		if redeemedBy[id] != int64(m.Redemptions) {
			a.violate("member %s counts %d redemptions, the records show %d", id, m.Redemptions, redeemedBy[id])
		}
	}

	// Coupons: issued by one redemption, verified at most once, with the
	// commission of that one verification.
	for id, c := range coupons {
		if r := reds[c.Code]; c.Reward == "" && (r == nil || r.Coupon != id) {
			a.violate("coupon %s was not issued by the redemption of %s", id, c.Code)
		}
		if c.Status == CouponUsed && c.UsedBy == "" {
			a.violate("coupon %s is used but no guide verified it", id)
		}
		var paid int
		for _, en := range gEntries[c.UsedBy] {
			if en.Coupon == id && en.Reason == "coupon_commission" {
				paid++
			}
		}
		if want := map[bool]int{true: 1, false: 0}[c.Commission > 0]; paid != want {
			a.violate("coupon %s: %d commission entries for its verification, want %d", id, paid, want)
		}
	}

	// Campaigns: counters equal to their records, within budget and stock.
	for id, c := range camps {
		want := CampaignCounters{}
		for _, r := range reds {
			if r.Campaign == id && !r.Voided {
				want.PointsPaid += r.Points
				want.RewardedScans++
				want.Commission += r.Commission
			}
		}
		for _, cp := range coupons {
			if cp.Campaign != id || cp.Status == CouponVoid {
				continue
			}
			want.CouponsIssued++
			if cp.Status == CouponUsed {
				want.CouponsUsed++
				want.Commission += cp.Commission
			}
		}
		got := CampaignCounters{}
		if p := ctrs[id]; p != nil {
			got = *p
		}
		if got != want {
			a.violate("campaign %s counters %+v, its records add up to %+v", id, got, want)
		}
		if c.PointsBudget > 0 && got.PointsPaid > c.PointsBudget {
			a.violate("campaign %s paid %d points over a budget of %d", id, got.PointsPaid, c.PointsBudget)
		}
		if c.Coupon != nil && got.CouponsIssued > c.Coupon.Stock {
			a.violate("campaign %s issued %d coupons from a stock of %d", id, got.CouponsIssued, c.Coupon.Stock)
		}
		if got.PointsPaid < 0 || got.CouponsIssued < 0 || got.Commission < 0 {
			a.violate("campaign %s has a counter below zero: %+v", id, got)
		}
	}
	if err := auditStores(db, a, guides); err != nil {
		return nil, wrapStore(err)
	}
	if err := auditMall(db, a, entryByID, memberEntries, coupons); err != nil {
		return nil, wrapStore(err)
	}
	if err := auditSettlements(a, db, gEntries); err != nil {
		return nil, wrapStore(err)
	}
	auditPrizes(a, camps, coupons, prizes)
	slices.Sort(a.Violations) // maps iterate randomly; a report reads the same twice
	return a, nil
}

// Audit runs Audit over a consistent snapshot of the engine's store, so it
// can run beside live traffic.
func (e *Engine) Audit() (*AuditReport, error) {
	snap, err := e.db.Snapshot()
	if err != nil {
		return nil, wrapStore(err)
	}
	defer snap.Close()
	rep, err := Audit(snap)
	return rep, wrapStore(err)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
