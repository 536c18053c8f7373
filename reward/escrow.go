package reward

import (
	"bytes"
	"errors"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"time"

	json "github.com/segmentio/encoding/json"
)

// Escrow of a campaign's budget and stock among several nodes.
//
// With one engine on its store (Pebble) every paying scan reads and writes
// the campaign's counters (cc/ID) and its prizes issued (cpz/ID): the
// decider runs one decision at a time, so one record costs nothing. With
// several nodes on one database (Options.NodeID), those two records would
// be written by every node's every paying scan, and PostgreSQL's
// SERIALIZABLE refuses the second of two concurrent writes of one row: the
// nodes would take turns. A conditional update (n = n + x WHERE n + x <=
// budget) does not help inside a serializable transaction: it is still a
// write of the same row, refused the same way; run apart from the payout's
// transaction it would no longer be atomic with the payout.
//
// So each node holds a slice of the campaign (cs/ID 0x00 NODE): what it
// was granted of the budget, the coupon stock and each prize's stock, and
// what it paid from them (its own counters, added to cc/ID's by every
// reader). A paying scan reads and writes only its node's slice. When the
// slice is short, the scan's decision is dropped unwritten and the node
// tops its slice up in a decision of its own, which alone writes the
// shared pool (cs/ID: what all slices were granted, and the nodes holding
// one), then decides the scan again. The sum paid can never pass the
// budget: every slice pays at most its grant, and grants are taken only
// from what neither cc/ID paid nor a slice holds:
//
//	paid (cc/ID + every slice's paid) + held (every slice's grant − paid) + rest = budget, rest ≥ 0
//
// The audit checks it. A top-up that cannot cover the scan recalls what
// the other nodes' slices hold unused of the short amount (their next
// scan tops up again), so a scan is refused for budget or stock only when
// the whole campaign has too little left: nothing stays stranded in
// another node's slice. A slice not written for sliceLease (its node died,
// or sat idle) is folded into cc/ID by the next top-up that recalls, so a
// dead node's slice never holds budget or records for long; a node
// stopping cleanly returns its slices (ReturnSlices). Applying a new
// version of a campaign brings every slice's grant down to what it paid,
// so a budget or stock lowered below what slices held takes effect at
// once.
//
// Decisions of engines without a NodeID (the command line on the same
// database, a single node) pay from cc/ID directly, within what the slices
// do not hold; on a store with no slices (Pebble, one node) this is the
// rule and the records as they always were.
const (
	// sliceLease is how long a slice not written stays its node's.
	sliceLease = 30 * time.Second
	// A top-up leaves the slice holding at least sliceScans scans' worth,
	// or sliceGrowth times what the slice already used if that is more,
	// and takes at most 1/sliceShare of what is left, so that near the
	// end grants are small.
	sliceScans  = 16
	sliceGrowth = 4
	sliceShare  = 8
	// maxTopUps bounds the top-ups of one scan (other scans on the node
	// can use what a top-up brought first); the scan then decides with
	// what its slice holds.
	maxTopUps = 8
)

// escrowAmounts are amounts of a campaign's budget (points) and stocks.
type escrowAmounts struct {
	Points  int64            `json:"points,omitempty"`
	Coupons int64            `json:"coupons,omitempty"`
	Prizes  map[string]int64 `json:"prizes,omitempty"`
}

// escrowPool (cs/ID) is what the campaign's slices were granted in all,
// and the nodes holding a slice: readers sum the slices it lists.
type escrowPool struct {
	Granted escrowAmounts `json:"granted"`
	Nodes   []string      `json:"nodes"`
}

// campaignSlice (cs/ID 0x00 NODE) is one node's share: what it was
// granted, and the counters and prizes it paid, which count with cc/ID's
// and cpz/ID's. Paid only grows: voids write cc/ID.
type campaignSlice struct {
	Granted escrowAmounts    `json:"granted"`
	Paid    CampaignCounters `json:"paid"`
	Prizes  map[string]int64 `json:"prizes_issued,omitempty"`
	lease
}

// escrowKeys is where one kind of escrowed record keeps its pools
// (prefix ID) and its nodes' slices (prefix ID 0x00 NODE): campaigns
// here, the mall's rewards in rewardescrow.go.
type escrowKeys string

const campaignEscrow escrowKeys = "cs/"

