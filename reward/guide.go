package reward

import (
	"fmt"
	"strconv"
	"time"
)

// Codes of guide and coupon operations.
const (
	CodeAlreadyUsed Code = "already_used"
	CodeExpired     Code = "expired"
	CodeCouponVoid  Code = "coupon_void"
	CodeGuideExists Code = "guide_exists"
)

// AddGuide creates a guide and a token for them (role guide), returning the
// token's secret.
func (e *Engine) AddGuide(g Guide) (*Guide, string, error) {
	for _, f := range []struct {
		name, v  string
		required bool
	}{{"id", g.ID, true}, {"name", g.Name, false}, {"member", g.Member, false}} {
		if err := checkID(f.name, f.v, f.required); err != nil {
			return nil, "", err
		}
	}
	if err := checkStoreID(g.Store); err != nil {
		return nil, "", err
	}
	secret := NewSecret()
	err := e.update(func(tx Tx) error {
		if _, found, err := tx.Get(guideKey(g.ID)); err != nil {
			return err
		} else if found {
			return Errorf(CodeGuideExists, "guide %q exists already", g.ID)
		}
		// A guide belongs to a store record; guides made before stores
		// were records keep the free text they named. A guide naming a
		// store that has no record yet gets one, named by its id, so
		// `yima guide add --store S` works as it always has and the
		// store shows in statistics; the brand fills it in later with
		// yima store add S or PUT /v1/stores/{store}.
		now := e.now()
		if st, err := loadStore(tx, g.Store); err != nil {
			return err
		} else if st == nil {
			st = &Store{ID: g.Store, Name: g.Store, Created: now}
			putJSON(tx, storeKey(st.ID), st)
			if err := record(tx, FeedStoreChanged, now, st); err != nil {
				return err
			}
		}
		g = Guide{ID: g.ID, Store: g.Store, Name: g.Name, Member: g.Member, Created: now}
		putJSON(tx, guideKey(g.ID), g)
		tx.Put(storeGuideKey(g.Store, g.ID), nil)
		if g.Member != "" {
			member, other, err := guideOfPerson(tx, g.Member)
			if err != nil {
				return err
			}
			if other != "" {
				return &Error{Code: CodeAlreadyGuide, Message: fmt.Sprintf("member %q is guide %s already", g.Member, other), Details: map[string]any{"guide": other}}
			}
			putJSON(tx, memberGuideKey(member), g.ID)
		}
		if err := record(tx, FeedGuideCreated, g.Created, g); err != nil {
			return err
		}
		putToken(tx, secret, Token{Role: RoleGuide, Name: g.ID, Subject: g.ID, Created: g.Created})
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return &g, secret, nil
}

// loadGuide reads a guide, nil when there is none.
func loadGuide(tx getter, id string) (*Guide, error) {
	return getRecord[Guide](tx, guideKey(id), nil)
}

// findGuide reads a guide, or answers not_found.
func findGuide(r getter, id string) (*Guide, error) {
	return getRecord[Guide](r, guideKey(id), func() error { return Errorf(CodeNotFound, "no guide %q", id) })
}

// isSelf reports whether member, a resolved member id, is the guide: the
// guide's own consumer identity, named directly or through an alias, since a
// person has several ids (phone, openid, card). A guide never earns on their
// own scans or gifts and cannot recruit themselves.
func (g *Guide) isSelf(tx getter, member string) (bool, error) {
	if member == g.ID || member == g.Member {
		return true, nil
	}
	if g.Member == "" {
		return false, nil
	}
	own, err := resolve(tx, g.Member)
	return member == own, err
}

// Bind binds a consumer to a guide. The first binding wins: binding again to
// the same guide is a no-op, to another guide is refused unless rebind (an
// admin's decision, e.g. when a guide leaves the store). A binding is the
// person's choice: the caller is the person's own tap on the guide's page,
// or the brand's app or operator acting on their consent, never the guide
// (see the scan package's routes).
func (e *Engine) Bind(member, guide string, rebind bool) (*Member, error) {
	if err := checkIDs(true, [][2]string{{"member", member}, {"guide", guide}}); err != nil {
		return nil, err
	}
	var out *Member
	err := e.update(func(tx Tx) error {
		now := e.now()
		g, err := e.activeGuide(tx, guide)
		if err != nil {
			return err
		}
		m, err := loadMember(tx, member, now)
		if err != nil {
			return err
		}
		out = m
		self, err := g.isSelf(tx, m.ID)
		if err != nil {
			return err
		}
		switch {
		case m.Guide == guide:
			return nil
		case m.Guide != "" && !rebind:
			return &Error{Code: CodeAlreadyBound, Message: fmt.Sprintf("member is bound to guide %q; an admin can rebind", m.Guide), Details: map[string]any{"guide": m.Guide}}
		case self:
			return Errorf(CodeInvalidRequest, "a guide cannot be bound to themselves")
		}
		bound := MemberBinding{Member: m.ID, Guide: guide, Previous: m.Guide, Why: "bind"}
		if m.Guide != "" {
			bound.Why = "rebind"
		}
		if err := unbind(tx, m.Guide, m.ID, now); err != nil {
			return err
		}
		bind(tx, m, g, now, now)
		if err := putMember(tx, m); err != nil {
			return err
		}
		return record(tx, FeedMemberBound, now, bound)
	})
	return out, err
}

// bind records m as bound to g: the member's record (which the caller
// writes), the guide's count and the guide's index of members.
// bindToGuide binds m to guide as of boundAt and records the binding, the
// rule that bound them named by why, unless the guide is unknown, has left
// or is the member themselves: then it binds no one.
func bindToGuide(tx Tx, m *Member, guide string, boundAt, now time.Time, why string) error {
	g, err := loadGuide(tx, guide)
	if err != nil || g == nil || !g.LeftAt.IsZero() {
		return err
	}
	if self, err := g.isSelf(tx, m.ID); err != nil || self {
		return err
	}
	bind(tx, m, g, boundAt, now)
	return record(tx, FeedMemberBound, now, MemberBinding{Member: m.ID, Guide: g.ID, Why: why})
}

func bind(tx Tx, m *Member, g *Guide, boundAt, now time.Time) {
	m.Guide, m.BoundAt = g.ID, boundAt
	tx.Put(guideMemberKey(g.ID, m.ID), nil)
	// A member's first scan may bind them: on a shared database the count
	// waits as a pending item (see guidetally.go). No entry: no error.
	_, _ = g.owe(tx, now, guideTally{Members: 1}, 0, "", Entry{})
}

// unbind takes member out of guide's count and index; the caller changes
// the member's record. An empty guide does nothing.
func unbind(tx Tx, guide, member string, now time.Time) error {
	if guide == "" {
		return nil
	}
	g, err := loadGuide(tx, guide)
	if err != nil || g == nil {
		return err
	}
	tx.Delete(guideMemberKey(g.ID, member))
	_, err = g.owe(tx, now, guideTally{Members: -1}, 0, "", Entry{})
	return err
}

// VerifyCoupon marks a coupon used at the counter by guide (核销) and pays
// the campaign's per-coupon commission to that guide, exactly once.
func (e *Engine) VerifyCoupon(id, guide string) (*Coupon, error) {
	if err := checkID("coupon", id, true); err != nil {
		return nil, err
	}
	var out *Coupon
	// done is the verification to count in the statistics once it
	// commits; every run of the decision starts it afresh.
	var done *verification
	// On the coupon's lane, whose slices the verification counts in.
	err := e.updateIn(e.laneOf(id), nil, func(tx Tx) error {
		done = nil
		now := e.now()
		c, err := loadCoupon(tx, id)
		if err != nil {
			return err
		}
		switch {
		case c.Status == CouponUsed:
			return &Error{Code: CodeAlreadyUsed, Message: fmt.Sprintf("this coupon was already used on %s", c.UsedAt.In(e.Zone()).Format(time.RFC3339)), Details: map[string]any{"used_at": c.UsedAt, "used_by": c.UsedBy}}
		case c.Status == CouponVoid:
			return Errorf(CodeCouponVoid, "this coupon was voided by the brand")
		case !now.Before(c.Expires):
			return &Error{Code: CodeExpired, Message: fmt.Sprintf("this coupon expired on %s", c.Expires.In(e.Zone()).Format(time.RFC3339)), Details: map[string]any{"expires_at": c.Expires}}
		}
		g, err := e.activeGuide(tx, guide)
		if err != nil {
			return err
		}
		var camp Campaign
		if _, err := getJSON(tx, campaignKey(c.Campaign), &camp); err != nil {
			return err
		}
		if err := counterAllows(tx, &camp, c, g); err != nil {
			return err
		}
		c.Status, c.UsedAt, c.UsedBy = CouponUsed, now, guide
		ctr, saveCounters, err := e.verifiedCounters(tx, c.Campaign, now)
		if err != nil {
			return err
		}
		ctr.CouponsUsed++
		// A guide never earns commission on their own gift.
		self, err := g.isSelf(tx, c.Member)
		if err != nil {
			return err
		}
		done = &verification{guide: g.ID, store: g.Store, campaign: c.Campaign, at: now}
		var per int64
		if p := camp.GuideCommission.PerCoupon; p > 0 && !self {
			per = p
		}
		// The verification counts, and pays its commission, as a pending
		// item on a shared database (see guidetally.go).
		en, err := g.owe(tx, now, guideTally{Verified: 1}, per, "coupon_commission", Entry{Coupon: c.ID, Code: c.Code, Campaign: c.Campaign})
		if err != nil {
			return err
		}
		if per > 0 {
			if ctr.Commission, err = addAmount(ctr.Commission, per); err != nil {
				return err
			}
			c.Commission = per
			c.Ledger = append(c.Ledger, en.ID)
			done.per = per
		}
		// The coupon's redemption says where the sale was (product,
		// batch, region, source); a mall coupon has none.
		if c.Code != "" {
			var red Redemption
			if found, err := getJSON(tx, redemptionKey(c.Code), &red); err != nil {
				return err
			} else if found {
				done.sale = &red
			}
		}
		if c.Reward == "" { // a mall coupon belongs to no campaign (exchange.go)
			saveCounters()
		}
		putJSON(tx, couponKey(c.ID), c)
		if err := record(tx, FeedCouponVerified, now, c); err != nil {
			return err
		}
		emit(tx, Event{Kind: EventCouponVerified})
		out = c
		return nil
	})
	if err == nil && done != nil {
		e.countVerified(done)
	}
	return out, err
}

// verification is a committed coupon verification, for the statistics:
// the verifying guide and their store, the commission it paid, and the
// sale that issued the coupon (nil for a coupon no scan issued).
type verification struct {
	guide, store, campaign string
	per                    int64
	at                     time.Time
	sale                   *Redemption
}

// CouponByID returns a coupon.
func (e *Engine) CouponByID(id string) (*Coupon, error) {
	if err := checkID("coupon", id, true); err != nil {
		return nil, err
	}
	c, err := loadCoupon(e.db, id)
	return c, wrapStore(err)
}

// loadCoupon reads a coupon, or answers not_found.
func loadCoupon(r getter, id string) (*Coupon, error) {
	return getRecord[Coupon](r, couponKey(id), func() error {
		return Errorf(CodeNotFound, "no coupon %q; check the id on the consumer's screen", id)
	})
}

// GuideView is a guide's record, a page of their bound members and a page
// of their commission ledger.
type GuideView struct {
	Guide
	// BoundMembers are in id order; NextMembers, when set, is the
	// MembersAfter of the following page.
	BoundMembers []string `json:"bound_members"`
	NextMembers  string   `json:"next_members,omitempty"`
	// Ledger is newest first; NextLedger, when set, is the LedgerBefore of
	// the following page.
	Ledger     []Entry `json:"ledger"`
	NextLedger string  `json:"next_ledger,omitempty"`
}

// GuidePage picks the pages of a GuideView.
type GuidePage struct {
	// Limit bounds each list, 1..MaxPage (otherwise 50).
	Limit int
	// MembersAfter and LedgerBefore are the NextMembers and NextLedger of
	// a previous view; empty starts each list from its beginning.
	MembersAfter string
	LedgerBefore string
}

// GuideByID returns a guide with the first limit bound members and latest
// commission entries.
func (e *Engine) GuideByID(id string, limit int) (*GuideView, error) {
	return e.GuideView(id, GuidePage{Limit: limit})
}

// GuideView returns a guide with one page of bound members and one of
// commission entries. A guide of a big store binds thousands of members;
// the pages reach all of them.
func (e *Engine) GuideView(id string, page GuidePage) (*GuideView, error) {
	if err := checkID("guide", id, true); err != nil {
		return nil, err
	}
	if err := checkID("members_after", page.MembersAfter, false); err != nil {
		return nil, err
	}
	limit := pageSize(page.Limit)
	// The ledger's pages are by seq: number what is pending first.
	if err := e.foldShared(id); err != nil {
		return nil, err
	}
	g, err := findGuide(e.db, id)
	if err != nil {
		return nil, wrapStore(err)
	}
	v := &GuideView{Guide: *g, BoundMembers: []string{}, Ledger: []Entry{}}
	prefix := guideMemberKey(id, "")
	var start []byte
	if page.MembersAfter != "" {
		// The least key after the member's: ids never hold 0x00.
		start = append(guideMemberKey(id, page.MembersAfter), 0)
	}
	err = e.db.Scan(prefix, start, func(k, _ []byte) bool {
		if len(v.BoundMembers) == limit {
			v.NextMembers = v.BoundMembers[limit-1]
			return false
		}
		v.BoundMembers = append(v.BoundMembers, string(k[len(prefix):]))
		return true
	})
	if err != nil {
		return nil, wrapStore(err)
	}
	before := g.Seq + 1
	if page.LedgerBefore != "" {
		c, err := strconv.ParseUint(page.LedgerBefore, 10, 64)
		if err != nil || c == 0 {
			return nil, Errorf(CodeInvalidRequest, "ledger_before %q is not a cursor this API returned", page.LedgerBefore)
		}
		before = min(c, before)
	}
	if v.Ledger, v.NextLedger, err = ledgerPage(e.db, func(seq uint64) []byte { return guideLedgerKey(id, seq) }, before, limit); err != nil {
		return nil, err
	}
	return v, nil
}

// activeGuide loads guide, who must exist and not have left the brand.
func (e *Engine) activeGuide(tx Tx, guide string) (*Guide, error) {
	g, err := loadGuide(tx, guide)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, Errorf(CodeUnknownGuide, "no guide %q", guide)
	}
	if err := g.gone(e.Zone()); err != nil {
		return nil, err
	}
	return g, nil
}
