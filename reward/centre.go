package reward

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// MemberCentre is what a member sees of themselves (the member centre,
// /me, and GET /v1/me): balances, tier, one page of the ledger, coupons,
// the guide, what they scanned and how they sign in.
type MemberCentre struct {
	Member
	// Tier is the member's tier on the brand's ladder (see tier.go), or,
	// when the brand has none, in the live campaign that has tiers (the
	// first by id); NextTier is the one above and NextTierGrowth the
	// growth it starts at; empty when there is no ladder. TierBenefit is
	// what the tier brings, and TierGrowth the growth that counts for it
	// (in the brand's window).
	Tier           string `json:"tier,omitempty"`
	TierBenefit    string `json:"tier_benefit,omitempty"`
	TierGrowth     int64  `json:"tier_growth"`
	NextTier       string `json:"next_tier,omitempty"`
	NextTierGrowth int64  `json:"next_tier_growth,omitempty"`
	// Expiring is when the member's points expire by the brand's rule,
	// soonest first, at most three dates (see expiry.go).
	Expiring []Expiring `json:"expiring,omitempty"`
	// Ledger is one page of the member's own ledger, newest first; Next
	// is the cursor of the following page.
	Ledger []Entry `json:"ledger"`
	Next   string  `json:"next,omitempty"`
	// Coupons are the gifts of the member's redemptions (and of the
	// browsers merged into them), newest first, each with its state.
	Coupons []CentreCoupon `json:"coupons"`
	// Scanned are the member's rewarded scans, newest first, at most
	// MaxCentreScans.
	Scanned []Scanned `json:"scanned"`
	// GuideInfo is the guide the member is bound to, if any.
	GuideInfo *GuideSummary `json:"guide_info,omitempty"`
	// Identities are the ways the member signs in (tel:, wx:, wxu:).
	Identities []string `json:"identities"`
}

// CentreCoupon is a coupon with the state a consumer reads: unused, used,
// expired or void.
type CentreCoupon struct {
	Coupon
	State string `json:"state"`
}

// Coupon states in the member centre.
const (
	CouponStateUnused  = "unused"
	CouponStateUsed    = "used"
	CouponStateExpired = "expired"
	CouponStateVoid    = "void"
)

// Scanned is one product a member redeemed: Product is its SKU,
// ProductName its name in the catalog (empty when the SKU has no entry).
type Scanned struct {
	Code        string    `json:"code"`
	Product     string    `json:"product"`
	ProductName string    `json:"product_name,omitempty"`
	At          time.Time `json:"at"`
	Points      int64     `json:"points"`
	Coupon      string    `json:"coupon,omitempty"`
	Voided      bool      `json:"voided,omitempty"`
}

// GuideSummary names a guide to a consumer.
type GuideSummary struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Store string `json:"store"`
	// StoreName is the name of the store's record, if it has one.
	StoreName string `json:"store_name,omitempty"`
}

// MaxCentreScans bounds the scans (and so the coupons) a member centre
// reads: the newest first.
const MaxCentreScans = 100

// MemberCentre returns the member centre of id (a member or any of its
// identities). A member with no account yet gets an empty centre: signing
// in comes before the first reward.
func (e *Engine) MemberCentre(id, cursor string, limit int) (*MemberCentre, error) {
	canonical, err := e.resolveChecked("member", id)
	if err != nil {
		return nil, err
	}
	c := &MemberCentre{Member: Member{ID: canonical}, Ledger: []Entry{}, Coupons: []CentreCoupon{}, Scanned: []Scanned{}, Identities: []string{}}
	found, err := getJSON(e.db, memberKey(canonical), &c.Member)
	if err != nil {
		return nil, wrapStore(err)
	}
	for _, a := range append([]string{c.ID}, c.Aliases...) {
		if SignedInIdentity(a) {
			c.Identities = append(c.Identities, a)
		}
	}
	if !found {
		return c, nil
	}
	v, err := e.Member(canonical, cursor, limit)
	if err != nil {
		return nil, err
	}
	c.Ledger, c.Next = v.Ledger, v.Next
	if err := e.centreScans(c); err != nil {
		return nil, wrapStore(err)
	}
	if c.Guide != "" {
		g, err := loadGuide(e.db, c.Guide)
		if err != nil {
			return nil, wrapStore(err)
		}
		if g != nil {
			c.GuideInfo = &GuideSummary{ID: g.ID, Name: g.Name, Store: g.Store}
			if st, err := loadStore(e.db, g.Store); err != nil {
				return nil, wrapStore(err)
			} else if st != nil {
				c.GuideInfo.StoreName = st.Name
			}
		}
	}
	if err := e.centreTier(c); err != nil {
		return nil, wrapStore(err)
	}
	if err := e.centreExpiring(c); err != nil {
		return nil, wrapStore(err)
	}
	return c, nil
}

