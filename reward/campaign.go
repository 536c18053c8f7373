package reward

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"
	_ "time/tzdata" // campaign time zones must not depend on the host
)

// Campaign is a brand's declarative reward rule for some products. Applying
// a document again makes a new version; scans decided after it use it.
type Campaign struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Products []string  `json:"products"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	// Points is the base reward of a scan: a fixed number, or a uniform
	// draw in [min,max] keyed by Seed and the code, so that anyone holding
	// the campaign can recompute every draw.
	Points         PointsRule `json:"points"`
	PointsBudget   int64      `json:"points_budget,omitempty"`
	NewMemberBonus int64      `json:"new_member_bonus,omitempty"`
	DailyLimit     int        `json:"daily_limit_per_member,omitempty"`
	// DailyLimitPerDevice caps rewarded scans per device a day, for scans
	// that name their device: member ids are cheap to make, a phone less
	// so, and recycled caps are scanned by the bagful on one.
	DailyLimitPerDevice int         `json:"daily_limit_per_device,omitempty"`
	Coupon              *CouponRule `json:"coupon,omitempty"`
	GuideCommission     Commission  `json:"guide_commission,omitzero"`
	Tiers               []Tier      `json:"tiers,omitempty"`
	// Targeting limits whom the campaign pays; Prizes are its gifts
	// (一等奖, 二等奖 ...), in place of one coupon (see targeting.go).
	Targeting *Targeting `json:"targeting,omitempty"`
	Prizes    []Prize    `json:"prizes,omitempty"`
	// TimeZone sets where a day starts for daily limits (IANA name);
	// empty: the brand's time zone (Engine.Zone).
	TimeZone string `json:"timezone,omitempty"`
	// Regions are the regions the campaign runs in (the regions of
	// batches, scans and stores).
	Regions []string `json:"regions,omitempty"`
	// CounterPolicy says which stores' guides verify its gifts: one of
	// CounterPolicies (counter.go); empty is CounterAnyStore.
	CounterPolicy string `json:"counter_policy,omitempty"`

	// Set by the engine.
	Version   int       `json:"version"`
	Seed      string    `json:"seed"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PointsRule accepts 10 or {"min":5,"max":20}.
type PointsRule struct {
	Min int64 `json:"min"`
	Max int64 `json:"max"`
}

func (p *PointsRule) UnmarshalJSON(b []byte) error {
	var n int64
	if err := json.Unmarshal(b, &n); err == nil {
		p.Min, p.Max = n, n
		return nil
	}
	type plain PointsRule
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode((*plain)(p))
}

// CouponRule issues a gift coupon with some probability while stock lasts.
type CouponRule struct {
	Title       string  `json:"title"`
	Probability float64 `json:"probability"`
	Stock       int64   `json:"stock"`
	ValidDays   int     `json:"valid_days"`
}

// Commission is what a member's guide earns.
type Commission struct {
	PerScan   int64 `json:"per_scan,omitempty"`
	PerCoupon int64 `json:"per_coupon,omitempty"`
}

// Tier multiplies points for members whose growth reached MinGrowth (see
// tier.go); Benefit tells members what else it brings.
type Tier struct {
	Name       string  `json:"name"`
	MinGrowth  int64   `json:"min_growth"`
	Multiplier float64 `json:"multiplier"`
	Benefit    string  `json:"benefit,omitempty"`
}

// CampaignCounters are a campaign's running totals, kept by the same
// decisions that pay: the budget and stock checks read them.
type CampaignCounters struct {
	// PointsPaid is net of voids: a voided redemption gives its points
	// back to the budget.
	PointsPaid    int64 `json:"points_paid"`
	CouponsIssued int64 `json:"coupons_issued"`
	CouponsUsed   int64 `json:"coupons_used"`
	Commission    int64 `json:"commission"`
	RewardedScans int64 `json:"rewarded_scans"`
}

