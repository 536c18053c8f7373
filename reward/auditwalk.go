package reward

import (
	"bytes"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"time"

	json "github.com/segmentio/encoding/json"
)

// auditWalk is one run of Audit: it reads the store kind by kind, in key
// order, and checks as it goes.
type auditWalk struct {
	a  *AuditReport
	db Scanner

	zone   *time.Location
	guides map[string]*Guide
	camps  map[string]*Campaign
	ctrs   map[string]*CampaignCounters
	prizes map[string]map[string]int64
	mall   *mallAudit
	settle *settleAudit

	// The joins (auditjoin.go): codes ties redemptions to their ledger
	// entries and coupons, keyed by code; counts members' redemptions,
	// keyed by member; paid verified coupons to their commission entries,
	// keyed by coupon.
	codes, counts, paid *joinSums
	ids                 idFilter
	// listed counts the entries the redemptions list, most of the
	// ledgers: what the filter is sized for.
	listed int
	// repeats are the ids the filter could not rule out as seen twice.
	repeats map[string]int

	// What the campaigns' counters and prizes should be.
	want      map[string]*CampaignCounters
	prizeWant map[string]map[string]int64

	// What the mall's checks need: the entries its records list, the
	// members' entries of its kinds, the coupons of rewards and those its
	// exchanges name.
	mallByID    map[string]*Entry
	mallEntries []Entry
	mallCoupons map[string]*Coupon

	// transfers are the members' merge entries; merged the members merged
	// into another, by the one they were merged into.
	transfers     []Entry
	transferPairs map[string]*Entry
	merged        map[string]string

	// Entries filed under another holder's key than the one they name
	// (foreign, with their keys) make that holder's ledger be checked
	// again whole (redo); emitted holds what the first check of a holder
	// reported, to take back.
	foreign    []keyedEntry
	foreignKey map[string]bool
	redo       map[string]bool
	emitted    map[string][]string
}

type keyedEntry struct {
	key string
	en  Entry
}

// redemptionEntry reports whether an entry is of a kind only a redemption
// writes, which it lists.
func redemptionEntry(reason string) bool {
	return reason == "scan" || reason == "new_member_bonus" || reason == "scan_commission"
}

func (w *auditWalk) run() error {
	a, db := w.a, w.db
	seed := maphash.MakeSeed()
	w.codes, w.counts, w.paid = newJoinSums(seed), newJoinSums(seed), newJoinSums(seed)
	w.ids.seed = seed
	w.guides, w.camps, w.ctrs, w.prizes = map[string]*Guide{}, map[string]*Campaign{}, map[string]*CampaignCounters{}, map[string]map[string]int64{}
	w.want, w.prizeWant = map[string]*CampaignCounters{}, map[string]map[string]int64{}
	w.mallByID, w.mallCoupons = map[string]*Entry{}, map[string]*Coupon{}
	w.merged, w.redo, w.emitted, w.foreignKey = map[string]string{}, map[string]bool{}, map[string][]string{}, map[string]bool{}
	err := firstErr(
		scanRecords(db, "g/", a.corrupt("guide"), into(w.guides)),
		scanRecords(db, "cp/", a.corrupt("campaign"), into(w.camps)),
		scanRecords(db, "cc/", a.corrupt("campaign counters"), into(w.ctrs)),
		scanRecords(db, "cpz/", a.corrupt("campaign prizes"), func(k string, p *map[string]int64) { w.prizes[k] = *p }),
	)
	if err != nil {
		return err
	}
	// Several nodes' slices count with their campaigns' counters.
	if err := auditEscrow(db, a, w.camps, w.ctrs, w.prizes); err != nil {
		return err
	}
	auditPending(db, a)
	a.Guides, a.Campaigns = len(w.guides), len(w.camps)
	if w.zone, err = auditZone(db); err != nil {
		return err
	}
	if w.mall, err = loadMall(db, a); err != nil {
		return err
	}
	if w.settle, err = loadSettleAudit(a, db); err != nil {
		return err
	}
	for _, step := range []func() error{w.redemptions, w.coupons, w.memberLedgers, w.guideLedgers, w.guidePending, w.byID, w.redoHolders, w.checkMerged, w.localize} {
		if err := step(); err != nil {
			return err
		}
	}
	w.checkTransfers()
	w.checkCampaigns()
	if err := auditStores(db, a, w.guides); err != nil {
		return err
	}
	w.mall.check(a, w.mallByID, w.mallEntries, w.mallCoupons)
	w.settle.finish(a)
	auditPrizes(a, w.camps, w.prizeWant, w.prizes)
	return nil
}

