package reward

import (
	"maps"
	"slices"
	"time"
)

// Escrow of a mall reward's stock and voucher codes among several nodes:
// escrow.go's mechanism, for the mall.
//
// With one engine on its store every exchange reads and writes the
// reward's counters (rwc/ID) and, for vouchers, the list's cursor
// (vcp/ID): with several nodes on one database (Options.NodeID), the
// exchanges of one reward would take turns across the nodes. So each node
// holds a slice of the reward (rs/ID 0x00 NODE): the units it was granted
// of the stock, the counters of its exchanges (added to rwc/ID's by every
// reader) and, for a voucher reward, the runs of the list it holds (one
// code for each unit granted and not yet taken) and how many codes it
// handed out (added to vcp/ID's Issued). An exchange on a node reads and
// writes only its slice; a slice short of the quantity asked is topped up
// in a decision of its own, the only one that writes the reward's pool
// (rs/ID: the units all slices were granted, and the nodes holding one)
// and the list's cursor, then the exchange is decided again. A top-up
// that cannot cover it recalls what the other slices hold unused, so an
// exchange is refused out_of_stock only when the whole reward is out;
// slices whose lease ran out are folded then; a node stopping cleanly
// returns its slices (ReturnSlices); a new version of the reward
// (PutReward) brings every slice's grant down to what it took, so a
// lowered stock binds at once. The identity the audit checks:
//
//	redeemed (rwc/ID + every slice) + held (every slice's grant − taken) + rest = stock, rest ≥ 0
//
// and every code of a voucher list is, once, either handed out, held by
// one slice, given back (VoucherPool.Free) or not yet reached by the
// cursor. Engines without a NodeID take from rwc/ID and the list
// directly, within what the slices do not hold; on a store with no slices
// (Pebble, one node) the records are what they always were.
const rewardEscrow escrowKeys = "rs/"

// rewardPool (rs/ID) is what the reward's slices were granted in all, and
// the nodes holding one.
type rewardPool struct {
	Granted int64    `json:"granted"`
	Nodes   []string `json:"nodes"`
}

// rewardSlice (rs/ID 0x00 NODE) is one node's share of a reward. Used
// only grows: a cancelled goods order gives its units back in rwc/ID.
type rewardSlice struct {
	Granted int64          `json:"granted"`
	Used    RewardCounters `json:"used"`
	// Vouchers are the runs of the list's positions the slice holds, one
	// for each unit granted and not taken (kind voucher).
	Vouchers       []voucherRun `json:"vouchers,omitempty"`
	VouchersIssued int64        `json:"vouchers_issued,omitempty"`
	lease
}

// release gives back what the slice holds unused: its grant comes down
// to what it took, its codes go back to the list.
func (sl *rewardSlice) release(pool *rewardPool, vp *VoucherPool) {
	l := sl.Granted - sl.Used.Redeemed
	sl.Granted -= l
	pool.Granted -= l
	vp.Free = append(vp.Free, sl.Vouchers...)
	sl.Vouchers = nil
}

// fold ends the slice: what it took joins the reward's counters and the
// list's count, the rest goes back (dropSlice removes it).
func (sl *rewardSlice) fold(pool *rewardPool, ctr *RewardCounters, vp *VoucherPool) {
	sl.release(pool, vp)
	pool.Granted -= sl.Granted
	ctr.Redeemed += sl.Used.Redeemed
	ctr.Redemptions += sl.Used.Redemptions
	vp.Issued += sl.VouchersIssued
}

// hasVouchers reports whether folding the slice changes the voucher list.
func (sl *rewardSlice) hasVouchers() bool { return len(sl.Vouchers) > 0 || sl.VouchersIssued > 0 }

// rewardShortfall drops an exchange whose slice holds fewer units than
// asked: Redeem tops the slice up and decides again.
type rewardShortfall struct {
	reward string
	units  int64
	lane   int // the exchange's: the top-up runs there, on the same slice
}

func (s *rewardShortfall) Error() string { return "reward: reward " + s.reward + "'s slice is short" }

func (s *rewardShortfall) topUp(e *Engine) (covered bool, err error) {
	return e.decideAlone(s.lane, func(tx Tx) (bool, error) { return e.decideRewardTopUp(tx, s) })
}

// rewardAccount is where an exchange takes its units from: the node's
// slice, or rwc/ID (direct) within what slices do not hold.
type rewardAccount struct {
	e     *Engine
	rw    *Reward
	ctr   *RewardCounters // rwc/ID's, or the slice's Used
	held  int64           // direct: what the slices were granted
	slice *rewardSlice    // nil: direct
	node  string          // the slice's name (Engine.sliceName)
	final bool            // see campaignAccount.final
}