// CampaignView is a campaign with its counters, as the API shows it.
type CampaignView struct {
	*Campaign
	Counters    CampaignCounters `json:"counters"`
	PointsLeft  *int64           `json:"points_left,omitempty"`
	CouponsLeft *int64           `json:"coupons_left,omitempty"`
	Status      string           `json:"status"`
	// PrizesIssued counts each prize's coupons issued, by name.
	PrizesIssued map[string]int64 `json:"prizes_issued,omitempty"`
}

// ParseCampaign decodes and validates a campaign document. Unknown fields
// are refused so that a typo does not silently change a payout.
func ParseCampaign(raw []byte) (*Campaign, error) { return ParseCampaignAs(raw, "") }

// ParseCampaignAs is ParseCampaign for a document applied under id (PUT
// /v1/campaigns/{id}): a document without an id takes it, one with another
// id is refused.
func ParseCampaignAs(raw []byte, id string) (*Campaign, error) {
	var c Campaign
	if err := parseDocument(raw, "campaign", id, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// document is what an admin applies as JSON: a campaign, a reward.
type document interface {
	// idField is where the document keeps its id.
	idField() *string
	check() error
}

func (c *Campaign) idField() *string { return &c.ID }

// parseDocument decodes raw into doc, a document of the kind what applied
// under id, and validates it. Unknown fields are refused, so that a typo
// does not silently change a payout or a price. A document without an id
// takes id; one with another is refused.
func parseDocument(raw []byte, what, id string, doc document) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(doc); err != nil {
		return Errorf(CodeInvalidRequest, "%s document: %v", what, err)
	}
	// One document per file: a second one (two versions pasted together)
	// or trailing text would otherwise be dropped without a word.
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(CodeInvalidRequest, "%s document: unexpected data after the document; apply one %s at a time", what, what)
	}
	docID := doc.idField()
	if *docID == "" {
		*docID = id
	}
	if id != "" && *docID != id {
		return Errorf(CodeInvalidRequest, "the document's id %q differs from the path's %q", *docID, id)
	}
	return doc.check()
}

// Limits on the amounts of a campaign document (docs/rewards.md). They are
// far above any real promotion and far below where sums of them could leave
// int64: a scan pays at most MaxPoints × 10 (the highest tier) plus
// MaxPoints of bonus, so a balance needs some 10^11 scans to overflow. A
// number beyond them is a typo or an attack, refused with
// CodeAmountOutOfRange when the document is applied.
const (
	// MaxPoints bounds every per-event amount: points, the new-member
	// bonus, per-scan and per-coupon commissions, a batch's fixed points.
	MaxPoints = 1_000_000
	// MaxBudget bounds points_budget and coupon stock.
	MaxBudget = 1_000_000_000_000
	// MaxDailyLimit bounds daily_limit_per_member and _per_device.
	MaxDailyLimit = 1_000_000
)

// CodeAmountOutOfRange refuses an amount beyond the documented limits, or a
// payout that would take a balance or counter out of range.
const CodeAmountOutOfRange Code = "amount_out_of_range"

