package reward_test

import (
	"maps"
	"testing"
	"time"

	"encoding/json"

	"github.com/yima-dev/yima/reward"
)

// TestCampaignDocuments is a table of campaign documents: the example as
// written, variants accepted, and each way a document is refused.
// The tests in this file pin the campaign rules one by one: documents,
// versions, points and their draws, tiers, the new-member bonus, daily limits,
// windows, budgets, coupons, guides, the ledger, spends, voids and aliases,
// then the same rules under concurrent load. Every test that moves money ends
// with mustAudit.

func TestCampaignDocuments(t *testing.T) {
	t.Run("example accepted as written", func(t *testing.T) {
		c, err := reward.ParseCampaign([]byte(springMilk))
		if err != nil {
			t.Fatal(err)
		}
		want := reward.Campaign{
			ID: "spring-milk", Name: "Spring milk powder promotion", Products: []string{"SKU-1"},
			StartsAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), EndsAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
			Points: reward.PointsRule{Min: 5, Max: 20}, PointsBudget: 1_000_000, NewMemberBonus: 50, DailyLimit: 20,
			Coupon:          &reward.CouponRule{Title: "Buy one, get one: 400 g can", Probability: 0.5, Stock: 500, ValidDays: 30},
			GuideCommission: reward.Commission{PerScan: 2, PerCoupon: 5},
			Tiers:           []reward.Tier{{Name: "silver", MinGrowth: 100, Multiplier: 1.2}, {Name: "gold", MinGrowth: 1000, Multiplier: 1.5}},
		}
		got, _ := json.Marshal(c)
		exp, _ := json.Marshal(want)
		if string(got) != string(exp) {
			t.Fatalf("parsed\n%s\nwant\n%s", got, exp)
		}
		f := newFixture(t, 10, 0)
		v, err := f.eng.ApplyCampaign(c)
		if err != nil {
			t.Fatal(err)
		}
		if v.Version != 1 || v.Seed == "" || v.Status != "live" || *v.PointsLeft != 1_000_000 || *v.CouponsLeft != 500 {
			t.Fatalf("applied: version %d seed %q status %s points left %d coupons left %d", v.Version, v.Seed, v.Status, *v.PointsLeft, *v.CouponsLeft)
		}
	})

	t.Run("accepted variants", func(t *testing.T) {
		for name, fields := range map[string]map[string]any{
			"fixed points":            {"points": 10},
			"min equals max":          {"points": map[string]any{"min": 5, "max": 5}},
			"zero points":             {"points": 0},
			"probability 1, no stock": {"coupon": map[string]any{"title": "gift", "probability": 1, "stock": 0, "valid_days": 1}},
			"time zone":               {"timezone": "Asia/Shanghai"},
			"seed given":              {"seed": "my-seed"},
		} {
			if _, err := reward.ParseCampaign([]byte(campaignDoc(t, fields))); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})

	coupon := func(change map[string]any) map[string]any {
		c := map[string]any{"title": "gift", "probability": 0.5, "stock": 10, "valid_days": 30}
		maps.Copy(c, change)
		return c
	}
	tiers := func(t ...[3]any) []map[string]any {
		var out []map[string]any
		for _, x := range t {
			out = append(out, map[string]any{"name": x[0], "min_growth": x[1], "multiplier": x[2]})
		}
		return out
	}
	for name, doc := range map[string]string{
		"not json":                 `{"id": "promo",`,
		"empty document":           `{}`,
		"trailing document":        campaignDoc(t, nil) + `{"id": "other"}`,
		"trailing garbage":         campaignDoc(t, nil) + ` x`,
		"unknown field":            campaignDoc(t, map[string]any{"pionts": 10}),
		"unknown points field":     campaignDoc(t, map[string]any{"points": map[string]any{"min": 1, "max": 5, "avg": 3}}),
		"unknown coupon field":     campaignDoc(t, map[string]any{"coupon": coupon(map[string]any{"colour": "red"})}),
		"unknown tier field":       campaignDoc(t, map[string]any{"tiers": []map[string]any{{"name": "s", "min_growth": 1, "multiplier": 1.2, "bonus": 1}}}),
		"points as a string":       campaignDoc(t, map[string]any{"points": "10"}),
		"fractional points":        campaignDoc(t, map[string]any{"points": 10.5}),
		"negative points":          campaignDoc(t, map[string]any{"points": -1}),
		"min above max":            campaignDoc(t, map[string]any{"points": map[string]any{"min": 20, "max": 5}}),
		"no id":                    campaignDoc(t, map[string]any{"id": nil}),
		"control character in id":  campaignDoc(t, map[string]any{"id": "pro\nmo"}),
		"no products":              campaignDoc(t, map[string]any{"products": []string{}}),
		"empty product":            campaignDoc(t, map[string]any{"products": []string{""}}),
		"no start":                 campaignDoc(t, map[string]any{"starts_at": nil}),
		"no end":                   campaignDoc(t, map[string]any{"ends_at": nil}),
		"not RFC 3339":             campaignDoc(t, map[string]any{"starts_at": "2026-01-01"}),
		"ends before it starts":    campaignDoc(t, map[string]any{"ends_at": "2025-12-31T00:00:00Z"}),
		"ends as it starts":        campaignDoc(t, map[string]any{"ends_at": "2026-01-01T00:00:00Z"}),
		"negative budget":          campaignDoc(t, map[string]any{"points_budget": -1}),
		"negative bonus":           campaignDoc(t, map[string]any{"new_member_bonus": -1}),
		"negative daily limit":     campaignDoc(t, map[string]any{"daily_limit_per_member": -1}),
		"negative commission":      campaignDoc(t, map[string]any{"guide_commission": map[string]any{"per_scan": -1}}),
		"probability above 1":      campaignDoc(t, map[string]any{"coupon": coupon(map[string]any{"probability": 1.01})}),
		"negative probability":     campaignDoc(t, map[string]any{"coupon": coupon(map[string]any{"probability": -0.1})}),
		"coupon without title":     campaignDoc(t, map[string]any{"coupon": coupon(map[string]any{"title": ""})}),
		"negative stock":           campaignDoc(t, map[string]any{"coupon": coupon(map[string]any{"stock": -1})}),
		"coupon valid for no days": campaignDoc(t, map[string]any{"coupon": coupon(map[string]any{"valid_days": 0})}),
		"tiers not increasing":     campaignDoc(t, map[string]any{"tiers": tiers([3]any{"gold", 1000, 1.5}, [3]any{"silver", 100, 1.2})}),
		"tiers with equal growth":  campaignDoc(t, map[string]any{"tiers": tiers([3]any{"silver", 100, 1.2}, [3]any{"gold", 100, 1.5})}),
		"tier multiplier below 1":  campaignDoc(t, map[string]any{"tiers": tiers([3]any{"lead", 100, 0.5})}),
		"tier multiplier above 10": campaignDoc(t, map[string]any{"tiers": tiers([3]any{"platinum", 100, 11})}),
		"tier without name":        campaignDoc(t, map[string]any{"tiers": tiers([3]any{"", 100, 1.2})}),
		"bad time zone":            campaignDoc(t, map[string]any{"timezone": "Mars/Olympus_Mons"}),
		"UTC offset as time zone":  campaignDoc(t, map[string]any{"timezone": "+08:00"}),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := reward.ParseCampaign([]byte(doc))
			if code(err) != reward.CodeInvalidRequest {
				t.Fatalf("ParseCampaign(%s) = %+v, %v; want %s", doc, c, err, reward.CodeInvalidRequest)
			}
		})
	}

	t.Run("apply checks too", func(t *testing.T) {
		f := newFixture(t, 10, 0)
		_, err := f.eng.ApplyCampaign(&reward.Campaign{ID: "raw", Products: []string{"SKU-1"}})
		if code(err) != reward.CodeInvalidRequest {
			t.Fatalf("ApplyCampaign without a window: %v, want %s", err, reward.CodeInvalidRequest)
		}
		if _, err := f.eng.Campaign("raw"); code(err) != reward.CodeNotFound {
			t.Fatalf("a refused campaign was stored: %v", err)
		}
	})
}