// centreScans finds the member's redemptions through the scan entries of
// its ledger and of the members merged into it (a scan that credited
// nothing, points or growth, writes no entry and is not listed), then
// their coupons.
func (e *Engine) centreScans(c *MemberCentre) error {
	now := e.now()
	seen := map[string]bool{}
	for _, holder := range append([]string{c.ID}, c.Merged...) {
		var codes []string
		err := e.db.ScanReverse(ledgerPrefix(holder), func(_, v []byte) bool {
			var en Entry
			if err := json.Unmarshal(v, &en); err == nil && en.Code != "" && !seen[en.Code] &&
				(en.Reason == "scan" || en.Reason == "new_member_bonus") {
				seen[en.Code] = true
				codes = append(codes, en.Code)
			}
			return len(codes) < MaxCentreScans
		})
		if err != nil {
			return err
		}
		for _, code := range codes {
			var r Redemption
			found, err := getJSON(e.db, redemptionKey(code), &r)
			if err != nil {
				return err
			}
			if !found {
				continue
			}
			c.Scanned = append(c.Scanned, Scanned{Code: code, Product: r.Product, At: r.At, Points: r.Points, Coupon: r.Coupon, Voided: r.Voided})
		}
	}
	slices.SortFunc(c.Scanned, func(a, b Scanned) int { return b.At.Compare(a.At) })
	if len(c.Scanned) > MaxCentreScans {
		c.Scanned = c.Scanned[:MaxCentreScans]
	}
	if err := e.centreProductNames(c.Scanned); err != nil {
		return err
	}
	for _, s := range c.Scanned {
		if s.Coupon == "" {
			continue
		}
		var cp Coupon
		found, err := getJSON(e.db, couponKey(s.Coupon), &cp)
		if err != nil {
			return err
		}
		if found {
			c.Coupons = append(c.Coupons, CentreCoupon{Coupon: cp, State: couponState(&cp, now)})
		}
	}
	return nil
}

// centreProductNames names each scanned product from the catalog, reading
// each SKU once: a member's scans are mostly of a few products.
func (e *Engine) centreProductNames(scanned []Scanned) error {
	names := map[string]string{}
	for i := range scanned {
		sku := scanned[i].Product
		name, ok := names[sku]
		if !ok {
			var p Product
			if _, err := getJSON(e.db, productKey(sku), &p); err != nil {
				return err
			}
			name = p.Name
			names[sku] = name
		}
		scanned[i].ProductName = name
	}
	return nil
}

func couponState(c *Coupon, now time.Time) string {
	switch {
	case c.Status == CouponUsed:
		return CouponStateUsed
	case c.Status == CouponVoid:
		return CouponStateVoid
	case !now.Before(c.Expires):
		return CouponStateExpired
	}
	return CouponStateUnused
}

// centreTier places the member on the brand's ladder, else in the tiers
// of the first live campaign (by id) that has tiers.
func (e *Engine) centreTier(c *MemberCentre) error {
	st, err := e.MemberStanding(&c.Member)
	if err != nil {
		return err
	}
	c.TierGrowth = c.Growth
	if st != nil {
		c.TierGrowth = st.WindowGrowth
		if st.Tier != nil {
			c.Tier, c.TierBenefit = st.Tier.Name, st.Tier.Benefit
		}
		if st.Next != nil {
			c.NextTier, c.NextTierGrowth = st.Next.Name, st.Next.MinGrowth
		}
		return nil
	}
	now := e.now()
	var best *Campaign
	err = e.db.Scan(campaignPrefix, nil, func(_, v []byte) bool {
		var cp Campaign
		if json.Unmarshal(v, &cp) == nil && len(cp.Tiers) > 0 && cp.status(now) == "live" {
			best = &cp
			return false
		}
		return true
	})
	if err != nil || best == nil {
		return err
	}
	if t := tierIn(best.Tiers, c.Growth); t != nil {
		c.Tier, c.TierBenefit = t.Name, t.Benefit
	}
	for _, t := range best.Tiers {
		if t.MinGrowth > c.Growth {
			c.NextTier, c.NextTierGrowth = t.Name, t.MinGrowth
			break
		}
	}
	return nil
}

// Claim is what the landing page tells the person who claimed a code.
type Claim struct {
	At     time.Time `json:"at"`
	Points int64     `json:"points"`
	Coupon *Coupon   `json:"coupon,omitempty"`
}

// ClaimBy returns code's redemption when member (any identity of the
// member) made it, and nil when someone else did or no one has: the page
// tells the claimer what they got and anyone else only when.
func (e *Engine) ClaimBy(text, member string) (*Claim, error) {
	if member == "" {
		return nil, nil
	}
	p, err := e.verify(text)
	if err != nil {
		return nil, nil
	}
	var r Redemption
	found, err := getJSON(e.db, redemptionKey(p.String()), &r)
	if err != nil || !found {
		return nil, wrapStore(err)
	}
	who, err := resolve(e.db, member)
	if err != nil {
		return nil, wrapStore(err)
	}
	owner, err := resolve(e.db, r.Member)
	if err != nil {
		return nil, wrapStore(err)
	}
	if who != owner && who != r.Member {
		return nil, nil
	}
	cl := &Claim{At: r.At, Points: r.Points}
	if r.Coupon != "" {
		var cp Coupon
		if found, err := getJSON(e.db, couponKey(r.Coupon), &cp); err != nil {
			return nil, wrapStore(err)
		} else if found {
			cl.Coupon = &cp
		}
	}
	return cl, nil
}

// PhoneOf is the phone of an identity list, masked for display
// ("138****5678"), or "".
func PhoneOf(identities []string) string {
	for _, id := range identities {
		if p, ok := strings.CutPrefix(id, PrefixPhone+"+86"); ok && len(p) == 11 {
			return p[:3] + "****" + p[7:]
		}
	}
	return ""
}