func (c *Campaign) check() error {
	bad := func(format string, args ...any) error {
		return Errorf(CodeInvalidRequest, "campaign %q: "+format, append([]any{c.ID}, args...)...)
	}
	if err := c.checkAmounts(); err != nil {
		return err
	}
	if err := checkID("id", c.ID, true); err != nil {
		return err
	}
	if len(c.Products) == 0 {
		return bad("list at least one product SKU in \"products\"")
	}
	for _, p := range c.Products {
		if err := checkID("products", p, true); err != nil {
			return err
		}
	}
	switch {
	case c.StartsAt.IsZero() || c.EndsAt.IsZero():
		return bad("starts_at and ends_at are required (RFC 3339 times)")
	case !c.EndsAt.After(c.StartsAt):
		return bad("ends_at must be after starts_at")
	case c.Points.Min < 0 || c.Points.Max < c.Points.Min:
		return bad("points must be a non-negative number or {\"min\",\"max\"} with min ≤ max")
	case c.PointsBudget < 0, c.NewMemberBonus < 0, c.DailyLimit < 0, c.DailyLimitPerDevice < 0:
		return bad("points_budget, new_member_bonus, daily_limit_per_member and daily_limit_per_device must not be negative")
	case c.GuideCommission.PerScan < 0 || c.GuideCommission.PerCoupon < 0:
		return bad("guide commissions must not be negative")
	}
	if c.Coupon != nil {
		cp := c.Coupon
		switch {
		case cp.Title == "":
			return bad("coupon needs a title")
		case cp.Probability < 0 || cp.Probability > 1 || math.IsNaN(cp.Probability):
			return bad("coupon probability must be between 0 and 1")
		case cp.Stock < 0:
			return bad("coupon stock must not be negative")
		case cp.ValidDays <= 0:
			return bad("coupon valid_days must be at least 1")
		}
	}
	if err := checkLadder(fmt.Sprintf("campaign %q", c.ID), c.Tiers); err != nil {
		return err
	}
	if err := checkPrizes(c); err != nil {
		return err
	}
	if c.Targeting != nil {
		if err := c.Targeting.check(c); err != nil {
			return err
		}
	}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			return bad("unknown timezone %q (use an IANA name like Asia/Shanghai)", c.TimeZone)
		}
	}
	return c.checkCounter()
}

func campaignKey(id string) []byte { return append([]byte("cp/"), id...) }
func campaignVersionKey(id string, v int) []byte {
	return binary.BigEndian.AppendUint32(append(append([]byte("cpv/"), id...), 0), uint32(v))
}
func campaignCountersKey(id string) []byte  { return append([]byte("cc/"), id...) }
func productCampaignsKey(sku string) []byte { return append([]byte("pc/"), sku...) }

var (
	campaignPrefix         = []byte("cp/")
	productCampaignsPrefix = []byte("pc/")
)

// ApplyCampaign stores a campaign document as the campaign's next version.
// The seed of the draws is kept across versions, so a change of rules does
// not reshuffle who wins what.
func (e *Engine) ApplyCampaign(c *Campaign) (*CampaignView, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var view *CampaignView
	err := e.update(func(tx Tx) error {
		var prev Campaign
		found, err := getJSON(tx, campaignKey(c.ID), &prev)
		if err != nil {
			return err
		}
		// Slices of several nodes (escrow.go) keep only what they paid:
		// the new budget and stocks hold against the rest at once.
		ctr, issued, err := syncSlices(tx, c.ID)
		if err != nil {
			return err
		}
		// A new version cannot make what was already paid an overspend:
		// the audit holds the counters to the budget and stock in force.
		if c.PointsBudget > 0 && c.PointsBudget < ctr.PointsPaid {
			return Errorf(CodeInvalidRequest, "campaign %q: points_budget %d is below the %d points already paid; to stop paying, set it to %d or end the campaign", c.ID, c.PointsBudget, ctr.PointsPaid, ctr.PointsPaid)
		}
		var b Brand
		if _, err := getJSON(tx, brandKey, &b); err != nil {
			return err
		}
		if err := c.Targeting.checkMinTier(c, &b); err != nil {
			return err
		}
		for _, p := range c.Prizes {
			if p.Stock < issued[p.Name] {
				return Errorf(CodeInvalidRequest, "campaign %q: prize %q stock %d is below the %d already issued; to stop issuing it, set it to %d", c.ID, p.Name, p.Stock, issued[p.Name], issued[p.Name])
			}
		}
		if c.Coupon != nil && c.Coupon.Stock < ctr.CouponsIssued {
			return Errorf(CodeInvalidRequest, "campaign %q: coupon stock %d is below the %d coupons already issued; to stop issuing, set it to %d", c.ID, c.Coupon.Stock, ctr.CouponsIssued, ctr.CouponsIssued)
		}
		next := *c
		next.UpdatedAt = e.now()
		next.Version = 1
		if found {
			next.Version = prev.Version + 1
			next.Seed = prev.Seed
			// Keep the product index exact: drop products no longer listed.
			for _, p := range prev.Products {
				if !slices.Contains(next.Products, p) {
					if err := indexProduct(tx, p, c.ID, false); err != nil {
						return err
					}
				}
			}
		}
		if next.Seed == "" {
			var b [16]byte
			rand.Read(b[:])
			next.Seed = hex.EncodeToString(b[:])
		}
		for _, p := range next.Products {
			if err := indexProduct(tx, p, c.ID, true); err != nil {
				return err
			}
		}
		putJSON(tx, campaignKey(c.ID), next)
		putJSON(tx, campaignVersionKey(c.ID, next.Version), next)
		view = viewCampaign(&next, ctr, e.now())
		// App tokens read the feed: the draws' seed stays with the admin.
		told := next
		told.Seed = ""
		return record(tx, FeedCampaignChanged, next.UpdatedAt, viewCampaign(&told, ctr, next.UpdatedAt))
	})
	return view, err
}