// redemptions reads every redemption: what it lists goes to the joins,
// what it paid to its campaign's sums.
func (w *auditWalk) redemptions() error {
	return scanRecords(w.db, "r/", w.a.corrupt("redemption"), func(code string, r *Redemption) {
		w.a.Redemptions++
		w.listed += len(r.Ledger)
		for i, id := range r.Ledger {
			// A redemption lists its member's entries, then its guide's
			// commission when it paid one.
			if i == len(r.Ledger)-1 && r.Commission != 0 && r.Guide != "" {
				w.codes.add(1, code, "e", id, "g", r.Guide)
			} else {
				w.codes.add(1, code, "e", id, "m", r.Member)
			}
		}
		w.codes.add(r.Points, code, "p")
		if r.Coupon != "" {
			w.codes.add(1, code, "c", r.Coupon)
		}
		w.counts.add(1, r.Member, "r")
		if r.Campaign != "" && !r.Voided {
			c := w.campaignWant(r.Campaign)
			c.PointsPaid += r.Points
			c.RewardedScans++
			c.Commission += r.Commission
		}
	})
}

func (w *auditWalk) campaignWant(id string) *CampaignCounters {
	c := w.want[id]
	if c == nil {
		c = &CampaignCounters{}
		w.want[id] = c
	}
	return c
}

// coupons reads every coupon: issued by one redemption, verified at most
// once, with the commission of that one verification.
func (w *auditWalk) coupons() error {
	a := w.a
	return scanRecords(w.db, "cpn/", a.corrupt("coupon"), func(id string, c *Coupon) {
		a.Coupons++
		if c.Reward == "" {
			w.codes.add(-1, c.Code, "c", id)
		}
		if c.Status == CouponUsed && c.UsedBy == "" {
			a.violate("coupon %s is used but no guide verified it", id)
		}
		if c.Commission > 0 {
			w.paid.add(1, id, "v", c.UsedBy)
		}
		if c.Status != CouponVoid {
			cw := w.campaignWant(c.Campaign)
			cw.CouponsIssued++
			if c.Status == CouponUsed {
				cw.CouponsUsed++
				cw.Commission += c.Commission
			}
		}
		prizeCount(w.prizeWant, c)
		if c.Reward != "" || w.mall.coupons[id] {
			w.mallCoupons[id] = c
		}
	})
}

// holderCheck checks one member's or guide's ledger as it is read: each
// entry numbered in turn, its balance the running sum of its account;
// replay holds the lots the entries give a member whose lots are kept.
// What it finds goes to rep until the holder is finished (finishHolder).
type holderCheck struct {
	kind, id string
	n        uint64
	running  map[string]int64
	replay   *Member
	rep      AuditReport
}

func newHolderCheck(kind, id string, m *Member) *holderCheck {
	c := &holderCheck{kind: kind, id: id, running: map[string]int64{}}
	if m != nil && m.Booked {
		c.replay = &Member{ID: m.ID}
	}
	return c
}

func (c *holderCheck) add(en *Entry, loc *time.Location) {
	a := &c.rep
	c.n++
	if en.Seq != c.n {
		a.violate("%s %s: ledger entry %d has seq %d", c.kind, c.id, c.n, en.Seq)
	}
	c.running[en.Account] += en.Delta
	if c.running[en.Account] != en.Balance {
		a.violate("%s %s: entry %s says balance %d, the ledger sums to %d", c.kind, c.id, en.ID, en.Balance, c.running[en.Account])
	}
	if c.replay == nil {
		return
	}
	// An expiry takes exactly the points of the months it names.
	if en.Reason == ReasonExpiry {
		var due int64
		for _, l := range c.replay.Lots {
			if l.Month <= en.Through {
				due += l.Amount
			}
		}
		if en.Delta >= 0 || due != -en.Delta {
			a.violate("member %s: expiry entry %s takes %d points, the lots through %s held %d", c.id, en.ID, -en.Delta, en.Through, due)
		}
	}
	c.replay.book(*en, loc)
}

