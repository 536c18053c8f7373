package reward_test

import (
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

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