// checkAmounts holds every amount of the document to its limit.
func (c *Campaign) checkAmounts() error {
	amounts := []struct {
		field    string
		v, limit int64
	}{
		{"points", c.Points.Max, MaxPoints},
		{"points (min)", c.Points.Min, MaxPoints},
		{"new_member_bonus", c.NewMemberBonus, MaxPoints},
		{"guide_commission.per_scan", c.GuideCommission.PerScan, MaxPoints},
		{"guide_commission.per_coupon", c.GuideCommission.PerCoupon, MaxPoints},
		{"points_budget", c.PointsBudget, MaxBudget},
		{"daily_limit_per_member", int64(c.DailyLimit), MaxDailyLimit},
		{"daily_limit_per_device", int64(c.DailyLimitPerDevice), MaxDailyLimit},
	}
	if c.Coupon != nil {
		amounts = append(amounts, struct {
			field    string
			v, limit int64
		}{"coupon.stock", c.Coupon.Stock, MaxBudget})
	}
	for _, a := range amounts {
		if a.v > a.limit {
			return &Error{Code: CodeAmountOutOfRange,
				Message: fmt.Sprintf("campaign %q: %s %d is above the limit of %d; see docs/rewards.md, \"Limits\"", c.ID, a.field, a.v, a.limit),
				Details: map[string]any{"field": a.field, "limit": a.limit}}
		}
	}
	return nil
}

// indexProduct adds or removes campaign id in a product's campaign list.
func indexProduct(tx Tx, sku, id string, add bool) error {
	var ids []string
	if _, err := getJSON(tx, productCampaignsKey(sku), &ids); err != nil {
		return err
	}
	has := slices.Contains(ids, id)
	switch {
	case add && !has:
		ids = append(ids, id)
		slices.Sort(ids)
	case !add && has:
		ids = slices.DeleteFunc(ids, func(s string) bool { return s == id })
	default:
		return nil
	}
	putJSON(tx, productCampaignsKey(sku), ids)
	return nil
}

func viewCampaign(c *Campaign, ctr CampaignCounters, now time.Time) *CampaignView {
	v := &CampaignView{Campaign: c, Counters: ctr, Status: c.status(now)}
	if c.PointsBudget > 0 {
		left := c.PointsBudget - ctr.PointsPaid
		v.PointsLeft = &left
	}
	if c.Coupon != nil {
		left := c.Coupon.Stock - ctr.CouponsIssued
		v.CouponsLeft = &left
	}
	return v
}

func (c *Campaign) status(now time.Time) string {
	switch {
	case now.Before(c.StartsAt):
		return "scheduled"
	case !now.Before(c.EndsAt):
		return "ended"
	}
	return "live"
}