// finish checks the balances a record holds against the ledger read.
func (c *holderCheck) finish(seq uint64, balances map[string]int64) {
	a := &c.rep
	if c.n != seq {
		a.violate("%s %s has %d ledger entries but its record counts %d", c.kind, c.id, c.n, seq)
	}
	for acct, want := range balances {
		if c.running[acct] != want {
			a.violate("%s %s: %s balance %d, its ledger sums to %d", c.kind, c.id, acct, want, c.running[acct])
		}
		if want < 0 {
			a.violate("%s %s: %s balance %d is below zero", c.kind, c.id, acct, want)
		}
	}
}

// finishMember checks a member, m nil for entries of no member, once its
// ledger is read: balances, lots, merges, and what its redemptions count.
func (w *auditWalk) finishMember(c *holderCheck, m *Member) {
	a := &c.rep
	if m == nil {
		if c.n > 0 {
			a.violate("member %s has ledger entries but no account", c.id)
		}
		return
	}
	c.finish(m.Seq, map[string]int64{AccountPoints: m.Points, AccountGrowth: m.Growth})
	if c.replay == nil {
		return
	}
	// The lots sum to the balance and are the ones the ledger gives.
	var sum int64
	for _, l := range m.Lots {
		sum += l.Amount
		if l.Amount <= 0 {
			a.violate("member %s: lot %s holds %d points", m.ID, l.Month, l.Amount)
		}
	}
	if sum != m.Points {
		a.violate("member %s: lots sum to %d points, the balance is %d", m.ID, sum, m.Points)
	}
	if !slices.Equal(c.replay.Lots, m.Lots) {
		a.violate("member %s: lots %v, its ledger gives %v", m.ID, m.Lots, c.replay.Lots)
	}
	if !slices.Equal(c.replay.GrowthMonths, m.GrowthMonths) {
		a.violate("member %s: growth months %v, its ledger gives %v", m.ID, m.GrowthMonths, c.replay.GrowthMonths)
	}
}

// member checks what a member's record says alone, and adds what its
// redemptions must count to the join.
func (w *auditWalk) member(id string, m *Member) {
	w.a.Members++
	w.counts.add(-int64(m.Redemptions), id, "r")
	if m.MergedInto != "" {
		w.merged[id] = m.MergedInto
		if m.Points != 0 || m.Growth != 0 {
			w.a.violate("member %s was merged into %s but holds %d points and %d growth", id, m.MergedInto, m.Points, m.Growth)
		}
	}
}

// entry takes what the joins and the later checks need from a ledger
// entry, filed under key, of a member's ledger or a guide's.
func (w *auditWalk) entry(key string, en *Entry, guide bool) {
	w.a.Entries++
	if w.ids.seen(en.ID) {
		if w.repeats == nil {
			w.repeats = map[string]int{}
		}
		w.repeats[en.ID] = 0
	}
	if redemptionEntry(en.Reason) {
		if en.Member != "" {
			w.codes.add(-1, en.Code, "e", en.ID, "m", en.Member)
		} else {
			w.codes.add(-1, en.Code, "e", en.ID, "g", en.Guide)
		}
		if en.Account == AccountPoints {
			w.codes.add(-en.Delta, en.Code, "p")
		}
	}
	if w.mall.listed[en.ID] {
		w.mallByID[en.ID] = new(*en)
	}
	if guide {
		if en.Reason == "coupon_commission" {
			w.paid.add(-1, en.Coupon, "v", en.Guide)
		}
		if en.Seq > 0 { // a pending entry is settled once numbered
			w.settle.add(w.a, en)
		}
		return
	}
	if mallEntry(en) {
		w.mallEntries = append(w.mallEntries, *en)
	}
	if en.Reason == ReasonMergeOut || en.Reason == ReasonMergeIn {
		w.transfers = append(w.transfers, *en)
	}
}

// holderOf is the holder a ledger key is filed under.
func holderOf(key []byte, prefix string) string {
	k := key[len(prefix):]
	if i := bytes.IndexByte(k, 0); i >= 0 {
		k = k[:i]
	}
	return string(k)
}