// openRewardAccount opens the account an exchange of units of rw takes
// from.
func (e *Engine) openRewardAccount(tx Tx, rw *Reward, units int64, final bool) (*rewardAccount, error) {
	a := &rewardAccount{e: e, rw: rw, node: e.sliceOf(tx), final: final}
	if a.node != "" {
		a.slice = &rewardSlice{}
		found, err := getJSON(tx, rewardEscrow.slice(rw.ID, a.node), a.slice)
		if err == nil && !found {
			// No slice yet: the top-up registers it in the pool, without
			// which readers would not count it.
			err = a.short(tx, units)
		}
		if err != nil {
			return nil, err
		}
		a.ctr = &a.slice.Used
		return a, nil
	}
	var ctr RewardCounters
	recs := []rec{{rewardCountersKey(rw.ID), &ctr}}
	var pool rewardPool
	if e.shared {
		// Slices exist only where nodes share the store.
		recs = append(recs, rec{rewardEscrow.pool(rw.ID), &pool})
	}
	if err := getEach(tx, recs...); err != nil {
		return nil, err
	}
	a.ctr, a.held = &ctr, pool.Granted
	return a, nil
}

// left is what the account may still take of the stock.
func (a *rewardAccount) left() int64 {
	if a.slice != nil {
		return a.slice.Granted - a.slice.Used.Redeemed
	}
	return a.rw.Stock - a.ctr.Redeemed - a.held
}

// short handles a slice holding fewer than units: the exchange is
// dropped for a top-up of its own, or (final) tops up inside its
// decision. The caller reads what is left again afterwards.
func (a *rewardAccount) short(tx Tx, units int64) error {
	if a.slice == nil {
		return nil
	}
	s := &rewardShortfall{reward: a.rw.ID, units: units, lane: laneOf(tx)}
	if !a.final {
		return s
	}
	if _, err := a.e.decideRewardTopUp(tx, s); err != nil {
		return err
	}
	// Nothing was taken yet: the slice as the top-up left it.
	_, err := getJSON(tx, rewardEscrow.slice(a.rw.ID, a.node), a.slice)
	return err
}

// take counts an exchange of n units.
func (a *rewardAccount) take(n int64) {
	a.ctr.Redeemed += n
	a.ctr.Redemptions++
}

// takeVouchers hands out n codes to member for exchange x: from the
// slice's runs, or (direct) from the list; ok is false when fewer than n
// are left.
func (a *rewardAccount) takeVouchers(tx Tx, n int64, member, x string, now time.Time) (codes []string, ok bool, err error) {
	if a.slice == nil {
		return takeVouchers(tx, a.rw.ID, n, member, x, now)
	}
	if runsLen(a.slice.Vouchers) < n {
		return nil, false, nil
	}
	var run []voucherRun
	run, a.slice.Vouchers = splitRuns(a.slice.Vouchers, n)
	codes, err = handOut(tx, a.rw.ID, run, member, x, now)
	a.slice.VouchersIssued += n
	return codes, err == nil, err
}

// save writes what the exchange changed.
func (a *rewardAccount) save(tx Tx, now time.Time) {
	if a.slice != nil {
		a.slice.renew(now)
		putJSON(tx, rewardEscrow.slice(a.rw.ID, a.node), a.slice)
		return
	}
	putJSON(tx, rewardCountersKey(a.rw.ID), a.ctr)
}

