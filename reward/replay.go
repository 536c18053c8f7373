package reward

import (
	"fmt"
	"maps"
	"slices"

	json "github.com/segmentio/encoding/json"

	"github.com/yima-dev/yima/store"
)

// ReplayReport is what replaying the feed found: the state the events
// build, compared with the records. A feed that tells the whole story has
// no Violations.
type ReplayReport struct {
	Events   int    `json:"events"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	// Pending counts the events replayed after LastSeq: written on a
	// shared database, not yet numbered by its relay.
	Pending     int      `json:"pending"`
	Members     int      `json:"members"`
	Guides      int      `json:"guides"`
	Coupons     int      `json:"coupons"`
	Redemptions int      `json:"redemptions"`
	Violations  []string `json:"violations"`
}

func (r *ReplayReport) violate(format string, args ...any) {
	if len(r.Violations) < maxViolations {
		r.Violations = append(r.Violations, fmt.Sprintf(format, args...))
	}
}

// ReplayFeed rebuilds, from the feed alone, every balance (members' points
// and growth, guides' commission), every coupon's state and every
// redemption, and compares them with the records the audit reads: a
// consumer that kept only the feed knows what the brand's books say. It
// also checks that the sequence has no gap and every ledger event's
// balance is the running sum of its deltas. Run it on a snapshot or a
// quiet store; a feed compacted by retention cannot be replayed from its
// first event, and says so.
func ReplayFeed(r store.Reader) (*ReplayReport, error) {
	rep := &ReplayReport{Violations: []string{}}
	type holder struct {
		balance map[string]int64
		seen    bool
	}
	members := map[string]*holder{}
	guides := map[string]*holder{}
	coupons := map[string]string{}
	redeemed := map[string]bool{} // code → voided
	get := func(m map[string]*holder, id string) *holder {
		h := m[id]
		if h == nil {
			h = &holder{balance: map[string]int64{}}
			m[id] = h
		}
		return h
	}
	var last uint64
	replay := func(ev FeedEvent) error {
		rep.Events++
		if last == 0 {
			rep.FirstSeq = ev.Seq
			if ev.Seq != 1 {
				rep.violate("the feed starts at event %d: earlier events were compacted, so it cannot be replayed from the first", ev.Seq)
			}
		} else if ev.Seq != last+1 {
			rep.violate("the feed jumps from event %d to %d", last, ev.Seq)
		}
		last = ev.Seq
		bad := func(err error) error {
			rep.violate("event %d (%s) has a body that does not decode: %v", ev.Seq, ev.Type, err)
			return nil
		}
		switch ev.Type {
		case FeedPointsEarned, FeedPointsSpent, FeedPointsAdjusted, FeedPointsVoided, FeedPointsExpired, FeedGrowthEarned, FeedGrowthVoided, FeedGrowthAdjusted, FeedCommissionEarned, FeedCommissionVoided:
			var en Entry
			if err := json.Unmarshal(ev.Data, &en); err != nil {
				return bad(err)
			}
			if want := ledgerFeedType(en); want != ev.Type {
				rep.violate("event %d is %s but its entry is %s", ev.Seq, ev.Type, want)
			}
			var h *holder
			if en.Guide != "" {
				h = get(guides, en.Guide)
			} else {
				h = get(members, en.Member)
				if !h.seen {
					rep.violate("event %d moves member %s's balance before member.created", ev.Seq, en.Member)
				}
			}
			h.balance[en.Account] += en.Delta
			if h.balance[en.Account] != en.Balance {
				rep.violate("event %d says %s's %s balance is %d, the events before it sum to %d", ev.Seq, en.Member+en.Guide, en.Account, en.Balance, h.balance[en.Account])
			}
		case FeedMemberCreated:
			var m struct {
				Member string `json:"member"`
			}
			if err := json.Unmarshal(ev.Data, &m); err != nil {
				return bad(err)
			}
			h := get(members, m.Member)
			if h.seen {
				rep.violate("event %d creates member %s a second time", ev.Seq, m.Member)
			}
			h.seen = true
		case FeedGuideCreated:
			var g Guide
			if err := json.Unmarshal(ev.Data, &g); err != nil {
				return bad(err)
			}
			get(guides, g.ID).seen = true
		case FeedCouponExpired:
			var c Coupon
			if err := json.Unmarshal(ev.Data, &c); err != nil {
				return bad(err)
			}
			// An expiry changes no record: the coupon stays issued.
			if prev, known := coupons[c.ID]; !known || prev != CouponIssued {
				rep.violate("event %d expires coupon %s, which is %q", ev.Seq, c.ID, prev)
			}
		case FeedCouponIssued, FeedCouponVerified, FeedCouponVoided:
			var c Coupon
			if err := json.Unmarshal(ev.Data, &c); err != nil {
				return bad(err)
			}
			prev, known := coupons[c.ID]
			switch {
			case ev.Type == FeedCouponIssued && known:
				rep.violate("event %d issues coupon %s a second time", ev.Seq, c.ID)
			case ev.Type != FeedCouponIssued && !known:
				rep.violate("event %d changes coupon %s, never issued", ev.Seq, c.ID)
			case ev.Type == FeedCouponVerified && prev != CouponIssued:
				rep.violate("event %d verifies coupon %s, which is %s", ev.Seq, c.ID, prev)
			}
			coupons[c.ID] = c.Status
		case FeedCodeRedeemed, FeedRedemptionVoided:
			var red Redemption
			if err := json.Unmarshal(ev.Data, &red); err != nil {
				return bad(err)
			}
			voided, known := redeemed[red.Code]
			switch {
			case ev.Type == FeedCodeRedeemed && known:
				rep.violate("event %d redeems code %s a second time", ev.Seq, red.Code)
			case ev.Type == FeedRedemptionVoided && (!known || voided):
				rep.violate("event %d voids code %s, which is not a live redemption", ev.Seq, red.Code)
			}
			redeemed[red.Code] = ev.Type == FeedRedemptionVoided
		}
		return nil
	}
	if err := ReadFeed(r, replay); err != nil {
		return nil, wrapStore(err)
	}
	rep.LastSeq = last
	// The head record is kept only where the engine does not keep the
	// feed's tail in memory (feedtail.go): where there is one, it may lag
	// behind the last event, never pass it (events would be missing).
	if head, err := counterAt(r, feedHeadKey); err != nil {
		return nil, wrapStore(err)
	} else if uint64(head) > last {
		rep.violate("the feed's head says %d, its last event is %d", head, last)
	}
	// Events a shared database's relay has not numbered yet follow, in
	// the order it will number them: lost, they would leave records the
	// feed never told of.
	pending, err := collectPending(r, 0)
	if err != nil {
		return nil, wrapStore(err)
	}
	rep.Pending = len(pending)
	for _, p := range pending {
		var ev FeedEvent
		if err := json.Unmarshal(numberEvent(p.ev, last+1), &ev); err != nil {
			rep.violate("a pending event of node %s does not decode: %v", p.node, err)
			continue
		}
		if err := replay(ev); err != nil {
			return nil, wrapStore(err)
		}
	}

	// Now the records, as the audit reads them; one that does not decode
	// stops the replay.
	compare := func(kind, id string, h *holder, want map[string]int64) {
		for acct, v := range want {
			var got int64
			if h != nil {
				got = h.balance[acct]
			}
			if got != v {
				rep.violate("%s %s: %s balance %d, the feed says %d", kind, id, acct, v, got)
			}
		}
	}
	stored := map[string]bool{}
	err = firstErr(
		scanRecords(r, "m/", stopOnCorrupt, func(id string, m *Member) {
			rep.Members++
			stored["m/"+id] = true
			if h := members[id]; h == nil || !h.seen {
				rep.violate("member %s has a record but the feed never created it", id)
			}
			compare("member", id, members[id], map[string]int64{AccountPoints: m.Points, AccountGrowth: m.Growth})
		}),
		scanRecords(r, "g/", stopOnCorrupt, func(id string, g *Guide) {
			rep.Guides++
			stored["g/"+id] = true
			if h := guides[id]; h == nil || !h.seen {
				rep.violate("guide %s has a record but the feed never created it", id)
			}
			compare("guide", id, guides[id], map[string]int64{AccountCommission: g.Commission})
		}),
		scanRecords(r, "cpn/", stopOnCorrupt, func(id string, c *Coupon) {
			rep.Coupons++
			stored["cpn/"+id] = true
			if got, ok := coupons[id]; !ok {
				rep.violate("coupon %s has a record but the feed never issued it", id)
			} else if got != c.Status {
				rep.violate("coupon %s is %s, the feed says %s", id, c.Status, got)
			}
		}),
		scanRecords(r, "r/", stopOnCorrupt, func(code string, red *Redemption) {
			rep.Redemptions++
			stored["r/"+code] = true
			if voided, ok := redeemed[code]; !ok {
				rep.violate("code %s has a redemption but the feed never redeemed it", code)
			} else if voided != red.Voided {
				rep.violate("the redemption of %s has voided=%v, the feed says %v", code, red.Voided, voided)
			}
		}),
	)
	if err != nil {
		return nil, wrapStore(err)
	}
	// And the other way: nothing the feed tells of is missing.
	for _, l := range []struct {
		prefix, kind string
		ids          []string
	}{
		{"m/", "member", keysWhere(members, func(h *holder) bool { return h.seen })},
		{"g/", "guide", keysWhere(guides, func(h *holder) bool { return h.seen })},
		{"cpn/", "coupon", slices.Collect(maps.Keys(coupons))},
		{"r/", "redemption of code", slices.Collect(maps.Keys(redeemed))},
	} {
		for _, id := range l.ids {
			if !stored[l.prefix+id] {
				rep.violate("the feed tells of %s %s, which has no record", l.kind, id)
			}
		}
	}
	slices.Sort(rep.Violations)
	return rep, nil
}

func keysWhere[V any](m map[string]V, keep func(V) bool) []string {
	var out []string
	for k, v := range m {
		if keep(v) {
			out = append(out, k)
		}
	}
	return out
}

// ReplayFeed replays the feed over a consistent snapshot of the engine's
// store (see the function ReplayFeed).
func (e *Engine) ReplayFeed() (*ReplayReport, error) {
	snap, err := e.db.Snapshot()
	if err != nil {
		return nil, wrapStore(err)
	}
	defer snap.Close()
	return ReplayFeed(snap)
}