// memberChunk is how many member records the walk of the members' ledgers
// holds at a time.
const memberChunk = 1024

type heldMember struct {
	id string
	m  *Member
}

// memberLedgers reads the members and their ledgers side by side, both in
// member order: a chunk of members, then the ledger up to the last of
// them, so that one member's running sums are held at a time.
func (w *auditWalk) memberLedgers() error {
	// The ledgers hold the redemptions' entries and a few more.
	w.ids.expect(w.listed + w.listed/4)
	var from, ledgerFrom []byte
	for {
		var chunk []heldMember
		var next []byte
		corrupt := w.a.corrupt("member")
		err := w.db.Scan([]byte("m/"), from, func(k, raw []byte) bool {
			if len(chunk) == memberChunk {
				next = bytes.Clone(k)
				return false
			}
			id := string(k[len("m/"):])
			m := new(Member)
			if err := json.Unmarshal(raw, m); err != nil {
				_ = corrupt(id, err)
				return true
			}
			w.member(id, m)
			chunk = append(chunk, heldMember{id, m})
			return true
		})
		if err != nil {
			return err
		}
		if ledgerFrom, err = w.memberChunk(chunk, ledgerFrom, next != nil); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		from = next
	}
}

// memberChunk reads the ledger from key from up to the last member of
// chunk (to its end when last is false) and checks each member of the
// chunk; it returns the key it stopped at.
func (w *auditWalk) memberChunk(chunk []heldMember, from []byte, more bool) ([]byte, error) {
	i := 0
	var cur *holderCheck
	var curM *Member
	closeCur := func() {
		if cur != nil {
			c, m := cur, curM
			w.finishHolder(c, func() { w.finishMember(c, m) })
		}
		cur, curM = nil, nil
	}
	// upTo finishes the members of the chunk before holder, which have
	// no more entries.
	upTo := func(holder string, through bool) {
		for ; i < len(chunk) && (chunk[i].id < holder || through); i++ {
			c, m := newHolderCheck("member", chunk[i].id, chunk[i].m), chunk[i].m
			w.finishHolder(c, func() { w.finishMember(c, m) })
		}
	}
	var stop []byte
	corrupt := w.a.corrupt("ledger entry")
	err := w.db.Scan([]byte("l/"), from, func(k, raw []byte) bool {
		holder := holderOf(k, "l/")
		if more && len(chunk) > 0 && holder > chunk[len(chunk)-1].id {
			stop = bytes.Clone(k)
			return false
		}
		en := new(Entry)
		if err := json.Unmarshal(raw, en); err != nil {
			_ = corrupt(string(k[len("l/"):]), err)
			return true
		}
		if cur == nil || cur.id != holder {
			closeCur()
			upTo(holder, false)
			curM = nil
			if i < len(chunk) && chunk[i].id == holder {
				curM = chunk[i].m
				i++
			}
			cur = newHolderCheck("member", holder, curM)
		}
		w.entry(string(k), en, false)
		w.holderEntry(cur, string(k), en, en.Member)
		return true
	})
	if err != nil {
		return nil, err
	}
	closeCur()
	upTo("", true)
	return stop, nil
}

// holderEntry checks an entry as part of the ledger it is filed in, when
// it names that ledger's holder. One that names another is set aside, and
// that holder's ledger checked again once all is read (redoHolders).
func (w *auditWalk) holderEntry(c *holderCheck, key string, en *Entry, named string) {
	if named == c.id {
		c.add(en, w.zone)
		return
	}
	w.foreign = append(w.foreign, keyedEntry{key, *en})
	w.foreignKey[key] = true
	w.redo[c.kind+"\x00"+named] = true
	w.retract(c.kind + "\x00" + named)
}

// finishHolder runs a holder's last checks, unless its ledger is to be
// checked again, and notes what they reported so that it can be taken
// back if an entry naming the holder turns up later in another ledger.
func (w *auditWalk) finishHolder(c *holderCheck, finish func()) {
	k := c.kind + "\x00" + c.id
	if w.redo[k] {
		return
	}
	finish()
	n := len(w.a.Violations)
	w.report(c)
	if len(w.a.Violations) > n {
		w.emitted[k] = slices.Clone(w.a.Violations[n:])
	}
}

