package reward_test

import (
	"math"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

// TestCampaignAmountsAreBounded: amounts near 2^63 in a campaign document
// used to be accepted, and a scan then wrapped balances and counters to
// negative numbers. Every amount is held to its documented limit when the
// document is applied (422 amount_out_of_range over HTTP), and nothing is
// stored.
func TestCampaignAmountsAreBounded(t *testing.T) {
	coupon := func(stock int64) map[string]any {
		return map[string]any{"title": "gift", "probability": 0.5, "stock": stock, "valid_days": 30}
	}
	for name, fields := range map[string]map[string]any{
		"absurd points":               {"points": 1_000_001},
		"absurd points range":         {"points": map[string]any{"min": 1, "max": int64(math.MaxInt64)}},
		"new_member_bonus near 2^63":  {"new_member_bonus": int64(math.MaxInt64 - 5)},
		"per_scan commission 2^62":    {"guide_commission": map[string]any{"per_scan": int64(1) << 62}},
		"per_coupon commission 2^62":  {"guide_commission": map[string]any{"per_coupon": int64(1) << 62}},
		"points_budget near 2^63":     {"points_budget": int64(math.MaxInt64 - 1)},
		"coupon stock near 2^63":      {"coupon": coupon(math.MaxInt64)},
		"daily limit above the limit": {"daily_limit_per_member": reward.MaxDailyLimit + 1},
		"device limit above it":       {"daily_limit_per_device": reward.MaxDailyLimit + 1},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, 10, 0)
			doc := campaignDoc(t, fields)
			c, err := reward.ParseCampaign([]byte(doc))
			if code(err) != reward.CodeAmountOutOfRange {
				t.Fatalf("ParseCampaign(%s) = %+v, %v; want %s", doc, c, err, reward.CodeAmountOutOfRange)
			}
			// The engine checks again: a document built in Go is no
			// different from one parsed.
			raw := &reward.Campaign{ID: "raw", Products: []string{"SKU-1"}, StartsAt: f.now.Add(-1), EndsAt: f.now.AddDate(1, 0, 0),
				Points: reward.PointsRule{Min: 1, Max: 1}, NewMemberBonus: math.MaxInt64}
			if _, err := f.eng.ApplyCampaign(raw); code(err) != reward.CodeAmountOutOfRange {
				t.Fatalf("ApplyCampaign with a bonus of 2^63-1: %v, want %s", err, reward.CodeAmountOutOfRange)
			}
			if _, err := f.eng.Campaign("raw"); code(err) != reward.CodeNotFound {
				t.Fatalf("a refused campaign was stored: %v", err)
			}
		})
	}

	t.Run("the limits themselves pay and audit clean", func(t *testing.T) {
		f := newFixture(t, 10, 0)
		mustApply(t, f, campaignDoc(t, map[string]any{
			"points": reward.MaxPoints, "new_member_bonus": reward.MaxPoints, "points_budget": reward.MaxBudget,
			"guide_commission": map[string]any{"per_scan": reward.MaxPoints, "per_coupon": reward.MaxPoints},
			"coupon":           coupon(reward.MaxBudget),
			"tiers":            []map[string]any{{"name": "gold", "min_growth": 1, "multiplier": 10}},
		}))
		rewardtest.MustStore(t, f.eng, "S1")
		if _, _, err := f.eng.AddGuide(reward.Guide{ID: "G1", Store: "S1"}); err != nil {
			t.Fatal(err)
		}
		first, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(1), Member: "m", Guide: "G1"})
		if err != nil {
			t.Fatal(err)
		}
		second := mustRedeem(t, f, f.signer.Code(2), "m")
		if first.Points != 2*reward.MaxPoints || second.Points != 10*reward.MaxPoints || second.Balance != 12*reward.MaxPoints {
			t.Fatalf("at the limits: first %+v, second %+v", first, second)
		}
		mustAudit(t, f)
	})
}