// decideRewardTopUp is the decision of a reward slice's top-up: the only
// decision of an exchanging node that writes the reward's pool and its
// voucher list's cursor. covered reports whether the slice now holds
// s.units.
func (e *Engine) decideRewardTopUp(tx Tx, s *rewardShortfall) (covered bool, err error) {
	now, node := e.now(), e.sliceOf(tx)
	var rw Reward
	found, err := getJSON(tx, rewardKey(s.reward), &rw)
	if err != nil || !found {
		return true, err
	}
	var pool rewardPool
	var sl rewardSlice
	var ctr RewardCounters
	var vp VoucherPool
	vouchers := rw.Kind == KindVoucher
	recs := []rec{{rewardEscrow.pool(rw.ID), &pool}, {rewardEscrow.slice(rw.ID, node), &sl}, {rewardCountersKey(rw.ID), &ctr}}
	if vouchers {
		recs = append(recs, rec{voucherPoolKey(rw.ID), &vp})
	}
	if err := getEach(tx, recs...); err != nil {
		return false, err
	}
	joinPool(&pool.Nodes, node)
	take := func() (short int64) {
		left := sl.Granted - sl.Used.Redeemed
		rest := rw.Stock - ctr.Redeemed - pool.Granted
		if vouchers {
			rest = min(rest, vp.left())
		}
		add := give(left, rest, s.units, 1, sl.Used.Redeemed)
		sl.Granted += add
		pool.Granted += add
		if vouchers && add > 0 {
			sl.Vouchers = append(sl.Vouchers, vp.take(add, true)...)
		}
		return max(0, s.units-left-add)
	}
	covered = take() == 0
	if !covered {
		folded, err := recallSlices(tx, rewardEscrow, rw.ID, &pool.Nodes, node, now, func(o *rewardSlice) {
			o.fold(&pool, &ctr, &vp)
		}, func(o *rewardSlice) {
			o.release(&pool, &vp)
		})
		if err != nil {
			return false, err
		}
		if folded {
			putJSON(tx, rewardCountersKey(rw.ID), ctr)
		}
		covered = take() == 0
	}
	if vouchers {
		putJSON(tx, voucherPoolKey(rw.ID), vp)
	}
	sl.renew(now)
	putJSON(tx, rewardEscrow.slice(rw.ID, node), sl)
	putJSON(tx, rewardEscrow.pool(rw.ID), pool)
	return covered, nil
}

// returnRewardSlice ends node's slice of reward id (ReturnSlices).
func returnRewardSlice(tx Tx, id, node string) error {
	var sl rewardSlice
	found, err := getJSON(tx, rewardEscrow.slice(id, node), &sl)
	if err != nil || !found {
		return err
	}
	var pool rewardPool
	var ctr RewardCounters
	var vp VoucherPool
	recs := []rec{{rewardEscrow.pool(id), &pool}, {rewardCountersKey(id), &ctr}}
	vouchers := sl.hasVouchers()
	if vouchers {
		recs = append(recs, rec{voucherPoolKey(id), &vp})
	}
	if err := getEach(tx, recs...); err != nil {
		return err
	}
	sl.fold(&pool, &ctr, &vp)
	dropSlice(tx, rewardEscrow, id, node, &pool.Nodes)
	putJSON(tx, rewardCountersKey(id), ctr)
	putJSON(tx, rewardEscrow.pool(id), pool)
	if vouchers {
		putJSON(tx, voucherPoolKey(id), vp)
	}
	return nil
}

// syncRewardSlices brings every slice's grant of reward id down to what
// it took and its codes back to the list, for a new version of the
// reward: its stock then holds against the slices at once.
func syncRewardSlices(tx Tx, id string) error {
	var pool rewardPool
	if _, err := getJSON(tx, rewardEscrow.pool(id), &pool); err != nil || len(pool.Nodes) == 0 {
		return err
	}
	sls, err := readSlices[rewardSlice](tx, rewardEscrow, id, pool.Nodes)
	if err != nil {
		return err
	}
	var vp VoucherPool
	if _, err := getJSON(tx, voucherPoolKey(id), &vp); err != nil {
		return err
	}
	returned := false
	for i, sl := range sls {
		returned = returned || len(sl.Vouchers) > 0
		sl.release(&pool, &vp)
		putJSON(tx, rewardEscrow.slice(id, pool.Nodes[i]), sl)
	}
	putJSON(tx, rewardEscrow.pool(id), pool)
	if returned {
		putJSON(tx, voucherPoolKey(id), vp)
	}
	return nil
}

// rewardTotals are reward id's counters and codes handed out: rwc/ID's
// and vcp/ID's plus every slice's; p is the voucher list.
func rewardTotals(r getter, id string) (ctr RewardCounters, p VoucherPool, err error) {
	var pool rewardPool
	if err := getEach(r, rec{rewardCountersKey(id), &ctr}, rec{voucherPoolKey(id), &p}, rec{rewardEscrow.pool(id), &pool}); err != nil {
		return ctr, p, err
	}
	sls, err := readSlices[rewardSlice](r, rewardEscrow, id, pool.Nodes)
	for _, sl := range sls {
		ctr.Redeemed += sl.Used.Redeemed
		ctr.Redemptions += sl.Used.Redemptions
		p.Issued += sl.VouchersIssued
	}
	return ctr, p, err
}