// report adds what a holder's check found to the report.
func (w *auditWalk) report(c *holderCheck) {
	for _, v := range c.rep.Violations {
		w.a.violate("%s", v)
	}
}

// retract takes back what a holder's check reported.
func (w *auditWalk) retract(k string) {
	for _, v := range w.emitted[k] {
		if i := slices.Index(w.a.Violations, v); i >= 0 {
			w.a.Violations = slices.Delete(w.a.Violations, i, i+1)
		}
	}
	delete(w.emitted, k)
}

// guideLedgers reads the guides' ledgers, in guide order, against the
// guides held.
func (w *auditWalk) guideLedgers() error {
	var cur *holderCheck
	seen := map[string]bool{}
	closeCur := func() {
		if cur != nil {
			c := cur
			w.finishHolder(c, func() { w.finishGuide(c, w.guides[c.id]) })
		}
	}
	corrupt := w.a.corrupt("ledger entry")
	err := w.db.Scan([]byte("gl/"), nil, func(k, raw []byte) bool {
		en := new(Entry)
		if err := json.Unmarshal(raw, en); err != nil {
			_ = corrupt(string(k[len("gl/"):]), err)
			return true
		}
		if holder := holderOf(k, "gl/"); cur == nil || cur.id != holder {
			closeCur()
			cur = newHolderCheck("guide", holder, nil)
			seen[holder] = true
		}
		w.entry(string(k), en, true)
		w.holderEntry(cur, string(k), en, en.Guide)
		return true
	})
	if err != nil {
		return err
	}
	closeCur()
	for id, g := range w.guides {
		if !seen[id] {
			c := newHolderCheck("guide", id, nil)
			w.finishHolder(c, func() { w.finishGuide(c, g) })
		}
	}
	return nil
}

func (w *auditWalk) finishGuide(c *holderCheck, g *Guide) {
	if g == nil {
		if c.n > 0 {
			c.rep.violate("guide %s has ledger entries but no record", c.id)
		}
		return
	}
	c.finish(g.Seq, map[string]int64{AccountCommission: g.Commission})
}

// guidePending reads the guides' pending items (guidetally.go): each
// whole and of a guide that has a record, its entry a commission entry
// not yet numbered, joined to the redemption or coupon that lists it as a
// numbered entry is; and each guide's commission with its pending entries
// is not below zero.
func (w *auditWalk) guidePending() error {
	a := w.a
	corrupt := a.corrupt("pending item of a guide")
	sums := map[string]int64{}
	err := w.db.Scan([]byte("gp/"), nil, func(k, raw []byte) bool {
		var t guideTally
		if err := json.Unmarshal(raw, &t); err != nil {
			_ = corrupt(string(k[len("gp/"):]), err)
			return true
		}
		holder := holderOf(k, "gp/")
		if w.guides[holder] == nil {
			a.violate("guide %s has pending items but no record", holder)
			return true
		}
		if en := t.Entry; en != nil {
			if en.ID == "" || en.Guide != holder || en.Account != AccountCommission || en.Seq != 0 {
				a.violate("the pending item %q of guide %s is no commission entry of theirs waiting for its seq (%+v)", k, holder, *en)
				return true
			}
			w.entry(string(k), en, true)
			sums[holder] += en.Delta
		}
		return true
	})
	for _, id := range slices.Sorted(maps.Keys(sums)) {
		if total := w.guides[id].Commission + sums[id]; total < 0 {
			a.violate("guide %s: commission %d with the pending entries is below zero", id, total)
		}
	}
	return err
}

