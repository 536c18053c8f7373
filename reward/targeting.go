package reward

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Targeting limits whom a campaign pays: a scan outside it is refused
// with a 403 that names the rule, and the code stays unredeemed, as a
// window's or a budget's refusal leaves it. Empty lists limit nothing.
type Targeting struct {
	// Regions are the scan's regions the campaign pays in.
	Regions []string `json:"regions,omitempty"`
	// Stores are the store ids (a guide's store) whose members it pays:
	// the member's bound guide's store, else the scan's guide's.
	Stores []string `json:"stores,omitempty"`
	// Sources are the scan's sources (channels) it pays.
	Sources []string `json:"sources,omitempty"`
	// NewMembersOnly pays only a member's first reward ever.
	NewMembersOnly bool `json:"new_members_only,omitempty"`
	// MinTier is the lowest tier it pays, on the campaign's ladder (its
	// own tiers, else the brand's).
	MinTier string `json:"min_tier,omitempty"`
}

// Codes of targeting refusals (403).
const (
	CodeNotInRegion    Code = "campaign_not_in_region"
	CodeNotInStore     Code = "campaign_not_in_store"
	CodeNotForSource   Code = "campaign_not_for_source"
	CodeNewMembersOnly Code = "campaign_new_members_only"
	CodeTierTooLow     Code = "campaign_tier_too_low"
)

// maxTargets bounds each list of a targeting.
const maxTargets = 200

func (t *Targeting) check(c *Campaign) error {
	for _, l := range []struct {
		field string
		ids   []string
	}{{"targeting.regions", t.Regions}, {"targeting.stores", t.Stores}, {"targeting.sources", t.Sources}} {
		if len(l.ids) > maxTargets {
			return Errorf(CodeInvalidRequest, "campaign %q: %s lists more than %d", c.ID, l.field, maxTargets)
		}
		for _, id := range l.ids {
			if err := checkID(l.field, id, true); err != nil {
				return err
			}
		}
	}
	for _, s := range t.Sources {
		if err := checkSource("targeting.sources", s); err != nil {
			return err
		}
	}
	if t.MinTier != "" && len(c.Tiers) > 0 && !slices.ContainsFunc(c.Tiers, func(x Tier) bool { return x.Name == t.MinTier }) {
		return Errorf(CodeInvalidRequest, "campaign %q: targeting.min_tier %q is none of the campaign's tiers", c.ID, t.MinTier)
	}
	return nil
}

// checkMinTier holds a min_tier to the brand's ladder when the campaign
// has none of its own: a tier no ladder has would refuse every scan.
func (t *Targeting) checkMinTier(c *Campaign, b *Brand) error {
	if t == nil || t.MinTier == "" || len(c.Tiers) > 0 {
		return nil
	}
	if !slices.ContainsFunc(b.Tiers, func(x Tier) bool { return x.Name == t.MinTier }) {
		return Errorf(CodeInvalidRequest, "campaign %q: targeting.min_tier %q is none of the brand's tiers (yima brand show)", c.ID, t.MinTier)
	}
	return nil
}

// target refuses a scan the campaign's targeting leaves out, before any
// write.
func (e *Engine) target(tx Tx, c *Campaign, m *Member, req ScanRequest, now time.Time) error {
	t := c.Targeting
	if t == nil {
		return nil
	}
	refuse := func(code Code, msg string, details map[string]any) error {
		return &Error{Code: code, Message: msg + "; the product is genuine and the code was not used", Details: details}
	}
	if len(t.Regions) > 0 && !slices.Contains(t.Regions, req.Region) {
		return refuse(CodeNotInRegion, "this promotion is only for "+strings.Join(t.Regions, ", "), map[string]any{"regions": t.Regions})
	}
	if len(t.Sources) > 0 && !slices.Contains(t.Sources, req.Source) {
		return refuse(CodeNotForSource, "this promotion is only for scans from "+strings.Join(t.Sources, ", "), map[string]any{"sources": t.Sources})
	}
	if len(t.Stores) > 0 {
		store, err := saleStore(tx, m, req)
		if err != nil {
			return err
		}
		if !slices.Contains(t.Stores, store) {
			return refuse(CodeNotInStore, "this promotion is only for the members of some stores", map[string]any{"stores": t.Stores})
		}
	}
	if t.NewMembersOnly && m.Redemptions > 0 {
		return refuse(CodeNewMembersOnly, "this promotion is only for a member's first reward", nil)
	}
	if t.MinTier != "" {
		ladder := c.Tiers
		if len(ladder) == 0 {
			b, err := e.brandIn(tx)
			if err != nil {
				return err
			}
			ladder = b.Tiers
		}
		need := slices.IndexFunc(ladder, func(x Tier) bool { return x.Name == t.MinTier })
		tier, err := e.memberTier(tx, m, c, now)
		if err != nil {
			return err
		}
		has := -1
		if tier != nil {
			has = slices.IndexFunc(ladder, func(x Tier) bool { return x.Name == tier.Name })
		}
		if need < 0 || has < need {
			return refuse(CodeTierTooLow, fmt.Sprintf("this promotion is for members from tier %s up", t.MinTier), map[string]any{"min_tier": t.MinTier})
		}
	}
	return nil
}

