package reward

import (
	"slices"
	"strings"

	json "github.com/segmentio/encoding/json"
)

// mallAudit is the part of Audit that checks the mall, purchase orders and
// adjustments: every reward's counters equal the exchanges that took from
// it and stay within its stock; every exchange has its ledger entries, its
// coupons or voucher codes, and a refund only if cancelled; every voucher
// list counts its codes and each code is handed out at most once, to the
// exchange that names it; every order and adjustment has exactly its
// ledger entries; and no entry of these kinds belongs to no record. A
// reward's slices (rewardescrow.go) count with its counters and list.
//
// Its records are held whole (they grow with the mall's trade, not with
// the codes); loadMall reads them before the ledgers, so that the audit's
// walk of the ledgers and coupons keeps only the entries and coupons they
// name (listed, coupons) and the entries of their kinds (mallEntry).
type mallAudit struct {
	rewards      map[string]*Reward
	counters     map[string]*RewardCounters
	held         map[string]int64 // reward \x00 member
	exchanges    map[string]*Exchange
	pools        map[string]*VoucherPool
	vouchers     map[string][]*Voucher
	queued       map[string]int64
	orders       map[string]*Order
	adjustments  map[string]*Adjustment
	slicesIssued map[string]int64
	slicesHeld   map[string][]voucherRun
	// listed holds the ids of the ledger entries the records list, and
	// coupons the coupons the exchanges name.
	listed, coupons map[string]bool
}

// mallEntry reports whether an entry is of a kind a mall record lists.
func mallEntry(en *Entry) bool {
	return en.Reason == ReasonRedeemRefund || strings.HasPrefix(en.Reason, ReasonRedeem+": ") ||
		en.Reason == ReasonOrder || en.Reason == ReasonOrderRefund || strings.HasPrefix(en.Reason, ReasonAdjust+": ")
}

func loadMall(db Scanner, a *AuditReport) (*mallAudit, error) {
	rewards := map[string]*Reward{}
	counters := map[string]*RewardCounters{}
	held := map[string]int64{} // reward \x00 member
	exchanges := map[string]*Exchange{}
	pools := map[string]*VoucherPool{}
	vouchers := map[string][]*Voucher{}
	queued := map[string]int64{}
	orders := map[string]*Order{}
	adjustments := map[string]*Adjustment{}
	load := func(prefix string, fn func(key string, raw []byte) error) error {
		p := []byte(prefix)
		var ferr error
		err := db.Scan(p, nil, func(k, v []byte) bool {
			if ferr = fn(string(k[len(p):]), v); ferr != nil {
				a.violate("%s record %q is corrupt: %v", strings.TrimSuffix(prefix, "/"), k[len(p):], ferr)
			}
			return true
		})
		return err
	}
	err := firstErr(
		load("rw/", decodeInto(rewards)),
		load("rwc/", decodeInto(counters)),
		load("rwl/", func(k string, raw []byte) error {
			var n int64
			err := json.Unmarshal(raw, &n)
			held[k] = n
			return err
		}),
		load("xch/", decodeInto(exchanges)),
		load("vcp/", decodeInto(pools)),
		load("vch/", func(_ string, raw []byte) error {
			var v Voucher
			err := json.Unmarshal(raw, &v)
			vouchers[v.Reward] = append(vouchers[v.Reward], &v)
			return err
		}),
		load("vcq/", func(k string, _ []byte) error {
			if i := strings.IndexByte(k, 0); i >= 0 {
				queued[k[:i]]++
			}
			return nil
		}),
		load("ord/", decodeInto(orders)),
		load("adj/", decodeInto(adjustments)),
	)
	if err != nil {
		return nil, err
	}
	// Every node's slice counts with the reward's counters and list.
	slicesIssued := map[string]int64{}
	slicesHeld, err := auditRewardEscrow(db, a, rewards, counters, slicesIssued)
	if err != nil {
		return nil, err
	}
	m := &mallAudit{rewards: rewards, counters: counters, held: held, exchanges: exchanges, pools: pools,
		vouchers: vouchers, queued: queued, orders: orders, adjustments: adjustments,
		slicesIssued: slicesIssued, slicesHeld: slicesHeld, listed: map[string]bool{}, coupons: map[string]bool{}}
	for _, x := range exchanges {
		for _, id := range x.Ledger {
			m.listed[id] = true
		}
		for _, id := range x.Coupons {
			m.coupons[id] = true
		}
	}
	for _, o := range orders {
		for _, id := range o.Ledger {
			m.listed[id] = true
		}
	}
	for _, j := range adjustments {
		for _, id := range j.Ledger {
			m.listed[id] = true
		}
	}
	return m, nil
}

