package reward_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

// storeFixture is a campaign that gives every scan a gift, pays guides 5 a
// verification and has counter policy policy; guides G1 and G2 work at
// store-a, G3 at store-b.
func storeFixture(t *testing.T, count uint32, policy string) *fixture {
	t.Helper()
	f := newFixture(t, count, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 1000, "valid_days": 30},
		"guide_commission": map[string]any{"per_coupon": 5},
		"counter_policy":   policy,
	}))
	rewardtest.MustStore(t, f.eng, "store-a")
	rewardtest.MustStore(t, f.eng, "store-b")
	for _, g := range []reward.Guide{{ID: "G1", Store: "store-a"}, {ID: "G2", Store: "store-a"}, {ID: "G3", Store: "store-b"}} {
		if _, _, err := f.eng.AddGuide(g); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestCounterPolicyMemberGuideStore(t *testing.T) {
	f := storeFixture(t, 10, reward.CounterMemberStore)
	if _, err := f.eng.Bind("m1", "G1", false); err != nil {
		t.Fatal(err)
	}
	gift := mustCoupon(t, f, 1, "m1")
	// G3 is at another store: refused, with the store that may, and the
	// coupon stays as it was.
	_, err := f.eng.VerifyCoupon(gift, "G3")
	var re *reward.Error
	if code(err) != reward.CodeWrongStore || !errors.As(err, &re) || re.Details["allowed_store"] != "store-a" || re.Details["store"] != "store-b" {
		t.Fatalf("G3 verifying m1's gift: %v", err)
	}
	if c, _ := f.eng.CouponByID(gift); c.Status != reward.CouponIssued {
		t.Fatalf("a refused verification changed the coupon: %+v", c)
	}
	// G2 works where m1's guide does.
	if _, err := f.eng.VerifyCoupon(gift, "G2"); err != nil {
		t.Fatal(err)
	}
	// A consumer bound to no guide has no store: any store verifies.
	if _, err := f.eng.VerifyCoupon(mustCoupon(t, f, 2, "m2"), "G3"); err != nil {
		t.Fatalf("an unbound consumer's gift at another store: %v", err)
	}
	// The binding that counts is the one at the counter: m1, rebound to
	// G3, is now store-b's.
	if _, err := f.eng.Bind("m1", "G3", true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.VerifyCoupon(mustCoupon(t, f, 3, "m1"), "G1"); code(err) != reward.CodeWrongStore {
		t.Fatalf("store-a verifying the gift of a member now at store-b: %v", err)
	}
	if g, _ := f.eng.GuideByID("G3", 1); g.Commission != 5 || g.Verified != 1 {
		t.Fatalf("G3 after one verification and two refusals: %+v", g.Guide)
	}
	mustAudit(t, f)
}

func TestCounterPolicyAnyStoreIsTheDefault(t *testing.T) {
	f := storeFixture(t, 10, "")
	if _, err := f.eng.Bind("m1", "G1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.VerifyCoupon(mustCoupon(t, f, 1, "m1"), "G3"); err != nil {
		t.Fatalf("another store under the default policy: %v", err)
	}
	mustAudit(t, f)
}

func TestCounterPolicyIsChecked(t *testing.T) {
	f := newFixture(t, 1, 0)
	for _, fields := range []map[string]any{
		{"counter_policy": "nearest_store"},
		{"counter_policy": reward.CounterCampaignRegions},
		{"counter_policy": reward.CounterCampaignRegions, "regions": []string{""}},
	} {
		if _, err := reward.ParseCampaign([]byte(campaignDoc(t, fields))); code(err) != reward.CodeInvalidRequest {
			t.Errorf("campaign with %v: %v", fields, err)
		}
	}
	mustApply(t, f, campaignDoc(t, map[string]any{"counter_policy": reward.CounterMemberStore}))
}

// TestAnotherStoreIsRefusedUnderLoad has every guide of two stores try to
// verify every gift at once, under the member's-store policy: each gift is
// verified once, always by its member's store, and the other store's guide
// earns nothing.
func TestAnotherStoreIsRefusedUnderLoad(t *testing.T) {
	const gifts = 40
	f := storeFixture(t, gifts, reward.CounterMemberStore)
	ids := make([]string, gifts)
	for i := range ids {
		m := fmt.Sprintf("m%02d", i)
		if _, err := f.eng.Bind(m, "G1", false); err != nil {
			t.Fatal(err)
		}
		ids[i] = mustCoupon(t, f, uint32(i+1), m)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins = map[string][]string{}
	)
	for _, g := range []string{"G3", "G1", "G2", "G3"} {
		wg.Go(func() {
			for _, id := range ids {
				_, err := f.eng.VerifyCoupon(id, g)
				switch c := code(err); {
				case err == nil:
					mu.Lock()
					wins[id] = append(wins[id], g)
					mu.Unlock()
				case g == "G3" && c != reward.CodeWrongStore && c != reward.CodeAlreadyUsed:
					t.Errorf("G3 on %s: %v", id, err)
				case g != "G3" && c != reward.CodeAlreadyUsed:
					t.Errorf("%s on %s: %v", g, id, err)
				}
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		if w := wins[id]; len(w) != 1 || w[0] == "G3" {
			t.Errorf("gift %s verified by %v", id, w)
		}
	}
	if g, _ := f.eng.GuideByID("G3", 1); g.Commission != 0 || g.Verified != 0 {
		t.Fatalf("the other store's guide: %+v", g.Guide)
	}
	mustAudit(t, f)
}

func TestCounterPolicyCampaignRegions(t *testing.T) {
	f := newFixture(t, 10, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 1000, "valid_days": 30},
		"guide_commission": map[string]any{"per_coupon": 5},
		"regions":          []string{"east", "north"},
		"counter_policy":   reward.CounterCampaignRegions,
	}))
	for _, s := range []struct{ id, region string }{{"store-e", "east"}, {"store-w", "west"}, {"store-x", ""}} {
		if _, _, err := f.eng.PutStore(s.id, reward.StoreChange{Name: new(s.id), Region: new(s.region)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []reward.Guide{{ID: "GE", Store: "store-e"}, {ID: "GW", Store: "store-w"}, {ID: "GX", Store: "store-x"}} {
		if _, _, err := f.eng.AddGuide(g); err != nil {
			t.Fatal(err)
		}
	}
	gift := mustCoupon(t, f, 1, "m1")
	for _, c := range []struct{ guide, region string }{{"GW", "west"}, {"GX", ""}} {
		_, err := f.eng.VerifyCoupon(gift, c.guide)
		var re *reward.Error
		if code(err) != reward.CodeWrongStore || !errors.As(err, &re) || re.Details["store_region"] != c.region {
			t.Errorf("%s (region %q) verifying: %v", c.guide, c.region, err)
		}
	}
	if _, err := f.eng.VerifyCoupon(gift, "GE"); err != nil {
		t.Fatalf("a store in the campaign's regions: %v", err)
	}
	mustAudit(t, f)
}

// TestCampaignRegionsUnderLoad has guides of stores in the campaign's
// regions (east, north) and out of them (west, a store with no region)
// try to verify every gift at once, under the campaign-regions policy:
// each gift is verified exactly once, always by a store in the regions,
// and the other stores' guides are refused and earn nothing.
func TestCampaignRegionsUnderLoad(t *testing.T) {
	const gifts = 40
	f := newFixture(t, gifts, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 1000, "valid_days": 30},
		"guide_commission": map[string]any{"per_coupon": 5},
		"regions":          []string{"east", "north"},
		"counter_policy":   reward.CounterCampaignRegions,
	}))
	for _, s := range []struct{ id, region string }{{"store-e", "east"}, {"store-n", "north"}, {"store-w", "west"}, {"store-x", ""}} {
		if _, _, err := f.eng.PutStore(s.id, reward.StoreChange{Name: new(s.id), Region: new(s.region)}); err != nil {
			t.Fatal(err)
		}
	}
	in := map[string]bool{"GE1": true, "GE2": true, "GN": true}
	guides := []reward.Guide{{ID: "GE1", Store: "store-e"}, {ID: "GW", Store: "store-w"}, {ID: "GE2", Store: "store-e"}, {ID: "GX", Store: "store-x"}, {ID: "GN", Store: "store-n"}}
	for _, g := range guides {
		if _, _, err := f.eng.AddGuide(g); err != nil {
			t.Fatal(err)
		}
	}
	ids := make([]string, gifts)
	for i := range ids {
		ids[i] = mustCoupon(t, f, uint32(i+1), fmt.Sprintf("m%02d", i))
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins = map[string][]string{}
	)
	for i, g := range guides {
		wg.Go(func() {
			// Each guide starts at another gift, so that every guide meets
			// gifts nobody verified yet.
			for j := range ids {
				id := ids[(j+i*gifts/len(guides))%gifts]
				_, err := f.eng.VerifyCoupon(id, g.ID)
				switch c := code(err); {
				case err == nil:
					mu.Lock()
					wins[id] = append(wins[id], g.ID)
					mu.Unlock()
				case !in[g.ID] && c != reward.CodeWrongStore && c != reward.CodeAlreadyUsed:
					t.Errorf("%s on %s: %v", g.ID, id, err)
				case in[g.ID] && c != reward.CodeAlreadyUsed:
					t.Errorf("%s on %s: %v", g.ID, id, err)
				}
			}
		})
	}
	wg.Wait()
	var total int64
	for _, id := range ids {
		if w := wins[id]; len(w) != 1 || !in[w[0]] {
			t.Errorf("gift %s verified by %v", id, w)
		}
	}
	for _, g := range guides {
		v, err := f.eng.GuideByID(g.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !in[g.ID] && (v.Commission != 0 || v.Verified != 0) {
			t.Errorf("%s of a store outside the regions earned %d on %d gifts", g.ID, v.Commission, v.Verified)
		}
		total += v.Commission
	}
	if total != 5*gifts {
		t.Fatalf("guides earned %d in all, want %d", total, 5*gifts)
	}
	mustAudit(t, f)
}