// redoHolders checks again, whole, the ledgers of the holders some entry
// filed under another holder's key names: the entries that name each,
// in key order, wherever they are filed.
func (w *auditWalk) redoHolders() error {
	for k := range w.redo {
		kind, id, _ := bytes.Cut([]byte(k), []byte{0})
		var list []keyedEntry
		prefix := ledgerPrefix(string(id))
		if string(kind) == "guide" {
			prefix = guideLedgerPrefix(string(id))
		}
		err := w.db.Scan(prefix, nil, func(key, raw []byte) bool {
			var en Entry
			if w.foreignKey[string(key)] || json.Unmarshal(raw, &en) != nil {
				return true
			}
			list = append(list, keyedEntry{string(key), en})
			return true
		})
		if err != nil {
			return err
		}
		for _, f := range w.foreign {
			if named := f.en.Member; (string(kind) == "guide") == strings.HasPrefix(f.key, "gl/") {
				if string(kind) == "guide" {
					named = f.en.Guide
				}
				if named == string(id) {
					list = append(list, f)
				}
			}
		}
		slices.SortStableFunc(list, func(x, y keyedEntry) int { return strings.Compare(x.key, y.key) })
		if string(kind) == "guide" {
			c := newHolderCheck("guide", string(id), nil)
			for i := range list {
				c.add(&list[i].en, w.zone)
			}
			w.finishGuide(c, w.guides[string(id)])
			w.report(c)
			continue
		}
		m, err := w.memberRecord(string(id))
		if err != nil {
			return err
		}
		c := newHolderCheck("member", string(id), m)
		for i := range list {
			c.add(&list[i].en, w.zone)
		}
		w.finishMember(c, m)
		w.report(c)
	}
	return nil
}

// memberRecord reads one member's record, nil when it is missing or does
// not decode (the walk of the members reported it).
func (w *auditWalk) memberRecord(id string) (*Member, error) {
	key := memberKey(id)
	var m *Member
	err := w.db.Scan(key, nil, func(k, raw []byte) bool {
		if bytes.Equal(k, key) {
			m = new(Member)
			if json.Unmarshal(raw, m) != nil {
				m = nil
			}
		}
		return false
	})
	return m, err
}