// check runs the mall's checks. entryByID holds the entries the records
// list, memberEntries the members' entries of the mall's kinds and coupons
// the coupons of rewards and those the exchanges name.
func (m *mallAudit) check(a *AuditReport, entryByID map[string]*Entry, memberEntries []Entry, coupons map[string]*Coupon) {
	rewards, counters, held, exchanges := m.rewards, m.counters, m.held, m.exchanges
	pools, vouchers, queued, orders, adjustments := m.pools, m.vouchers, m.queued, m.orders, m.adjustments
	slicesIssued, slicesHeld := m.slicesIssued, m.slicesHeld

	// listed checks that a record's ledger entries exist, are its own, and
	// sums their deltas by account.
	listed := func(what, id, member string, ids []string, own func(*Entry) bool) map[string]int64 {
		sums := map[string]int64{}
		for _, eid := range ids {
			en := entryByID[eid]
			switch {
			case en == nil:
				a.violate("%s %s lists ledger entry %s, which does not exist", what, id, eid)
				continue
			case !own(en):
				a.violate("%s %s lists ledger entry %s, which names another record", what, id, eid)
			case member != "" && en.Member != member:
				a.violate("%s %s of member %s lists an entry of member %s", what, id, member, en.Member)
			}
			sums[en.Account] += en.Delta
		}
		return sums
	}

	// Exchanges against their rewards, entries, coupons and vouchers.
	want := map[string]RewardCounters{}
	wantHeld := map[string]int64{}
	for id, x := range exchanges {
		sums := listed("exchange", id, x.Member, x.Ledger, func(en *Entry) bool { return en.Exchange == id })
		refund := int64(0)
		if x.Status == ExchangeCancelled {
			refund = x.Points
		}
		if x.Refunded != refund {
			a.violate("exchange %s is %s but records a refund of %d", id, x.Status, x.Refunded)
		}
		if got := sums[AccountPoints]; got != refund-x.Points {
			a.violate("exchange %s took %d points and refunded %d, its entries move %d", id, x.Points, x.Refunded, got)
		}
		if x.Points != x.Price*x.Quantity || x.Quantity <= 0 {
			a.violate("exchange %s: %d units at %d points do not make %d", id, x.Quantity, x.Price, x.Points)
		}
		rw := rewards[x.Reward]
		if rw == nil {
			a.violate("exchange %s is of reward %s, which is not in the catalog", id, x.Reward)
		}
		c := want[x.Reward]
		c.Redemptions++
		if x.Status != ExchangeCancelled {
			c.Redeemed += x.Quantity
			wantHeld[x.Reward+"\x00"+x.Member] += x.Quantity
		}
		want[x.Reward] = c
		switch x.Kind {
		case KindCoupon:
			if int64(len(x.Coupons)) != x.Quantity {
				a.violate("exchange %s of %d coupons lists %d", id, x.Quantity, len(x.Coupons))
			}
			for _, cid := range x.Coupons {
				if cp := coupons[cid]; cp == nil || cp.Exchange != id || cp.Member != x.Member {
					a.violate("exchange %s names coupon %s, which is missing or not from it", id, cid)
				}
			}
		case KindVoucher:
			if int64(len(x.Vouchers)) != x.Quantity {
				a.violate("exchange %s of %d vouchers lists %d", id, x.Quantity, len(x.Vouchers))
			}
		case KindGoods:
			if x.Address == nil {
				a.violate("goods exchange %s has no address", id)
			}
		}
		if x.Kind != KindGoods && x.Status != ExchangeDone {
			a.violate("exchange %s of a %s is %s", id, x.Kind, x.Status)
		}
	}
	for id, c := range coupons {
		if c.Reward == "" {
			continue
		}
		if x := exchanges[c.Exchange]; x == nil || !slices.Contains(x.Coupons, id) {
			a.violate("coupon %s of reward %s was not issued by the exchange it names (%s)", id, c.Reward, c.Exchange)
		}
	}

	// Rewards: counters equal to their exchanges, within stock.
	for id, rw := range rewards {
		got := RewardCounters{}
		if c := counters[id]; c != nil {
			got = *c
		}
		if got != want[id] {
			a.violate("reward %s counters %+v, its exchanges add up to %+v", id, got, want[id])
		}
		if got.Redeemed > rw.Stock || got.Redeemed < 0 {
			a.violate("reward %s: %d units redeemed from a stock of %d", id, got.Redeemed, rw.Stock)
		}
	}
	for id := range counters {
		if rewards[id] == nil {
			a.violate("reward %s has counters but no catalog record", id)
		}
	}
	for k, n := range held {
		if n != wantHeld[k] {
			reward, member, _ := strings.Cut(k, "\x00")
			a.violate("member %s holds %d of reward %s by its count, %d by the exchanges", member, n, reward, wantHeld[k])
		}
	}
	for k, n := range wantHeld {
		if _, ok := held[k]; !ok && n != 0 {
			reward, member, _ := strings.Cut(k, "\x00")
			a.violate("member %s has no count of reward %s but its exchanges hold %d", member, reward, n)
		}
	}

	// Voucher lists: counted, each code out at most once, to the exchange
	// that names it.
	for id, vs := range vouchers {
		p := pools[id]
		if p == nil {
			a.violate("reward %s has %d voucher codes but no list", id, len(vs))
			continue
		}
		var issued int64
		for _, v := range vs {
			if v.Exchange == "" {
				continue
			}
			issued++
			if x := exchanges[v.Exchange]; x == nil || x.Reward != id || x.Member != v.Member || !slices.Contains(x.Vouchers, v.Code) {
				a.violate("voucher %s of reward %s was handed out to exchange %s, which does not list it", v.Code, id, v.Exchange)
			}
		}
		if p.Uploaded != int64(len(vs)) || queued[id] != p.Uploaded {
			a.violate("reward %s's voucher list counts %d uploaded, %d codes and %d queued are stored", id, p.Uploaded, len(vs), queued[id])
		}
		if out := p.Issued + slicesIssued[id]; out != issued || out > p.Uploaded {
			a.violate("reward %s's voucher list and its slices count %d handed out of %d, the codes show %d", id, out, p.Uploaded, issued)
		}
		auditVoucherPositions(a, id, p, vs, slicesHeld[id])
	}
	for id, x := range exchanges {
		for _, code := range x.Vouchers {
			var v *Voucher
			for _, c := range vouchers[x.Reward] {
				if c.Code == code {
					v = c
				}
			}
			if v == nil || v.Exchange != id {
				a.violate("exchange %s lists voucher %s, which was not handed out to it", id, code)
			}
		}
	}

	// Orders: earned once, refunded at most once, within what was earned.
	for id, o := range orders {
		sums := listed("order", id, "", o.Ledger, func(en *Entry) bool { return en.Order == id })
		taken := int64(0)
		if o.Refund != nil {
			taken = o.Refund.Taken
			if o.Refund.Taken < 0 || o.Refund.Shortfall < 0 || o.Refund.Taken+o.Refund.Shortfall != o.Points {
				a.violate("order %s earned %d, its refund took %d with a shortfall of %d", id, o.Points, o.Refund.Taken, o.Refund.Shortfall)
			}
		}
		if got := sums[AccountPoints]; got != o.Points-taken || o.Points < 0 {
			a.violate("order %s earned %d and took back %d, its entries move %d", id, o.Points, taken, got)
		}
	}

	// Adjustments: exactly their entries.
	for id, j := range adjustments {
		sums := listed("adjustment", id, j.Member, j.Ledger, func(en *Entry) bool {
			return en.Adjustment == id && en.Reason == ReasonAdjust+": "+j.Reason
		})
		if sums[AccountPoints] != j.Points || sums[AccountGrowth] != j.Growth {
			a.violate("adjustment %s of %d points and %d growth, its entries move %d and %d", id, j.Points, j.Growth, sums[AccountPoints], sums[AccountGrowth])
		}
	}

	// And the other way: no entry of these kinds outside its record.
	for _, en := range memberEntries {
		var ok bool
		switch {
		case en.Reason == ReasonRedeemRefund || strings.HasPrefix(en.Reason, ReasonRedeem+": "):
			x := exchanges[en.Exchange]
			ok = x != nil && slices.Contains(x.Ledger, en.ID)
		case en.Reason == ReasonOrder || en.Reason == ReasonOrderRefund:
			o := orders[en.Order]
			ok = o != nil && slices.Contains(o.Ledger, en.ID)
		case strings.HasPrefix(en.Reason, ReasonAdjust+": "):
			j := adjustments[en.Adjustment]
			ok = j != nil && slices.Contains(j.Ledger, en.ID)
		default:
			continue
		}
		if !ok {
			a.violate("ledger entry %s of member %s (%s) belongs to no record that lists it", en.ID, en.Member, en.Reason)
		}
	}
	a.Rewards, a.Exchanges, a.Orders, a.Adjustments = len(rewards), len(exchanges), len(orders), len(adjustments)
}

// decodeInto is a loader of auditMall that keeps each record in m by its
// key. A record that does not decode is kept as far as it decoded, and its
// error returned, which the audit reports.
func decodeInto[T any](m map[string]*T) func(key string, raw []byte) error {
	return func(key string, raw []byte) error {
		v := new(T)
		m[key] = v
		return json.Unmarshal(raw, v)
	}
}