// saleStore is the store a scan's sale belongs to: that of the member's
// bound guide, else of the scan's guide, when that guide is known and has
// not left; "" otherwise.
func saleStore(tx getter, m *Member, req ScanRequest) (string, error) {
	id := m.Guide
	if id == "" {
		id = req.Guide
	}
	if id == "" {
		return "", nil
	}
	g, err := loadGuide(tx, id)
	if err != nil || g == nil || !g.LeftAt.IsZero() {
		return "", err
	}
	return g.Store, nil
}

// maxSource bounds a scan's source.
const maxSource = 64

// checkSource says what is wrong with a source (the channel a scan came
// through), or nil: 1 to 64 of letters, digits and . _ : - so that it
// stays a key of statistics and a word on the dashboard.
func checkSource(field, s string) error {
	ok := s != "" && len(s) <= maxSource
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == ':' || r == '-') {
			ok = false
		}
	}
	if !ok {
		return Errorf(CodeInvalidRequest, "%q %q: a source is 1 to %d letters, digits, '.', '_', ':' or '-', such as tmall, store:S12 or poster-2026", field, s, maxSource)
	}
	return nil
}

// Touch is where a member first came from: the source, guide, store and
// region of their first redeemed scan, and when. The statistics count the
// member as new on that day under those values.
type Touch struct {
	Source string    `json:"source,omitempty"`
	Guide  string    `json:"guide,omitempty"`
	Store  string    `json:"store,omitempty"`
	Region string    `json:"region,omitempty"`
	At     time.Time `json:"at"`
}

// Prize is one of a campaign's gifts (一等奖, 二等奖 ...): a gift coupon
// drawn with Probability while Stock lasts. A scan draws once for all of a
// campaign's prizes (see drawPrize).
type Prize struct {
	Name        string  `json:"name"`
	Title       string  `json:"title"`
	Probability float64 `json:"probability"`
	Stock       int64   `json:"stock"`
	ValidDays   int     `json:"valid_days"`
	// NewMembersOnly gives the prize only on a member's first reward ever.
	NewMembersOnly bool `json:"new_members_only,omitempty"`
}

// Notes of prizes.
const (
	NotePrizeForNewMembers = "prize_for_new_members_only"
)

const maxPrizes = 20

func checkPrizes(c *Campaign) error {
	bad := func(format string, args ...any) error {
		return Errorf(CodeInvalidRequest, "campaign %q: "+format, append([]any{c.ID}, args...)...)
	}
	if len(c.Prizes) == 0 {
		return nil
	}
	if c.Coupon != nil {
		return bad("give either coupon or prizes, not both: list the coupon as one of the prizes")
	}
	if len(c.Prizes) > maxPrizes {
		return bad("at most %d prizes", maxPrizes)
	}
	var sum float64
	for i, p := range c.Prizes {
		switch {
		case p.Name == "" || utf8.RuneCountInString(p.Name) > maxTierName || checkID("name", p.Name, false) != nil:
			return bad("prize %d needs a name of 1 to %d characters (一等奖)", i, maxTierName)
		case slices.ContainsFunc(c.Prizes[:i], func(q Prize) bool { return q.Name == p.Name }):
			return bad("prize name %q appears twice", p.Name)
		case p.Title == "" || utf8.RuneCountInString(p.Title) > 100 || checkID("title", p.Title, false) != nil:
			return bad("prize %q needs a title of 1 to 100 characters", p.Name)
		case p.Probability < 0 || p.Probability > 1 || math.IsNaN(p.Probability):
			return bad("prize %q: probability must be between 0 and 1", p.Name)
		case p.Stock < 0 || p.Stock > MaxBudget:
			return bad("prize %q: stock must be between 0 and %d", p.Name, int64(MaxBudget))
		case p.ValidDays <= 0 || p.ValidDays > 3660:
			return bad("prize %q: valid_days must be 1 to 3660", p.Name)
		}
		sum += p.Probability
	}
	if sum > 1+1e-9 {
		return bad("the prizes' probabilities add up to %g, more than 1", sum)
	}
	return nil
}

