package reward

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// The brand's tier ladder (Brand.Tiers) belongs to the member: one ladder
// for every campaign, unless a campaign lists its own (Campaign.Tiers).
// A member's tier is the highest whose min_growth their growth in the
// brand's window reaches: the growth earned in the current month and the
// Brand.TierWindowMonths-1 months before it, in the brand's time zone (all
// growth when no window is set). It is computed whenever it is read (a
// scan, an order, the member centre), so a tier falls on the first day of
// the month in which the growth that held it leaves the window; nothing
// recomputes tiers in the background.

// Limits of a ladder.
const (
	maxTiers       = 20
	maxTierName    = 32
	maxTierBenefit = 200
	maxMultiplier  = 10
)

// checkLadder says what is wrong with a ladder (what names its owner), or
// nil: named tiers by increasing min_growth with multipliers from 1 to 10.
func checkLadder(what string, tiers []Tier) error {
	if len(tiers) > maxTiers {
		return Errorf(CodeInvalidRequest, "%s: at most %d tiers", what, maxTiers)
	}
	for i, t := range tiers {
		bad := func(format string, args ...any) error {
			return Errorf(CodeInvalidRequest, "%s: tier %d (%q): "+format, append([]any{what, i, t.Name}, args...)...)
		}
		switch {
		case t.Name == "" || utf8.RuneCountInString(t.Name) > maxTierName || checkID("name", t.Name, false) != nil:
			return bad("a tier needs a name of 1 to %d characters without control characters", maxTierName)
		case t.MinGrowth < 0 || t.MinGrowth > MaxBudget:
			return bad("min_growth must be between 0 and %d", int64(MaxBudget))
		case t.Multiplier < 1 || t.Multiplier > maxMultiplier || math.IsNaN(t.Multiplier):
			return bad("multiplier must be between 1 and %d", maxMultiplier)
		case utf8.RuneCountInString(t.Benefit) > maxTierBenefit || checkID("benefit", t.Benefit, false) != nil:
			return bad("benefit is at most %d characters without control characters", maxTierBenefit)
		case i > 0 && t.MinGrowth <= tiers[i-1].MinGrowth:
			return bad("tiers must be listed by increasing min_growth")
		}
	}
	return nil
}

// tierIn returns the tier of a ladder that growth reaches, or nil.
func tierIn(ladder []Tier, growth int64) *Tier {
	var t *Tier
	for i := range ladder {
		if growth >= ladder[i].MinGrowth {
			t = &ladder[i]
		}
	}
	return t
}

// Standing is a member's place on a ladder: the growth that counts (in the
// window), the tier it reaches and the next one.
type Standing struct {
	WindowGrowth int64 `json:"window_growth"`
	// WindowMonths is the brand's window; 0 counts all growth.
	WindowMonths int   `json:"window_months,omitempty"`
	Tier         *Tier `json:"tier,omitempty"`
	Next         *Tier `json:"next_tier,omitempty"`
}

// standing places a member on ladder with the brand's window.
func standing(m *Member, ladder []Tier, b *Brand, now time.Time, loc *time.Location) Standing {
	s := Standing{WindowMonths: b.TierWindowMonths, WindowGrowth: m.windowGrowth(b.TierWindowMonths, now, loc)}
	s.Tier = tierIn(ladder, s.WindowGrowth)
	for i := range ladder {
		if ladder[i].MinGrowth > s.WindowGrowth {
			s.Next = &ladder[i]
			break
		}
	}
	return s
}

// memberTier is the tier of m now under campaign c (nil: the brand's
// ladder), inside a decision. m's lots are rebuilt first if it has none.
func (e *Engine) memberTier(tx Tx, m *Member, c *Campaign, now time.Time) (*Tier, error) {
	b, err := e.brandIn(tx)
	if err != nil {
		return nil, err
	}
	m.zone = location(b.TimeZone)
	ladder := b.Tiers
	if c != nil && len(c.Tiers) > 0 {
		ladder = c.Tiers
	}
	if len(ladder) == 0 {
		return nil, nil
	}
	if err := m.ensureBooked(tx); err != nil {
		return nil, err
	}
	return standing(m, ladder, b, now, m.zone).Tier, nil
}

// PointMultiplier is the multiplier of m's tier now under campaign c (nil
// for points earned outside campaigns, such as purchase orders): 1 without
// a tier. Call it inside a decision, with the member loaded in it.
func (e *Engine) PointMultiplier(tx Tx, m *Member, c *Campaign, now time.Time) (float64, *Tier, error) {
	t, err := e.memberTier(tx, m, c, now)
	if err != nil || t == nil {
		return 1, nil, err
	}
	return t.Multiplier, t, nil
}

// multiply is base × multiplier, rounded half away from zero.
func multiply(base int64, multiplier float64) int64 {
	return int64(math.Round(float64(base) * multiplier))
}

// MemberStanding is a member's place on the brand's ladder, read outside
// any decision (the member centre, GET /v1/members/{m}); nil when the
// brand has no ladder.
func (e *Engine) MemberStanding(m *Member) (*Standing, error) {
	b, err := e.Brand()
	if err != nil {
		return nil, err
	}
	if len(b.Tiers) == 0 {
		return nil, nil
	}
	loc := location(b.TimeZone)
	mm := *m
	mm.zone = loc
	if err := mm.ensureBooked(e.db); err != nil {
		return nil, wrapStore(fmt.Errorf("reward: member %s's ledger: %w", m.ID, err))
	}
	s := standing(&mm, b.Tiers, b, e.now(), loc)
	return &s, nil
}