// Campaign returns a campaign and its counters.
func (e *Engine) Campaign(id string) (*CampaignView, error) {
	c, err := getRecord[Campaign](e.db, campaignKey(id), func() error {
		return Errorf(CodeNotFound, "no campaign %q (see yima campaign list)", id)
	})
	if err != nil {
		return nil, wrapStore(err)
	}
	ctr, issued, err := campaignTotals(e.db, id, len(c.Prizes) > 0)
	if err != nil {
		return nil, wrapStore(err)
	}
	v := viewCampaign(c, ctr, e.now())
	v.PrizesIssued = issued
	return v, nil
}

// Campaigns lists every campaign with its counters.
func (e *Engine) Campaigns() ([]*CampaignView, error) {
	var ids []string
	err := e.db.Scan(campaignPrefix, nil, func(k, _ []byte) bool {
		ids = append(ids, string(k[len(campaignPrefix):]))
		return true
	})
	if err != nil {
		return nil, wrapStore(err)
	}
	out := make([]*CampaignView, 0, len(ids))
	for _, id := range ids {
		v, err := e.Campaign(id)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// campaignFor picks the campaign that governs a scan of product: the
// batch's own campaign if it names one, else a live campaign listing the
// product (the first by id). found is false when no campaign applies, in
// which case the batch's fixed points are paid. A campaign that applies but
// is not live is reported so the scan can be refused with the reason.
//
// The campaign returned is shared with later decisions: do not modify it.
func (e *Engine) campaignFor(tx Tx, batchCampaign, product string, now time.Time) (c *Campaign, found bool, err error) {
	ids := []string{batchCampaign}
	if batchCampaign == "" {
		list, _, err := readFrozen[[]string](e, tx, productCampaignsKey(product))
		if err != nil {
			return nil, false, err
		}
		ids = nil
		if list != nil {
			ids = *list
		}
	}
	var fallback *Campaign
	for _, id := range ids {
		cand, ok, err := readFrozen[Campaign](e, tx, campaignKey(id))
		if err != nil {
			return nil, false, err
		}
		if !ok {
			continue
		}
		if cand.status(now) == "live" {
			return cand, true, nil
		}
		// Prefer reporting "not started" over "ended" when both exist:
		// a later campaign is the one the consumer can still look forward to.
		if fallback == nil || cand.status(now) == "scheduled" {
			fallback = cand
		}
	}
	return fallback, fallback != nil, nil
}

// draw returns a number in [0,1) that depends only on the campaign's seed,
// the purpose and the code: the campaign's "random" rewards are auditable
// and do not depend on the order or grouping of scans.
func (c *Campaign) draw(purpose, code string) float64 { return Draw(c.Seed, purpose, code) }

// Draw is the campaign draw: the first 53 bits of SHA-256(seed 0x00 purpose
// 0x00 code) as a number in [0,1). Anyone holding a campaign's seed can
// recompute every payout with it; purposes are "points" and "coupon".
func Draw(seed, purpose, code string) float64 {
	h := sha256.New()
	h.Write([]byte(seed))
	h.Write([]byte{0})
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(code))
	var sum [32]byte
	h.Sum(sum[:0])
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

// basePoints draws the scan's points before the tier multiplier.
func (c *Campaign) basePoints(code string) int64 {
	span := c.Points.Max - c.Points.Min + 1
	return c.Points.Min + int64(c.draw("points", code)*float64(span))
}

// day is the calendar day of t in the campaign's time zone, else the
// brand's, for daily limits.
func (c *Campaign) day(t time.Time, brand *time.Location) string {
	if c.TimeZone == "" {
		return t.In(brand).Format("20060102")
	}
	return t.In(location(c.TimeZone)).Format("20060102")
}

// location caches time zones: loading one parses tzdata.
var locations sync.Map // name → *time.Location

func location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		l = time.UTC // validated when applied; unreachable in practice
	}
	locations.Store(name, l)
	return l
}