// drawPrize is the prize a scan of code wins, or nil: one draw,
// SHA-256(seed, "prize", code), falls into the prizes' probabilities laid
// end to end in the order listed, so anyone with the seed recomputes it.
func (c *Campaign) drawPrize(code string) *Prize {
	u := c.draw("prize", code)
	var at float64
	for i := range c.Prizes {
		at += c.Prizes[i].Probability
		if u < at {
			return &c.Prizes[i]
		}
	}
	return nil
}

// campaignPrizesKey holds a campaign's prizes issued, by name (JSON).
func campaignPrizesKey(id string) []byte { return append([]byte("cpz/"), id...) }

// payPrize issues the prize a scan wins, while its stock lasts.
func (e *Engine) payPrize(tx Tx, c *Campaign, m *Member, red *Redemption, res *ScanResult, acct *campaignAccount, now time.Time, first bool) error {
	p := c.drawPrize(red.Code)
	if p == nil {
		return nil
	}
	if p.NewMembersOnly && !first {
		res.Notes = append(res.Notes, NotePrizeForNewMembers)
		return nil
	}
	left, err := acct.prizeLeft(tx, p)
	if err != nil {
		return err
	}
	if left <= 0 {
		if err := acct.short(tx, 0, 0, p.Name); err != nil {
			return err
		}
		if left, err = acct.prizeLeft(tx, p); err != nil {
			return err
		}
	}
	if left <= 0 {
		res.Notes = append(res.Notes, NoteCouponStockExhausted)
		return nil
	}
	cp := Coupon{
		ID: e.newID(), Campaign: c.ID, Title: p.Title, Prize: p.Name, Member: m.ID, Code: red.Code,
		Issued: now, Expires: now.AddDate(0, 0, p.ValidDays), Status: CouponIssued,
	}
	putJSON(tx, couponKey(cp.ID), cp)
	if err := record(tx, FeedCouponIssued, now, cp); err != nil {
		return err
	}
	acct.issuePrize(p.Name)
	acct.ctr.CouponsIssued++
	red.Coupon = cp.ID
	res.Coupon = &CouponSummary{ID: cp.ID, Title: cp.Title, Prize: p.Name, ExpiresAt: cp.Expires}
	return nil
}

// unissuePrize gives a voided prize coupon back to its prize's stock.
func unissuePrize(tx Tx, c *Coupon) error {
	if c.Prize == "" {
		return nil
	}
	issued := map[string]int64{}
	if _, err := getJSON(tx, campaignPrizesKey(c.Campaign), &issued); err != nil {
		return err
	}
	issued[c.Prize]--
	putJSON(tx, campaignPrizesKey(c.Campaign), issued)
	return nil
}

// prizeCount counts a coupon into want, the prizes its campaign's coupons
// hold, for auditPrizes.
func prizeCount(want map[string]map[string]int64, cp *Coupon) {
	if cp.Prize == "" || cp.Status == CouponVoid {
		return
	}
	if want[cp.Campaign] == nil {
		want[cp.Campaign] = map[string]int64{}
	}
	want[cp.Campaign][cp.Prize]++
}

// auditPrizes checks each campaign's prizes issued against its coupons
// (want, counted by prizeCount) and the prizes' stock.
func auditPrizes(a *AuditReport, camps map[string]*Campaign, want, issued map[string]map[string]int64) {
	for id, c := range camps {
		for _, p := range c.Prizes {
			got := issued[id][p.Name]
			if got != want[id][p.Name] {
				a.violate("campaign %s prize %s: %d issued, its coupons count %d", id, p.Name, got, want[id][p.Name])
			}
			if got > p.Stock || got < 0 {
				a.violate("campaign %s prize %s: %d issued from a stock of %d", id, p.Name, got, p.Stock)
			}
		}
	}
}
