package bench

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/yima-dev/yima/reward"
)

// The campaign workload's constants: what a gift coupon is drawn with, and
// how many points a spend takes at most.
const (
	couponProbability = 0.1
	maxSpend          = 30
	// repeatVerify is the chance that a verification re-verifies a
	// coupon already verified (expect 409) rather than a new one.
	repeatVerify = 0.2
)

// BenchCampaign is the campaign a run applies unless Config.FixedPoints:
// the shape of docs/rewards.md's example (random points, a new-member
// bonus, a gift coupon, guide commissions, a gold tier), live from an hour
// ago for a week, with the given points budget and coupon stock. Its id
// and product name the run, so that its counters are the run's alone.
func BenchCampaign(run string, budget, stock int64, now time.Time) *reward.Campaign {
	return &reward.Campaign{
		ID:             "bench-" + run,
		Name:           "yima bench run " + run,
		Products:       []string{"BENCH-" + run},
		StartsAt:       now.Add(-time.Hour).UTC().Truncate(time.Second),
		EndsAt:         now.Add(7 * 24 * time.Hour).UTC().Truncate(time.Second),
		Points:         reward.PointsRule{Min: 5, Max: 20},
		PointsBudget:   budget,
		NewMemberBonus: 50,
		Coupon:         &reward.CouponRule{Title: "Free bib", Probability: couponProbability, Stock: stock, ValidDays: 30},
		GuideCommission: reward.Commission{
			PerScan:   2,
			PerCoupon: 10,
		},
		Tiers: []reward.Tier{{Name: "gold", MinGrowth: 1000, Multiplier: 1.5}},
	}
}

// newRunID returns a short random id that keeps a run's members, guides,
// campaign and request ids apart from any earlier run's on the same server.
func newRunID() string {
	var b [8]byte
	crand.Read(b[:])
	return strconv.FormatUint(binary.LittleEndian.Uint64(b[:])%(36*36*36*36*36*36), 36)
}

// memberIDs names the run's n members.
func memberIDs(run string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "bench-" + run + "-" + strconv.Itoa(i)
	}
	return out
}

// newSetup describes what the run asks its target for: the campaign, the
// guides and which members are bound to them (drawn with seed), and n
// codes.
func newSetup(cfg *Config, run string, members []string, n int, now time.Time) *Setup {
	s := &Setup{Codes: n, Points: cfg.Points}
	if cfg.FixedPoints {
		return s
	}
	s.Campaign = BenchCampaign(run, cfg.Budget, cfg.Stock, now)
	for i := range cfg.Guides {
		s.Guides = append(s.Guides, "bench-"+run+"-g"+strconv.Itoa(i))
	}
	if cfg.Bound > 0 && len(s.Guides) > 0 {
		r := rand.New(rand.NewPCG(cfg.Seed, 0xb1d))
		for _, m := range members {
			if r.Float64() < cfg.Bound {
				s.Bindings = append(s.Bindings, Binding{Member: m, Guide: s.Guides[r.IntN(len(s.Guides))]})
			}
		}
	}
	return s
}
