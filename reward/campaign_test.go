package reward_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

// The tests in this file pin a campaign document as a whole: the example
// run end to end, the documents accepted and refused, the bounds on its
// amounts, and the seeded draws of its random points. The rules a document
// sets are pinned one by one in the rule scripts (TestRules).

// springMilk is the campaign document the issue gives, accepted as written.
const springMilk = `{
  "id": "spring-milk",
  "name": "Spring milk powder promotion",
  "products": ["SKU-1"],
  "starts_at": "2026-01-01T00:00:00Z",
  "ends_at": "2030-01-01T00:00:00Z",
  "points": {"min": 5, "max": 20},
  "points_budget": 1000000,
  "new_member_bonus": 50,
  "daily_limit_per_member": 20,
  "coupon": {"title": "Buy one, get one: 400 g can", "probability": 0.5, "stock": 500, "valid_days": 30},
  "guide_commission": {"per_scan": 2, "per_coupon": 5},
  "tiers": [
    {"name": "silver", "min_growth": 100, "multiplier": 1.2},
    {"name": "gold", "min_growth": 1000, "multiplier": 1.5}
  ]
}`

func TestExampleCampaignEndToEnd(t *testing.T) {
	f := newFixture(t, 200, 0)
	v := mustApply(t, f, springMilk)
	if v.Version != 1 || v.Status != "live" {
		t.Fatalf("applied campaign: version %d status %s", v.Version, v.Status)
	}
	rewardtest.MustStore(t, f.eng, "S1")
	g, tok, err := f.eng.AddGuide(reward.Guide{ID: "G1", Store: "S1"})
	if err != nil || tok == "" || g.ID != "G1" {
		t.Fatalf("AddGuide: %v %v", g, err)
	}
	if _, err := f.eng.Bind("mum", "G1", false); err != nil {
		t.Fatal(err)
	}
	res, err := f.scan(f.signer.Code(1), "mum")
	if err != nil {
		t.Fatal(err)
	}
	if res.Bonus != 50 || res.Points < 55 || res.Points > 70 || res.Guide != "G1" || res.Commission != 2 {
		t.Fatalf("first scan: %+v; want bonus 50, 5..20 points on top, guide G1 earning 2", res)
	}
	var coupon string
	for s := uint32(2); s <= 40 && coupon == ""; s++ {
		r, err := f.scan(f.signer.Code(s), "mum")
		if err != nil {
			t.Fatal(err)
		}
		if r.Coupon != nil {
			coupon = r.Coupon.ID
		}
	}
	if coupon == "" {
		t.Fatal("no coupon in 39 scans at probability 0.5")
	}
	if _, err := f.eng.VerifyCoupon(coupon, "G1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.VerifyCoupon(coupon, "G1"); code(err) != reward.CodeAlreadyUsed {
		t.Fatalf("second verification: %v, want already_used", err)
	}
	mustAudit(t, f)
	gv, err := f.eng.GuideByID("G1", 10)
	if err != nil || gv.Verified != 1 || len(gv.BoundMembers) != 1 {
		t.Fatalf("guide view %+v %v", gv, err)
	}
}

// TestCampaignDocuments is a table of campaign documents: the example as
// written, variants accepted, and each way a document is refused.
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

func TestRandomPointsAreSeededDraws(t *testing.T) {
	const n = 200
	doc := func(seed string) string {
		return campaignDoc(t, map[string]any{"points": map[string]any{"min": 5, "max": 20}, "seed": seed})
	}
	a := openFixture(t, n+50, 0, fixtureOptions{sharedKeys: true})
	b := openFixture(t, n+50, 0, fixtureOptions{sharedKeys: true})
	other := openFixture(t, n+50, 0, fixtureOptions{sharedKeys: true})
	if v := mustApply(t, a, doc("seed-one")); v.Seed != "seed-one" {
		t.Fatalf("a document's seed was not kept: %q", v.Seed)
	}
	mustApply(t, b, doc("seed-one"))
	mustApply(t, other, doc("seed-two"))

	seen := map[int64]int{}
	differ := 0
	for s := uint32(1); s <= n; s++ {
		c := a.signer.Code(s)
		if c != b.signer.Code(s) || c != other.signer.Code(s) {
			t.Fatal("fixtures with shared keys mint different codes")
		}
		pa := mustRedeem(t, a, c, "alice").Points
		pb := mustRedeem(t, b, c, fmt.Sprintf("member-%d", s)).Points
		po := mustRedeem(t, other, c, "alice").Points
		if pa != pb {
			t.Fatalf("code %s: %d points in one store, %d in another with the same seed", c, pa, pb)
		}
		if pa < 5 || pa > 20 || po < 5 || po > 20 {
			t.Fatalf("code %s: %d and %d points, outside [5,20]", c, pa, po)
		}
		seen[pa]++
		if pa != po {
			differ++
		}
	}
	if len(seen) != 16 {
		t.Fatalf("%d scans drew only %d distinct values of [5,20]: %v", n, len(seen), seen)
	}
	for v, k := range seen {
		if k > n/16*3 { // 12.5 expected
			t.Errorf("%d drawn %d times of %d: not uniform", v, k, n)
		}
	}
	if differ < n/2 {
		t.Fatalf("another seed changed only %d of %d draws", differ, n)
	}
	// A new version keeps the seed, so draws do not move with it.
	mustApply(t, a, doc("seed-three"))
	for s := uint32(n + 1); s <= n+20; s++ {
		c := a.signer.Code(s)
		if pa, pb := mustRedeem(t, a, c, "alice").Points, mustRedeem(t, b, c, "bob").Points; pa != pb {
			t.Fatalf("after re-applying, code %s draws %d, before %d", c, pa, pb)
		}
	}
	for _, f := range []*fixture{a, b, other} {
		mustAudit(t, f)
	}
}