func (k escrowKeys) pool(id string) []byte { return append([]byte(k), id...) }
func (k escrowKeys) slice(id, node string) []byte {
	return append(append(k.pool(id), 0), node...)
}

// sliceName names the slices that this node's decisions on lane pay from:
// the node's id on lane 0, when the store chose the lane, or when it
// decides in one; NODE/LANE on the others. The store's lanes have groups
// in flight at once, which conflict as different nodes' do, so each lane
// keeps its own slices, as each node does; readers, the audit and the
// recall see them as any node's. Empty without a node id.
func (e *Engine) sliceName(lane int) string {
	if e.node == "" || lane <= 0 || e.lanes == 1 {
		return e.node
	}
	return e.node + "/" + strconv.Itoa(lane)
}

// laneOf is the lane the decision that tx runs was sent to, -1 when the
// store chose it.
func laneOf(tx Tx) int {
	if et, ok := tx.(*eventTx); ok {
		return et.lane
	}
	return -1
}

// sliceOf is the name of the slices the decision tx runs pays from.
func (e *Engine) sliceOf(tx Tx) string { return e.sliceName(laneOf(tx)) }

// laneOf is the lane of the decisions about id: a code's scans, a
// member's exchanges. Decisions that write the same records (a code's
// scan count and redemption, a member's balance) then share one lane's
// groups, one after the other, rather than conflict across lanes: a code
// raced by many members would otherwise conflict in every lane at once.
func (e *Engine) laneOf(id string) int {
	if e.lanes == 1 {
		return -1
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(e.lanes))
}

// lease is when a slice stops being its node's (see sliceLease): a slice
// not written since is folded by the next recall.
type lease struct {
	Lease time.Time `json:"lease"`
}

func (l *lease) renew(now time.Time)        { l.Lease = now.Add(sliceLease) }
func (l *lease) expired(now time.Time) bool { return l.Lease.Before(now) }
func (l *lease) leaseOf() *lease            { return l }

// leased is a slice type: a pointer to a struct that embeds lease.
type leased[S any] interface {
	*S
	leaseOf() *lease
}

// rec is a record a decision reads: its key and where it decodes to.
type rec struct {
	key []byte
	v   any
}

// getEach reads each record into its value; a missing one leaves it as is.
func getEach(r getter, recs ...rec) error {
	for _, x := range recs {
		if _, err := getJSON(r, x.key, x.v); err != nil {
			return err
		}
	}
	return nil
}

// joinPool lists node among a pool's nodes, which readers sum.
func joinPool(nodes *[]string, node string) {
	if !slices.Contains(*nodes, node) {
		*nodes = append(*nodes, node)
		slices.Sort(*nodes)
	}
}