// auditRewardEscrow adds what every slice took to its reward's counters
// (counters) and codes handed out (issued), for the audit's comparison
// with the exchanges, and checks the escrow: every slice in its pool, the
// pool's grant their sum, no slice past its grant, a voucher slice holding
// one code for each unit it holds, and the counters outside slices plus
// the grants within the stock (redeemed + held + rest = stock, rest ≥ 0).
// It returns, per reward, the runs of the list the slices hold.
func auditRewardEscrow(db Scanner, a *AuditReport, rewards map[string]*Reward, counters map[string]*RewardCounters, issued map[string]int64) (map[string][]voucherRun, error) {
	pools, sls, err := loadEscrow[rewardPool, rewardSlice](db, a, rewardEscrow, "reward")
	if err != nil {
		return nil, err
	}
	auditListed(a, "reward", pools, sls, func(p *rewardPool) []string { return p.Nodes })
	held := map[string][]voucherRun{}
	for _, id := range slices.Sorted(maps.Keys(pools)) {
		pool, rw := pools[id], rewards[id]
		if rw == nil {
			a.violate("reward %s has slices but no catalog record", id)
			continue
		}
		direct := RewardCounters{}
		if c := counters[id]; c != nil {
			direct = *c
		}
		total, granted := direct, int64(0)
		for _, n := range pool.Nodes {
			sl := sls[id][n]
			if sl == nil {
				continue // listed, never written: a top-up's slice was folded
			}
			total.Redeemed += sl.Used.Redeemed
			total.Redemptions += sl.Used.Redemptions
			issued[id] += sl.VouchersIssued
			granted += sl.Granted
			held[id] = append(held[id], sl.Vouchers...)
			if sl.Used.Redeemed > sl.Granted {
				a.violate("reward %s: node %s's slice took %d units of the %d it was granted", id, n, sl.Used.Redeemed, sl.Granted)
			}
			if rw.Kind == KindVoucher && runsLen(sl.Vouchers) != sl.Granted-sl.Used.Redeemed {
				a.violate("reward %s: node %s's slice holds %d codes for the %d units it holds", id, n, runsLen(sl.Vouchers), sl.Granted-sl.Used.Redeemed)
			}
		}
		counters[id] = &total
		if granted != pool.Granted {
			a.violate("reward %s: the pool counts %d units granted, its slices %d", id, pool.Granted, granted)
		}
		if direct.Redeemed+pool.Granted > rw.Stock {
			a.violate("reward %s: %d units redeemed outside slices and %d granted to slices pass its stock of %d", id, direct.Redeemed, pool.Granted, rw.Stock)
		}
	}
	return held, nil
}

// auditVoucherPositions checks that every position of reward id's list up
// to its cursor is, exactly once, a code handed out, a code a slice holds
// or a code given back, and that none past the cursor is out.
func auditVoucherPositions(a *AuditReport, id string, p *VoucherPool, vs []*Voucher, held []voucherRun) {
	cursor := p.cursor()
	seen := map[int64]string{}
	note := func(pos int64, what string) {
		switch {
		case pos < 1 || pos > cursor:
			a.violate("reward %s: voucher %d is %s but past the list's cursor %d", id, pos, what, cursor)
		case seen[pos] != "":
			a.violate("reward %s: voucher %d is both %s and %s", id, pos, seen[pos], what)
		default:
			seen[pos] = what
		}
	}
	for _, v := range vs {
		if v.Exchange != "" {
			note(v.Seq, "handed out")
		}
	}
	for _, r := range held {
		for pos := r.From; pos <= r.To; pos++ {
			note(pos, "held by a slice")
		}
	}
	for _, r := range p.Free {
		for pos := r.From; pos <= r.To; pos++ {
			note(pos, "given back")
		}
	}
	if int64(len(seen)) != cursor {
		a.violate("reward %s: %d of the list's first %d vouchers are accounted for (handed out, held or given back)", id, len(seen), cursor)
	}
}

// voucherRun is the positions From to To (inclusive) of a voucher list.
type voucherRun struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// runsLen counts the positions of runs.
func runsLen(runs []voucherRun) int64 {
	var n int64
	for _, r := range runs {
		n += r.To - r.From + 1
	}
	return n
}

// splitRuns takes the first n positions of runs (which hold at least n).
func splitRuns(runs []voucherRun, n int64) (head, rest []voucherRun) {
	for n > 0 {
		r := runs[0]
		if k := r.To - r.From + 1; k > n {
			head = append(head, voucherRun{r.From, r.From + n - 1})
			runs[0].From += n
			break
		}
		head = append(head, r)
		runs = runs[1:]
		n -= r.To - r.From + 1
	}
	return head, slices.Clip(runs)
}