// byID reads the ledgers again for the entries looked up by id: the ids
// the filter could not rule out as repeated, counted, and the other
// halves of the members' transfers. It returns at once when there are
// none.
func (w *auditWalk) byID() error {
	want := map[string]*Entry{}
	for _, en := range w.transfers {
		want[en.Transfer] = nil
	}
	if len(want) == 0 && len(w.repeats) == 0 {
		return nil
	}
	for _, prefix := range []string{"l/", "gl/"} {
		err := w.db.Scan([]byte(prefix), nil, func(_, raw []byte) bool {
			id, ok := entryID(raw)
			if !ok {
				return true
			}
			_, isRepeat := w.repeats[id]
			_, isWanted := want[id]
			if !isRepeat && !isWanted {
				return true
			}
			en := new(Entry)
			if json.Unmarshal(raw, en) != nil {
				return true
			}
			if isRepeat {
				w.repeats[en.ID]++
			}
			if isWanted {
				want[en.ID] = en
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	// A pending entry's id counts as a numbered one's.
	err := w.db.Scan([]byte("gp/"), nil, func(_, raw []byte) bool {
		var t guideTally
		if json.Unmarshal(raw, &t) == nil && t.Entry != nil {
			if _, isRepeat := w.repeats[t.Entry.ID]; isRepeat {
				w.repeats[t.Entry.ID]++
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	for id, n := range w.repeats {
		for range n - 1 {
			w.a.violate("ledger entry id %s appears twice", id)
		}
	}
	w.transferPairs = want
	return nil
}

// entryID reads an entry's id from its record without decoding the rest:
// entries are written with the id first. ok is false for a record that
// does not start so, which is decoded whole.
func entryID(raw []byte) (id string, ok bool) {
	const head = `{"id":"`
	if rest, found := bytes.CutPrefix(raw, []byte(head)); found {
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			return string(rest[:i]), true
		}
	}
	var en Entry
	if json.Unmarshal(raw, &en) != nil {
		return "", false
	}
	return en.ID, true
}

// checkTransfers checks merges: every transfer entry has its pair in the
// other member's ledger, naming it back, for the opposite amount of the
// same account, and a member merged away holds nothing (see member): a
// merge moved balances once and created none.
func (w *auditWalk) checkTransfers() {
	a := w.a
	for _, en := range w.transfers {
		p := w.transferPairs[en.Transfer]
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
}

// checkCampaigns checks each campaign's counters against the sums of its
// records, its budget and its stock.
func (w *auditWalk) checkCampaigns() {
	a := w.a
	for id, c := range w.camps {
		want := CampaignCounters{}
		if p := w.want[id]; p != nil {
			want = *p
		}
		got := CampaignCounters{}
		if p := w.ctrs[id]; p != nil {
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
}

// checkMerged checks that each member merged away was merged into a
// member that has an account.
func (w *auditWalk) checkMerged() error {
	for id, into := range w.merged {
		m, err := w.memberRecord(into)
		if err != nil {
			return err
		}
		if m == nil {
			w.a.violate("member %s was merged into %s, which has no account", id, into)
		}
	}
	return nil
}

// localize reads again, whole, the records of the joins' buckets whose
// facts did not cancel (auditjoin.go), and runs on them the checks the
// joins stand for: every redemption has its entries, and every payout
// entry its redemption, so nothing was paid twice or without a record;
// each redemption's coupon is its own; each member counts its
// redemptions; each verified coupon was paid one commission.
func (w *auditWalk) localize() error {
	codes, counts, paid := w.codes.dirty(), w.counts.dirty(), w.paid.dirty()
	if codes == nil && counts == nil && paid == nil {
		return nil
	}
	a, db := w.a, w.db
	skip := func(string, error) error { return nil } // reported by the first reading
	reds := map[string]*Redemption{}
	redeemedBy := map[string]int64{}
	if err := scanRecords(db, "r/", skip, func(code string, r *Redemption) {
		if w.codes.in(codes, code) {
			reds[code] = r
		}
		if w.counts.in(counts, r.Member) {
			redeemedBy[r.Member]++
		}
	}); err != nil {
		return err
	}
	listed, named := map[string]bool{}, map[string]bool{}
	for _, r := range reds {
		for _, id := range r.Ledger {
			listed[id] = true
		}
		if r.Coupon != "" {
			named[r.Coupon] = true
		}
	}
	entryByID := map[string]*Entry{}
	var payouts []*Entry
	paidFor := map[string]int{} // coupon \x00 guide
	for _, prefix := range []string{"l/", "gl/"} {
		if err := scanRecords(db, prefix, skip, func(_ string, en *Entry) {
			if listed[en.ID] {
				entryByID[en.ID] = en
			}
			if redemptionEntry(en.Reason) && w.codes.in(codes, en.Code) {
				payouts = append(payouts, en)
			}
			if prefix == "gl/" && en.Reason == "coupon_commission" && w.paid.in(paid, en.Coupon) {
				paidFor[en.Coupon+"\x00"+en.Guide]++
			}
		}); err != nil {
			return err
		}
	}
	coupons := map[string]*Coupon{}
	if err := scanRecords(db, "cpn/", skip, func(id string, c *Coupon) {
		if named[id] || (c.Reward == "" && w.codes.in(codes, c.Code)) {
			coupons[id] = c
		}
		if w.paid.in(paid, id) {
			if want := map[bool]int{true: 1, false: 0}[c.Commission > 0]; paidFor[id+"\x00"+c.UsedBy] != want {
				a.violate("coupon %s: %d commission entries for its verification, want %d", id, paidFor[id+"\x00"+c.UsedBy], want)
			}
		}
	}); err != nil {
		return err
	}
	if counts != nil {
		if err := scanRecords(db, "m/", skip, func(id string, m *Member) {
			if w.counts.in(counts, id) && redeemedBy[id] != int64(m.Redemptions) {
				a.violate("member %s counts %d redemptions, the records show %d", id, m.Redemptions, redeemedBy[id])
			}
		}); err != nil {
			return err
		}
	}
	for code, r := range reds {
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
	for _, en := range payouts {
		if r := reds[en.Code]; r == nil || !slices.Contains(r.Ledger, en.ID) {
			a.violate("ledger entry %s (%s for %s) belongs to no redemption: a code paid twice or a lost record", en.ID, en.Reason, en.Code)
		}
	}
	for id, c := range coupons {
		if r := reds[c.Code]; c.Reward == "" && w.codes.in(codes, c.Code) && (r == nil || r.Coupon != id) {
			a.violate("coupon %s was not issued by the redemption of %s", id, c.Code)
		}
	}
	return nil
}