// readSlices reads the slices of id that nodes hold, in their order; a
// slice listed but not written reads as empty.
func readSlices[S any](r getter, keys escrowKeys, id string, nodes []string) ([]*S, error) {
	out := make([]*S, len(nodes))
	for i, n := range nodes {
		out[i] = new(S)
		if _, err := getJSON(r, keys.slice(id, n), out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// recallSlices runs a recall over the slices of id that nodes lists,
// self's apart: a slice whose lease ran out (its node died or sat idle),
// or that was never written, is passed to fold, then deleted and dropped
// from nodes; a live one is passed to take, to give back what it holds
// unused, and written back. It reports whether it folded any.
func recallSlices[S any, P leased[S]](tx Tx, keys escrowKeys, id string, nodes *[]string, self string, now time.Time, fold, take func(P)) (folded bool, err error) {
	for _, n := range slices.Clone(*nodes) {
		if n == self {
			continue
		}
		o := P(new(S))
		found, err := getJSON(tx, keys.slice(id, n), o)
		if err != nil {
			return false, err
		}
		if !found || o.leaseOf().expired(now) {
			fold(o)
			dropSlice(tx, keys, id, n, nodes)
			folded = true
			continue
		}
		take(o)
		putJSON(tx, keys.slice(id, n), o)
	}
	return folded, nil
}

// dropSlice deletes node's slice of id and drops it from the pool's nodes.
func dropSlice(tx Tx, keys escrowKeys, id, node string, nodes *[]string) {
	*nodes = slices.DeleteFunc(*nodes, func(s string) bool { return s == node })
	tx.Delete(keys.slice(id, node))
}

// shortfall drops a scan's decision whose slice holds too little: Scan
// tops the slice up and decides again.
type shortfall struct {
	campaign        string
	points, coupons int64
	prize           string
	// lane is the scan's: the top-up runs there, on the same slice.
	lane int
}

func (s *shortfall) Error() string { return "reward: campaign " + s.campaign + "'s slice is short" }

// addCounters adds b to a.
func addCounters(a *CampaignCounters, b CampaignCounters, sign int64) {
	a.PointsPaid += sign * b.PointsPaid
	a.CouponsIssued += sign * b.CouponsIssued
	a.CouponsUsed += sign * b.CouponsUsed
	a.Commission += sign * b.Commission
	a.RewardedScans += sign * b.RewardedScans
}

func addPrizes(m *map[string]int64, b map[string]int64, sign int64) {
	for _, n := range slices.Sorted(maps.Keys(b)) {
		if *m == nil {
			*m = map[string]int64{}
		}
		(*m)[n] += sign * b[n]
	}
}

// campaignAccount is where a paying scan's counters go and what it may
// spend: the node's slice, or cc/ID (direct) within what slices do not
// hold.
type campaignAccount struct {
	e     *Engine
	c     *Campaign
	ctr   *CampaignCounters // cc/ID's, or the slice's Paid
	held  escrowAmounts     // direct: what the slices were granted
	slice *campaignSlice    // nil: direct
	node  string
	// direct: cpz/ID, read when a prize is drawn
	prizes               map[string]int64
	prizesRead, prizeSet bool
	// final: a shortfall tops the slice up inside the decision, rather
	// than dropping it for a top-up of its own.
	final bool
}

// openAccount opens the account a scan of campaign c pays from. final is
// set once top-ups of its own could not cover the scan (see short).
func (e *Engine) openAccount(tx Tx, c *Campaign, final bool) (*campaignAccount, error) {
	a := &campaignAccount{e: e, c: c, final: final}
	if node := e.sliceOf(tx); node != "" {
		var sl campaignSlice
		found, err := getJSON(tx, campaignEscrow.slice(c.ID, node), &sl)
		if err != nil || !found {
			// No slice yet: the top-up registers it in the pool, without
			// which readers would not count it.
			if err == nil {
				err = a.topUpIn(tx, &shortfall{campaign: c.ID})
			}
			if err != nil {
				return nil, err
			}
			if _, err := getJSON(tx, campaignEscrow.slice(c.ID, node), &sl); err != nil {
				return nil, err
			}
		}
		a.slice, a.ctr, a.node = &sl, &sl.Paid, node
		return a, nil
	}
	var ctr CampaignCounters
	if _, err := getJSON(tx, campaignCountersKey(c.ID), &ctr); err != nil {
		return nil, err
	}
	a.ctr = &ctr
	// Slices exist only where nodes share the store; a store's one writer
	// (Pebble) has none, and its scans skip reading the pool.
	if e.shared && (c.PointsBudget > 0 || c.Coupon != nil || len(c.Prizes) > 0) {
		var pool escrowPool
		if _, err := getJSON(tx, campaignEscrow.pool(c.ID), &pool); err != nil {
			return nil, err
		}
		a.held = pool.Granted
	}
	return a, nil
}

// verifiedCounters is where a coupon verification of campaign id counts
// the coupon used and its commission, and save writes them: the slice of
// the deciding node when it holds one, so that verifications on several
// nodes do not all rewrite the campaign's counters (readers add a slice's
// Paid to cc/ID's); otherwise cc/ID, as on one node. A verification takes
// nothing from a grant, so it needs no slice of its own.
func (e *Engine) verifiedCounters(tx Tx, id string, now time.Time) (ctr *CampaignCounters, save func(), err error) {
	if node := e.sliceOf(tx); node != "" {
		sl := new(campaignSlice)
		found, err := getJSON(tx, campaignEscrow.slice(id, node), sl)
		if err != nil {
			return nil, nil, err
		}
		if found {
			return &sl.Paid, func() {
				sl.renew(now)
				putJSON(tx, campaignEscrow.slice(id, node), sl)
			}, nil
		}
	}
	ctr = new(CampaignCounters)
	if _, err := getJSON(tx, campaignCountersKey(id), ctr); err != nil {
		return nil, nil, err
	}
	return ctr, func() { putJSON(tx, campaignCountersKey(id), ctr) }, nil
}

// pointsLeft is what the account may still pay of a points budget.
func (a *campaignAccount) pointsLeft() int64 {
	if a.slice != nil {
		return a.slice.Granted.Points - a.ctr.PointsPaid
	}
	return a.c.PointsBudget - a.ctr.PointsPaid - a.held.Points
}

// couponsLeft is what the account may still issue of the coupon stock.
func (a *campaignAccount) couponsLeft() int64 {
	if a.slice != nil {
		return a.slice.Granted.Coupons - a.ctr.CouponsIssued
	}
	return a.c.Coupon.Stock - a.ctr.CouponsIssued - a.held.Coupons
}

// prizeLeft is what the account may still issue of a prize's stock.
func (a *campaignAccount) prizeLeft(tx Tx, p *Prize) (int64, error) {
	if a.slice != nil {
		return a.slice.Granted.Prizes[p.Name] - a.slice.Prizes[p.Name], nil
	}
	if !a.prizesRead {
		a.prizesRead = true
		if _, err := getJSON(tx, campaignPrizesKey(a.c.ID), &a.prizes); err != nil {
			return 0, err
		}
	}
	return p.Stock - a.prizes[p.Name] - a.held.Prizes[p.Name], nil
}

// issuePrize counts one coupon of prize name.
func (a *campaignAccount) issuePrize(name string) {
	m := &a.prizes
	if a.slice != nil {
		m = &a.slice.Prizes
	}
	addPrizes(m, map[string]int64{name: 1}, 1)
	a.prizeSet = true
}

// short handles a slice too small for the scan. At first the scan's
// decision is dropped for a top-up of its own (Scan runs it), so that the
// shared pool is written apart from the node's group of scans. A scan that
// such top-ups could not cover (final) tops up inside its decision,
// recalling what other slices hold: it is then refused, or paid in part,
// only when the whole campaign has too little left. The caller reads
// what is left again afterwards.
func (a *campaignAccount) short(tx Tx, points, coupons int64, prize string) error {
	if a.slice == nil {
		return nil
	}
	return a.topUpIn(tx, &shortfall{campaign: a.c.ID, points: points, coupons: coupons, prize: prize})
}

// topUpIn is short's top-up, and the registration of a new slice.
func (a *campaignAccount) topUpIn(tx Tx, s *shortfall) error {
	s.lane = laneOf(tx)
	if !a.final {
		return s
	}
	if _, err := a.e.decideTopUp(tx, s); err != nil {
		return err
	}
	if a.slice == nil {
		return nil
	}
	// The top-up changed only the grant; what this decision paid so far
	// stays in memory until save.
	var sl campaignSlice
	if _, err := getJSON(tx, campaignEscrow.slice(a.c.ID, a.node), &sl); err != nil {
		return err
	}
	a.slice.Granted = sl.Granted
	return nil
}

// save writes what the scan changed.
func (a *campaignAccount) save(tx Tx, now time.Time) {
	if a.slice != nil {
		a.slice.renew(now)
		putJSON(tx, campaignEscrow.slice(a.c.ID, a.node), a.slice)
		return
	}
	putJSON(tx, campaignCountersKey(a.c.ID), a.ctr)
	if a.prizeSet {
		putJSON(tx, campaignPrizesKey(a.c.ID), a.prizes)
	}
}

// give is what a top-up adds to one amount: left is what the slice holds,
// rest what no slice holds, want what the scan needs, unit a scan's worth,
// used what the slice paid or issued so far.
//
// The grant grows with what the slice used: a top-up leaves the slice
// holding sliceGrowth times what it used before (at least sliceScans
// scans' worth), so a busy node's grant grows fivefold with each top-up
// and it tops up about log5(its scans) times rather than once every
// sliceScans scans. Every top-up writes the campaign's pool, which every
// other node's top-ups write too: on PostgreSQL two of them in flight at
// once refuse one group, with every scan in it (docs/cluster.md). What is
// left bounds it as before, so as the budget or stock runs out grants
// shrink, and a slice holding what another needs is recalled.
func give(left, rest, want, unit, used int64) int64 {
	target := max(want, min(max(sliceScans*max(unit, want), sliceGrowth*used), (rest+left)/sliceShare))
	return max(0, min(rest, target-left))
}

// topUp is a slice's top-up, in a decision of its own: the only decision
// of a paying node that writes the campaign's shared pool. covered
// reports whether the slice now holds what s asked.
func (s *shortfall) topUp(e *Engine) (covered bool, err error) {
	return e.decideAlone(s.lane, func(tx Tx) (bool, error) { return e.decideTopUp(tx, s) })
}

// decideAlone runs a top-up's decision in a decision of its own, on lane:
// the short decision's, whose slice it tops up.
func (e *Engine) decideAlone(lane int, decide func(Tx) (bool, error)) (covered bool, err error) {
	err = e.updateIn(lane, nil, func(tx Tx) error {
		var err error
		covered, err = decide(tx)
		return err
	})
	return covered, err
}

// topUpper is a node's slice falling short of a decision: topUp tops it
// up in a decision of its own, and reports whether it now covers it.
type topUpper interface {
	topUp(e *Engine) (covered bool, err error)
}

// untilCovered runs a decision that pays from this node's slices until
// none falls short: decide reports a short slice (its decision dropped
// unwritten), the slice is topped up, and the decision runs again. The
// last run (final: the top-ups could not cover it, or maxTopUps were
// made) tops up inside its own decision instead, recalling what other
// slices hold, so it is refused only when the whole stock is short.
func (e *Engine) untilCovered(decide func(final bool) (topUpper, error)) error {
	final := false
	for round := 1; ; round++ {
		short, err := decide(final)
		if short == nil {
			return err
		}
		covered, err := short.topUp(e)
		if err != nil {
			return err
		}
		final = !covered || round >= maxTopUps
	}
}

// decideTopUp is the decision of a top-up.
func (e *Engine) decideTopUp(tx Tx, s *shortfall) (covered bool, err error) {
	covered = true
	now, node := e.now(), e.sliceOf(tx)
	var c Campaign
	found, err := getJSON(tx, campaignKey(s.campaign), &c)
	if err != nil || !found {
		return covered, err
	}
	var pool escrowPool
	var sl campaignSlice
	var ctr CampaignCounters
	var issued map[string]int64
	if err := getEach(tx, rec{campaignEscrow.pool(c.ID), &pool}, rec{campaignEscrow.slice(c.ID, node), &sl}, rec{campaignCountersKey(c.ID), &ctr}, rec{campaignPrizesKey(c.ID), &issued}); err != nil {
		return false, err
	}
	joinPool(&pool.Nodes, node)
	var prize *Prize
	for i := range c.Prizes {
		if c.Prizes[i].Name == s.prize {
			prize = &c.Prizes[i]
		}
	}
	var short escrowAmounts // what is short, by kind
	take := func() {
		short = escrowAmounts{}
		if c.PointsBudget > 0 {
			left := sl.Granted.Points - sl.Paid.PointsPaid
			add := give(left, c.PointsBudget-ctr.PointsPaid-pool.Granted.Points, s.points, c.Points.Max+c.NewMemberBonus, sl.Paid.PointsPaid)
			sl.Granted.Points += add
			pool.Granted.Points += add
			short.Points = max(0, s.points-left-add)
		}
		if c.Coupon != nil {
			left := sl.Granted.Coupons - sl.Paid.CouponsIssued
			add := give(left, c.Coupon.Stock-ctr.CouponsIssued-pool.Granted.Coupons, s.coupons, 1, sl.Paid.CouponsIssued)
			sl.Granted.Coupons += add
			pool.Granted.Coupons += add
			short.Coupons = max(0, s.coupons-left-add)
		}
		if prize != nil {
			left := sl.Granted.Prizes[prize.Name] - sl.Prizes[prize.Name]
			add := give(left, prize.Stock-issued[prize.Name]-pool.Granted.Prizes[prize.Name], 1, 1, sl.Prizes[prize.Name])
			addPrizes(&sl.Granted.Prizes, map[string]int64{prize.Name: add}, 1)
			addPrizes(&pool.Granted.Prizes, map[string]int64{prize.Name: add}, 1)
			if left+add < 1 {
				short.Prizes = map[string]int64{prize.Name: 1}
			}
		}
	}
	take()
	if short.Points > 0 || short.Coupons > 0 || len(short.Prizes) > 0 {
		folded, err := e.recall(tx, c.ID, &pool, &ctr, &issued, short, now)
		if err != nil {
			return false, err
		}
		if folded {
			putJSON(tx, campaignCountersKey(c.ID), ctr)
			if issued != nil {
				putJSON(tx, campaignPrizesKey(c.ID), issued)
			}
		}
		take()
		covered = short.Points == 0 && short.Coupons == 0 && len(short.Prizes) == 0
	}
	sl.renew(now)
	putJSON(tx, campaignEscrow.slice(c.ID, node), sl)
	putJSON(tx, campaignEscrow.pool(c.ID), pool)
	return covered, nil
}

// recall brings back to the pool what the other nodes' slices hold unused
// of the kinds short names, and folds into the campaign's counters the
// slices whose lease ran out. It reports whether it folded any.
func (e *Engine) recall(tx Tx, id string, pool *escrowPool, ctr *CampaignCounters, issued *map[string]int64, short escrowAmounts, now time.Time) (folded bool, err error) {
	return recallSlices(tx, campaignEscrow, id, &pool.Nodes, e.sliceOf(tx), now, func(o *campaignSlice) {
		foldSlice(o, pool, ctr, issued)
	}, func(o *campaignSlice) {
		if short.Points > 0 {
			l := o.Granted.Points - o.Paid.PointsPaid
			o.Granted.Points -= l
			pool.Granted.Points -= l
		}
		if short.Coupons > 0 {
			l := o.Granted.Coupons - o.Paid.CouponsIssued
			o.Granted.Coupons -= l
			pool.Granted.Coupons -= l
		}
		for _, name := range slices.Sorted(maps.Keys(short.Prizes)) {
			l := map[string]int64{name: o.Granted.Prizes[name] - o.Prizes[name]}
			addPrizes(&o.Granted.Prizes, l, -1)
			addPrizes(&pool.Granted.Prizes, l, -1)
		}
	})
}

// foldSlice ends a slice: what it paid joins the campaign's counters,
// what it was granted leaves the pool (dropSlice removes it).
func foldSlice(sl *campaignSlice, pool *escrowPool, ctr *CampaignCounters, issued *map[string]int64) {
	addCounters(ctr, sl.Paid, 1)
	addPrizes(issued, sl.Prizes, 1)
	pool.Granted.Points -= sl.Granted.Points
	pool.Granted.Coupons -= sl.Granted.Coupons
	addPrizes(&pool.Granted.Prizes, sl.Granted.Prizes, -1)
}

// ReturnSlices ends this node's slices, every lane's, for a clean shutdown: a
// campaign's slice what it paid joins the campaign's counters, and what
// every slice held unused goes back to its campaign or reward. A node that
// dies instead leaves its slices to be folded by the other nodes' top-ups
// once their lease runs out.
func (e *Engine) ReturnSlices() error {
	if e.node == "" {
		return nil
	}
	for _, k := range []struct {
		keys escrowKeys
		end  func(tx Tx, id, node string) error
	}{{campaignEscrow, returnCampaignSlice}, {rewardEscrow, returnRewardSlice}} {
		type owned struct{ id, node string }
		var ends []owned
		err := e.db.Scan([]byte(k.keys), nil, func(key, _ []byte) bool {
			for lane := range e.lanes {
				node := e.sliceName(lane)
				if suffix := append([]byte{0}, node...); bytes.HasSuffix(key, suffix) {
					ends = append(ends, owned{string(key[len(k.keys) : len(key)-len(suffix)]), node})
					break
				}
			}
			return true
		})
		if err != nil {
			return wrapStore(err)
		}
		for _, o := range ends {
			if err := e.update(func(tx Tx) error { return k.end(tx, o.id, o.node) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// returnCampaignSlice ends node's slice of campaign id (ReturnSlices).
func returnCampaignSlice(tx Tx, id, node string) error {
	var sl campaignSlice
	found, err := getJSON(tx, campaignEscrow.slice(id, node), &sl)
	if err != nil || !found {
		return err
	}
	var pool escrowPool
	var ctr CampaignCounters
	var issued map[string]int64
	if err := getEach(tx, rec{campaignEscrow.pool(id), &pool}, rec{campaignCountersKey(id), &ctr}, rec{campaignPrizesKey(id), &issued}); err != nil {
		return err
	}
	foldSlice(&sl, &pool, &ctr, &issued)
	dropSlice(tx, campaignEscrow, id, node, &pool.Nodes)
	putJSON(tx, campaignCountersKey(id), ctr)
	if issued != nil {
		putJSON(tx, campaignPrizesKey(id), issued)
	}
	putJSON(tx, campaignEscrow.pool(id), pool)
	return nil
}

// syncSlices brings every slice's grant of campaign id down (or up) to
// what it paid, for a new version of the campaign: its budget and stocks
// then hold against the slices at once. It returns the campaign's total
// counters and prizes issued.
func syncSlices(tx Tx, id string) (CampaignCounters, map[string]int64, error) {
	var ctr CampaignCounters
	var issued map[string]int64
	var pool escrowPool
	if err := getEach(tx, rec{campaignEscrow.pool(id), &pool}, rec{campaignCountersKey(id), &ctr}, rec{campaignPrizesKey(id), &issued}); err != nil {
		return ctr, nil, err
	}
	if len(pool.Nodes) == 0 {
		return ctr, issued, nil
	}
	sls, err := readSlices[campaignSlice](tx, campaignEscrow, id, pool.Nodes)
	if err != nil {
		return ctr, nil, err
	}
	pool.Granted = escrowAmounts{}
	for i, sl := range sls {
		sl.Granted = escrowAmounts{Points: sl.Paid.PointsPaid, Coupons: sl.Paid.CouponsIssued, Prizes: maps.Clone(sl.Prizes)}
		pool.Granted.Points += sl.Granted.Points
		pool.Granted.Coupons += sl.Granted.Coupons
		addPrizes(&pool.Granted.Prizes, sl.Granted.Prizes, 1)
		addCounters(&ctr, sl.Paid, 1)
		addPrizes(&issued, sl.Prizes, 1)
		putJSON(tx, campaignEscrow.slice(id, pool.Nodes[i]), sl)
	}
	putJSON(tx, campaignEscrow.pool(id), pool)
	return ctr, issued, nil
}

// campaignTotals are campaign id's counters and (withPrizes) prizes
// issued: cc/ID's and cpz/ID's plus what every slice paid.
func campaignTotals(r getter, id string, withPrizes bool) (CampaignCounters, map[string]int64, error) {
	var ctr CampaignCounters
	var issued map[string]int64
	var pool escrowPool
	recs := []rec{{campaignCountersKey(id), &ctr}, {campaignEscrow.pool(id), &pool}}
	if withPrizes {
		recs = append(recs, rec{campaignPrizesKey(id), &issued})
	}
	if err := getEach(r, recs...); err != nil {
		return ctr, nil, err
	}
	sls, err := readSlices[campaignSlice](r, campaignEscrow, id, pool.Nodes)
	if err != nil {
		return ctr, nil, err
	}
	for _, sl := range sls {
		addCounters(&ctr, sl.Paid, 1)
		if withPrizes {
			addPrizes(&issued, sl.Prizes, 1)
		}
	}
	return ctr, issued, nil
}

// asShortfall reports err's shortfall, if it is one.
func asShortfall(err error) *shortfall {
	var s *shortfall
	if errors.As(err, &s) {
		return s
	}
	return nil
}

// auditEscrow adds what every slice paid to its campaign's counters and
// prizes issued (ctrs, prizes), for the audit's comparison with the
// records, and checks the escrow: every slice listed in its pool and the
// pool's grants their sum; no slice paid more than it was granted; and
// what cc/ID paid plus what the slices were granted within the budget
// and stocks (paid + held + rest = budget, rest ≥ 0).
func auditEscrow(db Scanner, a *AuditReport, camps map[string]*Campaign, ctrs map[string]*CampaignCounters, prizes map[string]map[string]int64) error {
	pools, sls, err := loadEscrow[escrowPool, campaignSlice](db, a, campaignEscrow, "campaign")
	if err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(pools)) {
		pool, c := pools[id], camps[id]
		if c == nil {
			a.violate("campaign %s has slices but no campaign record", id)
			continue
		}
		if ctrs[id] == nil {
			ctrs[id] = &CampaignCounters{}
		}
		direct, directPrizes := *ctrs[id], maps.Clone(prizes[id])
		var granted escrowAmounts
		for _, n := range pool.Nodes {
			sl := sls[id][n]
			if sl == nil {
				continue // listed, never written: a top-up's slice was folded
			}
			addCounters(ctrs[id], sl.Paid, 1)
			if len(sl.Prizes) > 0 {
				p := prizes[id]
				addPrizes(&p, sl.Prizes, 1)
				prizes[id] = p
			}
			granted.Points += sl.Granted.Points
			granted.Coupons += sl.Granted.Coupons
			addPrizes(&granted.Prizes, sl.Granted.Prizes, 1)
			if c.PointsBudget > 0 && sl.Paid.PointsPaid > sl.Granted.Points {
				a.violate("campaign %s: node %s's slice paid %d points of the %d it was granted", id, n, sl.Paid.PointsPaid, sl.Granted.Points)
			}
			if c.Coupon != nil && sl.Paid.CouponsIssued > sl.Granted.Coupons {
				a.violate("campaign %s: node %s's slice issued %d coupons of the %d it was granted", id, n, sl.Paid.CouponsIssued, sl.Granted.Coupons)
			}
			for _, p := range c.Prizes {
				if sl.Prizes[p.Name] > sl.Granted.Prizes[p.Name] {
					a.violate("campaign %s: node %s's slice issued %d of prize %s, it was granted %d", id, n, sl.Prizes[p.Name], p.Name, sl.Granted.Prizes[p.Name])
				}
			}
		}
		if granted.Points != pool.Granted.Points || granted.Coupons != pool.Granted.Coupons || !maps.Equal(zeroless(granted.Prizes), zeroless(pool.Granted.Prizes)) {
			a.violate("campaign %s: the pool counts %+v granted, its slices %+v", id, pool.Granted, granted)
		}
		if c.PointsBudget > 0 && direct.PointsPaid+pool.Granted.Points > c.PointsBudget {
			a.violate("campaign %s: %d points paid outside slices and %d granted to slices pass the budget of %d", id, direct.PointsPaid, pool.Granted.Points, c.PointsBudget)
		}
		if c.Coupon != nil && direct.CouponsIssued+pool.Granted.Coupons > c.Coupon.Stock {
			a.violate("campaign %s: %d coupons issued outside slices and %d granted to slices pass the stock of %d", id, direct.CouponsIssued, pool.Granted.Coupons, c.Coupon.Stock)
		}
		for _, p := range c.Prizes {
			if n, g := directPrizes[p.Name], pool.Granted.Prizes[p.Name]; n+g > p.Stock {
				a.violate("campaign %s: %d of prize %s issued outside slices and %d granted to slices pass its stock of %d", id, n, p.Name, g, p.Stock)
			}
		}
	}
	auditListed(a, "campaign", pools, sls, func(p *escrowPool) []string { return p.Nodes })
	return nil
}

// loadEscrow reads the escrow records under keys, for the audit: pools by
// id, slices by id and node. A record that does not decode is a violation.
func loadEscrow[P, S any](db Scanner, a *AuditReport, keys escrowKeys, what string) (map[string]*P, map[string]map[string]*S, error) {
	pools := map[string]*P{}
	sls := map[string]map[string]*S{}
	err := db.Scan([]byte(keys), nil, func(k, v []byte) bool {
		id, node, isSlice := bytes.Cut(k[len(keys):], []byte{0})
		var err error
		if isSlice {
			sl := new(S)
			if err = json.Unmarshal(v, sl); err == nil {
				if sls[string(id)] == nil {
					sls[string(id)] = map[string]*S{}
				}
				sls[string(id)][string(node)] = sl
			}
		} else {
			p := new(P)
			if err = json.Unmarshal(v, p); err == nil {
				pools[string(id)] = p
			}
		}
		if err != nil {
			a.violate("%s escrow record %q is corrupt: %v", what, k, err)
		}
		return true
	})
	return pools, sls, err
}

// auditListed checks that every slice is listed in its pool: readers sum
// only the slices the pool lists, so one outside it would not count.
func auditListed[P, S any](a *AuditReport, what string, pools map[string]*P, sls map[string]map[string]*S, nodes func(*P) []string) {
	for _, id := range slices.Sorted(maps.Keys(sls)) {
		pool := pools[id]
		if pool == nil {
			a.violate("%s %s has slices but no pool, so what they used is not counted", what, id)
			continue
		}
		for _, n := range slices.Sorted(maps.Keys(sls[id])) {
			if !slices.Contains(nodes(pool), n) {
				a.violate("%s %s: node %s's slice is not in its pool, so what it used is not counted", what, id, n)
			}
		}
	}
}

// zeroless is m without its zero values.
func zeroless(m map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}
