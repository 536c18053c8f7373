package reward_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/ksuid"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/store"
)

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

func TestCampaignVersionsApplyToLaterScans(t *testing.T) {
	f := newFixture(t, 10, 3)
	v1 := mustApply(t, f, campaignDoc(t, map[string]any{"points": 5}))
	first := mustRedeem(t, f, f.signer.Code(1), "m")
	if first.Points != 5 || first.Campaign != "promo" {
		t.Fatalf("under version 1: %+v, want 5 points from promo", first)
	}
	f.now = f.now.Add(time.Minute)
	v2 := mustApply(t, f, campaignDoc(t, map[string]any{"points": 50, "seed": "an attempt to reshuffle"}))
	if v2.Version != 2 || v2.Seed != v1.Seed || v2.Seed == "" {
		t.Fatalf("re-applied: version %d seed %q, want version 2 keeping seed %q", v2.Version, v2.Seed, v1.Seed)
	}
	if v2.Counters.RewardedScans != 1 || v2.Counters.PointsPaid != 5 {
		t.Fatalf("a new version lost the counters: %+v", v2.Counters)
	}
	second := mustRedeem(t, f, f.signer.Code(2), "m")
	if second.Points != 50 {
		t.Fatalf("under version 2: %d points, want 50", second.Points)
	}
	if r1, r2 := redemptionOf(t, f, first.Code), redemptionOf(t, f, second.Code); r1.Version != 1 || r2.Version != 2 {
		t.Fatalf("redemptions record campaign versions %d and %d, want 1 and 2", r1.Version, r2.Version)
	}
	// Dropping the product from the campaign takes it out of the index: the
	// batch's own points apply again.
	v3 := mustApply(t, f, campaignDoc(t, map[string]any{"points": 50, "products": []string{"SKU-OTHER"}}))
	third := mustRedeem(t, f, f.signer.Code(3), "m")
	if v3.Version != 3 || third.Points != 3 || third.Campaign != "" {
		t.Fatalf("after the product left the campaign: version %d, scan %+v; want version 3, the batch's 3 points", v3.Version, third)
	}
	if got := mustCampaign(t, f, "promo"); got.Version != 3 || got.Seed != v1.Seed {
		t.Fatalf("campaign view: version %d seed %q", got.Version, got.Seed)
	}
	mustAudit(t, f)
}

// TestCampaignCannotShrinkBelowWhatWasPaid: a new version with a budget or
// stock below what the campaign already paid would turn past, correct
// payouts into an overspend the audit reports. Such a version is refused;
// cutting to exactly what was paid stops the campaign.
func TestCampaignCannotShrinkBelowWhatWasPaid(t *testing.T) {
	f := newFixture(t, 10, 0)
	doc := func(budget, stock int) string {
		return campaignDoc(t, map[string]any{
			"points": 30, "points_budget": budget,
			"coupon": map[string]any{"title": "gift", "probability": 1, "stock": stock, "valid_days": 30},
		})
	}
	mustApply(t, f, doc(100, 3))
	mustRedeem(t, f, f.signer.Code(1), "m")
	mustRedeem(t, f, f.signer.Code(2), "m")
	for name, d := range map[string]string{"budget below paid": doc(50, 3), "stock below issued": doc(100, 1)} {
		c, err := reward.ParseCampaign([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.eng.ApplyCampaign(c); code(err) != reward.CodeInvalidRequest {
			t.Fatalf("%s: %v, want %s", name, err, reward.CodeInvalidRequest)
		}
	}
	if v := mustCampaign(t, f, "promo"); v.Version != 1 {
		t.Fatalf("a refused version was stored: version %d", v.Version)
	}
	mustAudit(t, f)
	if v := mustApply(t, f, doc(60, 2)); v.Version != 2 || *v.PointsLeft != 0 || *v.CouponsLeft != 0 {
		t.Fatalf("cut to what was paid: %+v", v)
	}
	wantRefused(t, f, f.signer.Code(3), "m", reward.CodeBudgetExhausted)
	mustApply(t, f, doc(0, 2)) // no budget: pays again, without coupons
	if res := mustRedeem(t, f, f.signer.Code(3), "m"); res.Points != 30 || res.Coupon != nil {
		t.Fatalf("after lifting the budget: %+v", res)
	}
	mustAudit(t, f)
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

func TestTierMultiplier(t *testing.T) {
	f := newFixture(t, 200, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"points": 7,
		"tiers": []map[string]any{
			{"name": "silver", "min_growth": 100, "multiplier": 1.2},
			{"name": "gold", "min_growth": 1000, "multiplier": 1.5},
		},
	}))
	var balance int64
	tiers := map[string]int{}
	for i := int64(1); i <= 146; i++ {
		before := 7 * (i - 1) // growth accumulates by the base points
		want, tier := int64(7), ""
		switch {
		case before >= 1000:
			want, tier = 11, "gold" // 10.5 rounds up
		case before >= 100:
			want, tier = 8, "silver" // 8.4 rounds down
		}
		res := mustRedeem(t, f, f.signer.Code(uint32(i)), "m")
		balance += want
		if res.Points != want || res.Tier != tier || res.Growth != 7 || res.Balance != balance {
			t.Fatalf("scan %d at growth %d: points %d tier %q growth added %d balance %d; want %d %q 7 %d",
				i, before, res.Points, res.Tier, res.Growth, res.Balance, want, tier, balance)
		}
		tiers[tier]++
	}
	if tiers[""] != 15 || tiers["silver"] != 128 || tiers["gold"] != 3 {
		t.Fatalf("scans per tier %v", tiers)
	}
	// Tiers belong to the member, not the campaign's history.
	if res := mustRedeem(t, f, f.signer.Code(200), "newcomer"); res.Points != 7 || res.Tier != "" {
		t.Fatalf("a new member got %d points in tier %q", res.Points, res.Tier)
	}
	mustAudit(t, f)
}

func TestNewMemberBonusOnlyOnFirstRedemption(t *testing.T) {
	f := newFixture(t, 20, 0)
	other, err := f.eng.CreateBatch(reward.BatchSpec{Product: "SKU-2", Count: 5, Points: new(int64(3)), Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	os, _ := f.eng.Signer(other)
	mustApply(t, f, campaignDoc(t, map[string]any{"points": 10, "new_member_bonus": 50}))

	res := mustRedeem(t, f, f.signer.Code(1), "ann")
	if res.Points != 60 || res.Bonus != 50 || res.Balance != 60 || res.Growth != 10 {
		t.Fatalf("first redemption: %+v, want 10 + 50 bonus, growth 10", res)
	}
	var reasons []string
	for _, en := range ledgerOf(t, f.db, "l/", "ann") {
		reasons = append(reasons, fmt.Sprintf("%s %s %+d", en.Reason, en.Account, en.Delta))
	}
	if want := []string{"scan points +10", "new_member_bonus points +50", "scan growth +10"}; !slices.Equal(reasons, want) {
		t.Fatalf("ledger %q, want %q", reasons, want)
	}
	if res := mustRedeem(t, f, f.signer.Code(2), "ann"); res.Points != 10 || res.Bonus != 0 {
		t.Fatalf("second redemption: %+v, want 10 and no bonus", res)
	}
	// A refused scan is no redemption: the bonus waits for the first one.
	wantRefused(t, f, f.signer.Code(1), "bob", reward.CodeAlreadyRedeemed)
	if res := mustRedeem(t, f, f.signer.Code(3), "bob"); res.Bonus != 50 {
		t.Fatalf("bob's first redemption after a 409: %+v, want the bonus", res)
	}
	// A redemption outside the campaign is a redemption all the same.
	if res := mustRedeem(t, f, os.Code(1), "cat"); res.Points != 3 {
		t.Fatalf("outside the campaign: %+v", res)
	}
	if res := mustRedeem(t, f, f.signer.Code(4), "cat"); res.Bonus != 0 || res.Points != 10 {
		t.Fatalf("cat's first campaign scan after an earlier redemption: %+v, want no bonus", res)
	}
	// Another identity of a member is not a new member.
	if _, err := f.eng.LinkAlias("ann", "ann-phone"); err != nil {
		t.Fatal(err)
	}
	if res := mustRedeem(t, f, f.signer.Code(5), "ann-phone"); res.Bonus != 0 || res.Member != "ann" {
		t.Fatalf("scan under ann's alias: %+v, want ann credited without a bonus", res)
	}
	mustAudit(t, f)
}

func TestDailyLimitPerMember(t *testing.T) {
	day := func(d, h, m, s int) time.Time { return time.Date(2026, 5, d, h, m, s, 0, time.UTC) }
	for _, c := range []struct {
		zone              string
		stillToday, after time.Time
	}{
		{"", day(1, 23, 30, 0), day(2, 0, 0, 0)},
		// Shanghai is UTC+8: its May 2 begins at 16:00 UTC on May 1, so
		// 23:30 UTC is already the next day there.
		{"Asia/Shanghai", day(1, 15, 59, 59), day(1, 23, 30, 0)},
	} {
		t.Run("zone="+c.zone, func(t *testing.T) {
			f := newFixture(t, 10, 0)
			mustApply(t, f, campaignDoc(t, map[string]any{"daily_limit_per_member": 2, "timezone": c.zone}))
			f.now = day(1, 10, 0, 0)
			mustRedeem(t, f, f.signer.Code(1), "m")
			mustRedeem(t, f, f.signer.Code(2), "m")
			limited := f.signer.Code(3)
			err := wantRefused(t, f, limited, "m", reward.CodeDailyLimit)
			var re *reward.Error
			if !errors.As(err, &re) || re.Details["limit"] != 2 {
				t.Fatalf("refusal details %+v, want the limit", re)
			}
			if isRedeemed(t, f, limited) {
				t.Fatal("a code refused for the daily limit was redeemed")
			}
			// The limit is the person's, whatever identity they scan with,
			// and only theirs.
			if _, err := f.eng.LinkAlias("m", "m-card"); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, f, limited, "m-card", reward.CodeDailyLimit)
			mustRedeem(t, f, f.signer.Code(4), "n")

			f.now = c.stillToday
			wantRefused(t, f, limited, "m", reward.CodeDailyLimit)
			f.now = c.after
			if res := mustRedeem(t, f, limited, "m"); res.Points != 10 {
				t.Fatalf("next day: %+v", res)
			}
			if v := mustMember(t, f, "m"); v.Points != 30 || v.Redemptions != 3 {
				t.Fatalf("member after three days' scans: %d points, %d redemptions", v.Points, v.Redemptions)
			}
			mustAudit(t, f)
		})
	}
}

// TestDailyLimitPerDevice caps rewarded scans per device whatever member
// ids the device scans under; scans naming no device, or another device,
// are not held back, and the next day the device earns again.
func TestDailyLimitPerDevice(t *testing.T) {
	f := newFixture(t, 10, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{"daily_limit_per_device": 2}))
	f.now = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	scanOn := func(serial uint32, member, device string) error {
		_, err := f.eng.Scan(reward.ScanRequest{Code: f.signer.Code(serial), Member: member, Device: device})
		return err
	}
	for i, m := range []string{"a", "b"} {
		if err := scanOn(uint32(i+1), m, "phone-1"); err != nil {
			t.Fatalf("scan %d on phone-1: %v", i+1, err)
		}
	}
	err := scanOn(3, "c", "phone-1")
	var re *reward.Error
	if !errors.As(err, &re) || re.Code != reward.CodeDailyLimit || re.Details["per"] != "device" {
		t.Fatalf("a third member on phone-1: %v, want daily_limit per device", err)
	}
	if isRedeemed(t, f, f.signer.Code(3)) {
		t.Fatal("a code refused for the device's limit was redeemed")
	}
	if err := scanOn(4, "c", "phone-2"); err != nil {
		t.Fatalf("another device: %v", err)
	}
	if err := scanOn(5, "d", ""); err != nil {
		t.Fatalf("a scan naming no device: %v", err)
	}
	f.now = f.now.AddDate(0, 0, 1)
	if err := scanOn(3, "c", "phone-1"); err != nil {
		t.Fatalf("phone-1 the next day: %v", err)
	}
	mustAudit(t, f)
	if _, err := reward.ParseCampaign([]byte(campaignDoc(t, map[string]any{"daily_limit_per_device": -1}))); code(err) != reward.CodeInvalidRequest {
		t.Fatalf("a negative device limit: %v", err)
	}
}

func TestCampaignWindow(t *testing.T) {
	f := newFixture(t, 10, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{"starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-07-01T00:00:00Z"}))
	early := f.signer.Code(1)
	wantRefused(t, f, early, "m", reward.CodeCampaignNotStarted)
	if st, _ := f.eng.Status(early); st.Redeemed || st.Scans != 1 {
		t.Fatalf("before the start: %+v, want one counted scan and no redemption", st)
	}
	if _, err := f.eng.Member("m", "", 1); code(err) != reward.CodeNotFound {
		t.Fatalf("a refused scan created the member: %v", err)
	}
	if v := mustCampaign(t, f, "promo"); v.Status != "scheduled" {
		t.Fatalf("status %s before the start", v.Status)
	}

	f.now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) // starts_at is inclusive
	if res := mustRedeem(t, f, early, "m"); res.Points != 10 {
		t.Fatalf("at the start: %+v", res)
	}
	f.now = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC) // ends_at is not
	late := f.signer.Code(2)
	wantRefused(t, f, late, "m", reward.CodeCampaignEnded)
	if isRedeemed(t, f, late) {
		t.Fatal("a code refused after the end was redeemed")
	}
	if v := mustCampaign(t, f, "promo"); v.Status != "ended" {
		t.Fatalf("status %s after the end", v.Status)
	}
	// With an ended and a coming campaign, the consumer hears of the coming one.
	mustApply(t, f, campaignDoc(t, map[string]any{"id": "autumn", "starts_at": "2026-09-01T00:00:00Z", "ends_at": "2026-10-01T00:00:00Z"}))
	wantRefused(t, f, late, "m", reward.CodeCampaignNotStarted)
	mustAudit(t, f)
}

func TestPointsBudget(t *testing.T) {
	t.Run("remainder then refusal", func(t *testing.T) {
		f := newFixture(t, 10, 0)
		mustApply(t, f, campaignDoc(t, map[string]any{"points": 30, "points_budget": 100}))
		for s := uint32(1); s <= 3; s++ {
			if res := mustRedeem(t, f, f.signer.Code(s), "m"); res.Points != 30 || len(res.Notes) != 0 {
				t.Fatalf("scan %d within budget: %+v", s, res)
			}
		}
		res := mustRedeem(t, f, f.signer.Code(4), "m")
		if res.Points != 10 || !slices.Equal(res.Notes, []string{reward.NotePointsBudgetPartial}) {
			t.Fatalf("scan at the edge of the budget: %d points notes %q, want the 10 left and %q", res.Points, res.Notes, reward.NotePointsBudgetPartial)
		}
		refused := f.signer.Code(5)
		wantRefused(t, f, refused, "m", reward.CodeBudgetExhausted)
		if isRedeemed(t, f, refused) {
			t.Fatal("a code refused for the budget was redeemed")
		}
		v := mustCampaign(t, f, "promo")
		if v.Counters.PointsPaid != 100 || *v.PointsLeft != 0 || v.Counters.RewardedScans != 4 {
			t.Fatalf("counters %+v, points left %d; want exactly the budget paid", v.Counters, *v.PointsLeft)
		}
		mustAudit(t, f)
		// A void gives its points back to the budget.
		if _, err := f.eng.VoidRedemption(f.signer.Code(2), "fraud"); err != nil {
			t.Fatal(err)
		}
		if v := mustCampaign(t, f, "promo"); *v.PointsLeft != 30 {
			t.Fatalf("after a void, %d points left, want 30", *v.PointsLeft)
		}
		if res := mustRedeem(t, f, refused, "m"); res.Points != 30 || len(res.Notes) != 0 {
			t.Fatalf("the refused code after a void: %+v", res)
		}
		if v := mustCampaign(t, f, "promo"); v.Counters.PointsPaid != 100 {
			t.Fatalf("points paid %d, want 100", v.Counters.PointsPaid)
		}
		mustAudit(t, f)
	})
	t.Run("bonus cut before points", func(t *testing.T) {
		f := newFixture(t, 10, 0)
		mustApply(t, f, campaignDoc(t, map[string]any{"points": 30, "points_budget": 100, "new_member_bonus": 50}))
		if res := mustRedeem(t, f, f.signer.Code(1), "m1"); res.Points != 80 {
			t.Fatalf("first member: %+v", res)
		}
		res := mustRedeem(t, f, f.signer.Code(2), "m2")
		if res.Points != 20 || res.Bonus != 0 || !slices.Contains(res.Notes, reward.NotePointsBudgetPartial) {
			t.Fatalf("second member with 20 left: %+v, want 20 points and no bonus", res)
		}
		wantRefused(t, f, f.signer.Code(3), "m3", reward.CodeBudgetExhausted)
		if _, err := f.eng.Member("m3", "", 1); code(err) != reward.CodeNotFound {
			t.Fatalf("a refused member got an account: %v", err)
		}
		if v := mustCampaign(t, f, "promo"); v.Counters.PointsPaid != 100 {
			t.Fatalf("points paid %d, want exactly the budget", v.Counters.PointsPaid)
		}
		mustAudit(t, f)
	})
}

func TestCouponStock(t *testing.T) {
	t.Run("stock runs out", func(t *testing.T) {
		f := newFixture(t, 10, 0)
		mustApply(t, f, campaignDoc(t, map[string]any{"coupon": map[string]any{"title": "gift", "probability": 1, "stock": 3, "valid_days": 30}}))
		var ids []string
		for s := uint32(1); s <= 3; s++ {
			res := mustRedeem(t, f, f.signer.Code(s), "m")
			if res.Coupon == nil || res.Coupon.Title != "gift" || !res.Coupon.ExpiresAt.Equal(f.now.AddDate(0, 0, 30)) || len(res.Notes) != 0 {
				t.Fatalf("scan %d: %+v coupon %+v, want a gift valid 30 days", s, res, res.Coupon)
			}
			if _, err := ksuid.Parse(res.Coupon.ID); err != nil || slices.Contains(ids, res.Coupon.ID) {
				t.Fatalf("coupon id %q: %v (ids so far %q)", res.Coupon.ID, err, ids)
			}
			ids = append(ids, res.Coupon.ID)
		}
		res, raw, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(4), Member: "m"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Coupon != nil || !strings.Contains(string(raw), `"coupon":null`) || !slices.Equal(res.Notes, []string{reward.NoteCouponStockExhausted}) || res.Points != 10 {
			t.Fatalf("scan after the stock ran out: %s", raw)
		}
		v := mustCampaign(t, f, "promo")
		if v.Counters.CouponsIssued != 3 || *v.CouponsLeft != 0 {
			t.Fatalf("counters %+v, coupons left %d", v.Counters, *v.CouponsLeft)
		}
		// A voided coupon goes back to the stock.
		if _, err := f.eng.VoidCoupon(ids[0], "printed twice"); err != nil {
			t.Fatal(err)
		}
		if v := mustCampaign(t, f, "promo"); *v.CouponsLeft != 1 {
			t.Fatalf("after a void, %d coupons left, want 1", *v.CouponsLeft)
		}
		if res := mustRedeem(t, f, f.signer.Code(5), "m"); res.Coupon == nil {
			t.Fatalf("no coupon from the returned stock: %+v", res)
		}
		mustAudit(t, f)
	})
	t.Run("probability zero", func(t *testing.T) {
		f := newFixture(t, 40, 0)
		mustApply(t, f, campaignDoc(t, map[string]any{"coupon": map[string]any{"title": "gift", "probability": 0, "stock": 100, "valid_days": 30}}))
		for s := uint32(1); s <= 40; s++ {
			if res := mustRedeem(t, f, f.signer.Code(s), "m"); res.Coupon != nil || len(res.Notes) != 0 {
				t.Fatalf("scan %d at probability 0: %+v", s, res)
			}
		}
		if v := mustCampaign(t, f, "promo"); v.Counters.CouponsIssued != 0 {
			t.Fatalf("counters %+v", v.Counters)
		}
		mustAudit(t, f)
	})
}

// couponFixture is a campaign that gives every scan a 30-day gift and pays
// guides 5 a verification, with guides G1 and G2 (whose own consumer
// identity is "g2-self").
func couponFixture(t *testing.T, count uint32) *fixture {
	t.Helper()
	f := newFixture(t, count, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 1000, "valid_days": 30},
		"guide_commission": map[string]any{"per_coupon": 5},
	}))
	mustGuide(t, f, "G1", "")
	mustGuide(t, f, "G2", "g2-self")
	return f
}

func mustCoupon(t *testing.T, f *fixture, serial uint32, member string) string {
	t.Helper()
	res := mustRedeem(t, f, f.signer.Code(serial), member)
	if res.Coupon == nil {
		t.Fatalf("scan %d gave no coupon", serial)
	}
	return res.Coupon.ID
}

func TestCouponVerification(t *testing.T) {
	f := couponFixture(t, 10)
	used := mustCoupon(t, f, 1, "m")
	c, err := f.eng.VerifyCoupon(used, "G2")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != reward.CouponUsed || c.UsedBy != "G2" || c.Commission != 5 || !c.UsedAt.Equal(f.now) {
		t.Fatalf("verified coupon %+v", c)
	}
	gv, err := f.eng.GuideByID("G2", 10)
	if err != nil {
		t.Fatal(err)
	}
	if gv.Commission != 5 || gv.Verified != 1 || len(gv.Ledger) != 1 || gv.Ledger[0].Reason != "coupon_commission" || gv.Ledger[0].Coupon != used {
		t.Fatalf("guide after verifying: %+v", gv)
	}
	mustAudit(t, f)
	for _, g := range []string{"G2", "G1"} {
		if _, err := f.eng.VerifyCoupon(used, g); code(err) != reward.CodeAlreadyUsed {
			t.Fatalf("second verification by %s: %v, want %s", g, err, reward.CodeAlreadyUsed)
		}
	}
	if _, err := f.eng.VerifyCoupon(ksuid.New().String(), "G1"); code(err) != reward.CodeNotFound {
		t.Fatalf("unknown coupon: %v", err)
	}
	fresh := mustCoupon(t, f, 2, "m")
	if _, err := f.eng.VerifyCoupon(fresh, "nobody"); code(err) != reward.CodeUnknownGuide {
		t.Fatalf("verification by an unknown guide: %v", err)
	}
	expiring := mustCoupon(t, f, 3, "m")
	voided := mustCoupon(t, f, 4, "m")
	if _, err := f.eng.VoidCoupon(voided, "lost"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.VerifyCoupon(voided, "G1"); code(err) != reward.CodeCouponVoid {
		t.Fatalf("voided coupon: %v, want %s", err, reward.CodeCouponVoid)
	}

	start := f.now
	f.now = start.AddDate(0, 0, 30).Add(-time.Second)
	if _, err := f.eng.VerifyCoupon(fresh, "G1"); err != nil {
		t.Fatalf("on its last second: %v", err)
	}
	f.now = start.AddDate(0, 0, 30)
	if _, err := f.eng.VerifyCoupon(expiring, "G1"); code(err) != reward.CodeExpired {
		t.Fatalf("after valid_days: %v, want %s", err, reward.CodeExpired)
	}
	if cp, _ := f.eng.CouponByID(expiring); cp.Status != reward.CouponIssued {
		t.Fatalf("an expired verification changed the coupon: %+v", cp)
	}

	// A guide earns nothing on their own gift.
	f.now = start
	own := mustCoupon(t, f, 5, "g2-self")
	if c, err := f.eng.VerifyCoupon(own, "G2"); err != nil || c.Commission != 0 {
		t.Fatalf("guide verifying their own gift: %+v %v, want no commission", c, err)
	}
	v := mustCampaign(t, f, "promo")
	if v.Counters.CouponsUsed != 3 || v.Counters.Commission != 10 || v.Counters.CouponsIssued != 4 {
		t.Fatalf("counters %+v, want 3 used, 10 commission, 4 issued (one voided)", v.Counters)
	}
	mustAudit(t, f)
}

func TestGuides(t *testing.T) {
	f := newFixture(t, 20, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{"guide_commission": map[string]any{"per_scan": 2}}))
	mustGuide(t, f, "G1", "")
	mustGuide(t, f, "G2", "g2-self")
	if _, _, err := f.eng.AddGuide(reward.Guide{ID: "G1", Store: "elsewhere"}); code(err) != reward.CodeGuideExists {
		t.Fatalf("adding G1 twice: %v", err)
	}

	// The first binding wins; only a rebind moves a member.
	if _, err := f.eng.Bind("m1", "G1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Bind("m1", "G1", false); err != nil {
		t.Fatalf("binding again to the same guide: %v", err)
	}
	if _, err := f.eng.Bind("m1", "G2", false); code(err) != reward.CodeAlreadyBound {
		t.Fatalf("binding to another guide: %v, want %s", err, reward.CodeAlreadyBound)
	}
	if _, err := f.eng.Bind("m2", "nobody", false); code(err) != reward.CodeUnknownGuide {
		t.Fatalf("binding to an unknown guide: %v", err)
	}
	if _, err := f.eng.Bind("g2-self", "G2", false); code(err) != reward.CodeInvalidRequest {
		t.Fatalf("binding a guide to themselves: %v", err)
	}
	if _, err := f.eng.Bind("m2", "G1", false); err != nil {
		t.Fatal(err)
	}
	m, err := f.eng.Bind("m2", "G2", true)
	if err != nil || m.Guide != "G2" {
		t.Fatalf("rebind: %+v %v", m, err)
	}
	g1, _ := f.eng.GuideByID("G1", 10)
	g2, _ := f.eng.GuideByID("G2", 10)
	if !slices.Equal(g1.BoundMembers, []string{"m1"}) || g1.Members != 1 || !slices.Equal(g2.BoundMembers, []string{"m2"}) || g2.Members != 1 {
		t.Fatalf("after a rebind: G1 %v (%d), G2 %v (%d)", g1.BoundMembers, g1.Members, g2.BoundMembers, g2.Members)
	}

	type scan struct {
		member, guide  string
		wantGuide      string
		wantCommission int64
		wantNotes      []string
	}
	for i, s := range []scan{
		{"m1", "", "G1", 2, nil},
		{"m1", "G2", "G1", 2, nil}, // the binding beats the scan's guide
		{"m3", "G2", "G2", 2, nil}, // an unbound member: the scan's guide
		{"m4", "", "", 0, nil},
		{"m5", "ghost", "", 0, []string{reward.NoteUnknownGuide}},
		{"g2-self", "G2", "G2", 0, []string{reward.NoteSelfCommission}},
	} {
		res, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(uint32(i + 1)), Member: s.member, Guide: s.guide})
		if err != nil {
			t.Fatal(err)
		}
		if res.Guide != s.wantGuide || res.Commission != s.wantCommission || !slices.Equal(res.Notes, s.wantNotes) || res.Points != 10 {
			t.Fatalf("scan by %s with guide %q: guide %q commission %d notes %q; want %q %d %q",
				s.member, s.guide, res.Guide, res.Commission, res.Notes, s.wantGuide, s.wantCommission, s.wantNotes)
		}
	}
	g1, _ = f.eng.GuideByID("G1", 10)
	g2, _ = f.eng.GuideByID("G2", 10)
	if g1.Commission != 4 || len(g1.Ledger) != 2 || g2.Commission != 2 || len(g2.Ledger) != 1 {
		t.Fatalf("commissions: G1 %d %v, G2 %d %v", g1.Commission, g1.Ledger, g2.Commission, g2.Ledger)
	}
	for _, en := range slices.Concat(g1.Ledger, g2.Ledger) {
		if en.Reason != "scan_commission" || en.Account != reward.AccountCommission || en.Delta != 2 || en.Code == "" || en.Campaign != "promo" {
			t.Fatalf("commission entry %+v", en)
		}
	}
	if g1.Ledger[0].Seq != 2 || g1.Ledger[0].Balance != 4 {
		t.Fatalf("guide ledger is not newest first: %+v", g1.Ledger)
	}
	mustAudit(t, f)
}

// TestNoCommissionOnOwnScansThroughAliases: a guide's own consumer identity
// is a person, and a person has several ids. Whichever id the guide
// registered with and whichever they scan or receive a gift under, they earn
// nothing from themselves.
func TestNoCommissionOnOwnScansThroughAliases(t *testing.T) {
	f := newFixture(t, 20, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"guide_commission": map[string]any{"per_scan": 2, "per_coupon": 5},
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 100, "valid_days": 30},
	}))
	// G3 registered with a phone number that is an alias of "g3-main".
	if _, err := f.eng.LinkAlias("g3-main", "g3-phone"); err != nil {
		t.Fatal(err)
	}
	mustGuide(t, f, "G3", "g3-phone")
	// G4 registered with the main id and scans under an alias.
	mustGuide(t, f, "G4", "g4-main")
	if _, err := f.eng.LinkAlias("g4-main", "g4-card"); err != nil {
		t.Fatal(err)
	}
	for i, s := range [][2]string{{"g3-main", "G3"}, {"g3-phone", "G3"}, {"g4-main", "G4"}, {"g4-card", "G4"}} {
		res, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(uint32(i + 1)), Member: s[0], Guide: s[1]})
		if err != nil {
			t.Fatal(err)
		}
		if res.Commission != 0 || !slices.Contains(res.Notes, reward.NoteSelfCommission) {
			t.Fatalf("%s scanning with their own guide id %s: commission %d notes %q", s[0], s[1], res.Commission, res.Notes)
		}
		if c, err := f.eng.VerifyCoupon(res.Coupon.ID, s[1]); err != nil || c.Commission != 0 {
			t.Fatalf("%s verifying their own gift: %+v %v", s[1], c, err)
		}
	}
	for _, m := range []string{"g3-main", "g3-phone"} {
		if _, err := f.eng.Bind(m, "G3", false); code(err) != reward.CodeInvalidRequest {
			t.Fatalf("binding %s to G3, themselves: %v", m, err)
		}
	}
	for _, g := range []string{"G3", "G4"} {
		if gv, _ := f.eng.GuideByID(g, 10); gv.Commission != 0 || len(gv.Ledger) != 0 {
			t.Fatalf("%s earned on their own scans: %+v", g, gv)
		}
	}
	mustAudit(t, f)
}

func TestLedgerEntries(t *testing.T) {
	f := couponFixture(t, 20)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"new_member_bonus": 20,
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 1000, "valid_days": 30},
		"guide_commission": map[string]any{"per_scan": 2, "per_coupon": 5},
	}))
	if _, err := f.eng.Bind("m", "G1", false); err != nil {
		t.Fatal(err)
	}
	var coupons []string
	for s := uint32(1); s <= 4; s++ {
		f.now = f.now.Add(time.Minute)
		coupons = append(coupons, mustRedeem(t, f, f.signer.Code(s), "m").Coupon.ID)
	}
	f.now = f.now.Add(time.Minute)
	if _, err := f.eng.VerifyCoupon(coupons[0], "G2"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Spend("m", reward.SpendRequest{Points: 15, Reason: "mug", RequestID: "spend-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.VoidRedemption(f.signer.Code(2), "returned"); err != nil {
		t.Fatal(err)
	}

	check := func(holder string, entries []reward.Entry, balances map[string]int64) {
		t.Helper()
		sums := map[string]int64{}
		for i, en := range entries {
			if _, err := ksuid.Parse(en.ID); err != nil {
				t.Fatalf("%s entry %d: id %q is not a ksuid: %v", holder, i, en.ID, err)
			}
			if en.At.IsZero() {
				t.Fatalf("%s entry %+v has no time", holder, en)
			}
			if en.Reason == "" || (en.Code == "" && en.Coupon == "" && en.Request == "") {
				t.Fatalf("%s entry %+v has no reason or no origin (code, coupon or request)", holder, en)
			}
			if en.Seq != uint64(i+1) {
				t.Fatalf("%s entry %d has seq %d", holder, i, en.Seq)
			}
			sums[en.Account] += en.Delta
			if en.Balance != sums[en.Account] {
				t.Fatalf("%s entry %+v: balance %d, the entries sum to %d", holder, en, en.Balance, sums[en.Account])
			}
		}
		for acct, want := range balances {
			if sums[acct] != want {
				t.Fatalf("%s %s balance %d, its ledger sums to %d", holder, acct, want, sums[acct])
			}
		}
	}
	mv := mustMember(t, f, "m")
	entries := ledgerOf(t, f.db, "l/", "m")
	check("m", entries, map[string]int64{reward.AccountPoints: mv.Points, reward.AccountGrowth: mv.Growth})
	// scan+bonus+growth, then scan+growth three times, a spend, a void of two.
	if len(entries) != 12 || mv.Points != 10*3+20-15 || mv.Growth != 30 {
		t.Fatalf("member: %d entries, %d points, %d growth", len(entries), mv.Points, mv.Growth)
	}
	// The API pages the same ledger newest first.
	var paged []reward.Entry
	for cursor := ""; ; {
		v, err := f.eng.Member("m", cursor, 5)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, v.Ledger...)
		if cursor = v.Next; cursor == "" {
			break
		}
	}
	slices.Reverse(paged)
	if !slices.EqualFunc(paged, entries, func(a, b reward.Entry) bool { return a.ID == b.ID }) {
		t.Fatalf("paged ledger differs from the stored one")
	}
	for _, g := range []string{"G1", "G2"} {
		gv, _ := f.eng.GuideByID(g, 100)
		check(g, ledgerOf(t, f.db, "gl/", g), map[string]int64{reward.AccountCommission: gv.Commission})
	}
	if g1, _ := f.eng.GuideByID("G1", 100); g1.Commission != 2*3 {
		t.Fatalf("G1 earned %d, want 2 for each of 3 scans that stand", g1.Commission)
	}
	mustAudit(t, f)
}

func TestSpend(t *testing.T) {
	f := newFixture(t, 10, 100)
	mustRedeem(t, f, f.signer.Code(1), "m")
	spend := func(points int64, reason, id string) (reward.SpendResult, json.RawMessage, error) {
		raw, err := f.eng.Spend("m", reward.SpendRequest{Points: points, Reason: reason, RequestID: id})
		var res reward.SpendResult
		if err == nil {
			json.Unmarshal(raw, &res)
		}
		return res, raw, err
	}
	res, first, err := spend(30, "mug", "r1")
	if err != nil || res.Balance != 70 || res.Points != 30 {
		t.Fatalf("spend: %s %v", first, err)
	}
	f.now = f.now.Add(time.Hour)
	if _, again, err := spend(30, "mug", "r1"); err != nil || string(again) != string(first) {
		t.Fatalf("replay: %s %v, want the stored answer %s", again, err, first)
	}
	for name, c := range map[string]struct {
		points int64
		reason string
	}{"other points": {31, "mug"}, "other reason": {30, "cup"}} {
		if _, _, err := spend(c.points, c.reason, "r1"); code(err) != reward.CodeIdempotencyReused {
			t.Fatalf("%s under a used request_id: %v", name, err)
		}
	}
	if _, _, err := spend(71, "tv", "r2"); code(err) != reward.CodeInsufficientPoints {
		t.Fatalf("overspend: %v", err)
	}
	if v := mustMember(t, f, "m"); v.Points != 70 || v.Seq != 2 {
		t.Fatalf("a refused spend changed the member: %+v", v.Member)
	}
	if res, _, err := spend(70, "tv", "r3"); err != nil || res.Balance != 0 {
		t.Fatalf("spending everything: %+v %v", res, err)
	}
	if _, _, err := spend(1, "sticker", "r4"); code(err) != reward.CodeInsufficientPoints {
		t.Fatalf("spend from zero: %v", err)
	}
	for name, req := range map[string]reward.SpendRequest{
		"zero points":     {Points: 0, Reason: "x", RequestID: "r5"},
		"negative points": {Points: -5, Reason: "x", RequestID: "r5"},
		"no request id":   {Points: 1, Reason: "x"},
		"no reason":       {Points: 1, RequestID: "r5"},
	} {
		if _, err := f.eng.Spend("m", req); code(err) != reward.CodeInvalidRequest {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := f.eng.Spend("stranger", reward.SpendRequest{Points: 1, Reason: "x", RequestID: "r6"}); code(err) != reward.CodeNotFound {
		t.Fatalf("spend by a member with no account: %v", err)
	}
	// A spend under an alias debits the member.
	mustRedeem(t, f, f.signer.Code(2), "m")
	if _, err := f.eng.LinkAlias("m", "m-phone"); err != nil {
		t.Fatal(err)
	}
	raw, err := f.eng.Spend("m-phone", reward.SpendRequest{Points: 40, Reason: "mug", RequestID: "r7"})
	if err != nil || !strings.Contains(string(raw), `"member":"m"`) {
		t.Fatalf("spend under an alias: %s %v", raw, err)
	}
	if v := mustMember(t, f, "m"); v.Points != 60 {
		t.Fatalf("after a spend under an alias: %d points, want 60", v.Points)
	}
	mustAudit(t, f)
}

func TestVoidRedemption(t *testing.T) {
	f := newFixture(t, 10, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"new_member_bonus": 5,
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 10, "valid_days": 30},
		"guide_commission": map[string]any{"per_scan": 2, "per_coupon": 5},
	}))
	mustGuide(t, f, "G1", "")
	for _, m := range []string{"m1", "m2", "m3"} {
		if _, err := f.eng.Bind(m, "G1", false); err != nil {
			t.Fatal(err)
		}
	}
	c1 := f.signer.Code(1)
	res := mustRedeem(t, f, c1, "m1")
	if res.Points != 15 || res.Commission != 2 || res.Coupon == nil {
		t.Fatalf("scan: %+v", res)
	}
	mustAudit(t, f)
	r, err := f.eng.VoidRedemption(c1, "counterfeit")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Voided || r.VoidReason != "counterfeit" || !r.VoidedAt.Equal(f.now) {
		t.Fatalf("voided redemption %+v", r)
	}
	var got []string
	for _, en := range ledgerOf(t, f.db, "l/", "m1") {
		got = append(got, fmt.Sprintf("%s %+d %s", en.Account, en.Delta, en.Reason))
	}
	want := []string{
		"points +10 scan", "points +5 new_member_bonus", "growth +10 scan",
		// newest first: the void reverses from the latest entry back
		"growth -10 void: counterfeit", "points -5 void: counterfeit", "points -10 void: counterfeit",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("member ledger %q, want %q", got, want)
	}
	if g, _ := f.eng.GuideByID("G1", 10); g.Commission != 0 || len(g.Ledger) != 2 || g.Ledger[0].Delta != -2 {
		t.Fatalf("guide after the void: %+v", g)
	}
	if cp, _ := f.eng.CouponByID(res.Coupon.ID); cp.Status != reward.CouponVoid {
		t.Fatalf("the redemption's unused coupon: %+v, want void", cp)
	}
	if v := mustCampaign(t, f, "promo"); v.Counters != (reward.CampaignCounters{}) {
		t.Fatalf("counters after voiding the only scan: %+v", v.Counters)
	}
	if v := mustMember(t, f, "m1"); v.Points != 0 || v.Growth != 0 {
		t.Fatalf("member after the void: %+v", v.Member)
	}
	mustAudit(t, f)
	if !isRedeemed(t, f, c1) {
		t.Fatal("a voided code reads as not redeemed")
	}
	wantRefused(t, f, c1, "m2", reward.CodeAlreadyRedeemed)
	if _, err := f.eng.VoidRedemption(c1, "again"); code(err) != reward.CodeAlreadyVoided {
		t.Fatalf("second void: %v", err)
	}
	if _, err := f.eng.VoidRedemption(f.signer.Code(9), "never scanned"); code(err) != reward.CodeNotFound {
		t.Fatalf("void of an unredeemed code: %v", err)
	}
	mustAudit(t, f)

	// Points already spent cannot be taken back below zero.
	c2 := f.signer.Code(2)
	mustRedeem(t, f, c2, "m2") // 15
	if _, err := f.eng.Spend("m2", reward.SpendRequest{Points: 10, Reason: "mug", RequestID: "s1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.VoidRedemption(c2, "counterfeit"); code(err) != reward.CodeInsufficientPoints {
		t.Fatalf("void after a spend: %v, want %s", err, reward.CodeInsufficientPoints)
	}
	if r := redemptionOf(t, f, c2); r.Voided {
		t.Fatal("a refused void marked the redemption voided")
	}
	if v := mustMember(t, f, "m2"); v.Points != 5 {
		t.Fatalf("a refused void moved the balance to %d", v.Points)
	}
	mustAudit(t, f)

	// A used coupon stays used; voiding it reverses the verifier's commission.
	c3 := f.signer.Code(3)
	res = mustRedeem(t, f, c3, "m3")
	if _, err := f.eng.VerifyCoupon(res.Coupon.ID, "G1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.VoidRedemption(c3, "counterfeit"); err != nil {
		t.Fatal(err)
	}
	if cp, _ := f.eng.CouponByID(res.Coupon.ID); cp.Status != reward.CouponUsed {
		t.Fatalf("a used coupon after its redemption's void: %+v", cp)
	}
	mustAudit(t, f)
	if _, err := f.eng.VoidCoupon(res.Coupon.ID, "given back"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.VoidCoupon(res.Coupon.ID, "again"); code(err) != reward.CodeAlreadyVoided {
		t.Fatalf("second coupon void: %v", err)
	}
	if _, err := f.eng.VoidCoupon("no-such-coupon", "x"); code(err) != reward.CodeNotFound {
		t.Fatalf("void of an unknown coupon: %v", err)
	}
	if g, _ := f.eng.GuideByID("G1", 10); g.Commission != 2 {
		t.Fatalf("G1 keeps %d commission, want only m2's scan's 2", g.Commission)
	}
	v := mustCampaign(t, f, "promo")
	if v.Counters.CouponsUsed != 0 || v.Counters.CouponsIssued != 1 || v.Counters.Commission != 2 || v.Counters.PointsPaid != 15 {
		t.Fatalf("counters %+v, want only m2's scan", v.Counters)
	}
	mustAudit(t, f)
}

func TestAliases(t *testing.T) {
	f := newFixture(t, 10, 5)
	if m, err := f.eng.LinkAlias("m1", "phone-1"); err != nil || !slices.Equal(m.Aliases, []string{"phone-1"}) {
		t.Fatalf("link: %+v %v", m, err)
	}
	if _, err := f.eng.LinkAlias("m1", "phone-1"); err != nil {
		t.Fatalf("linking the same alias again: %v", err)
	}
	res := mustRedeem(t, f, f.signer.Code(1), "phone-1")
	if res.Member != "m1" || res.Balance != 5 {
		t.Fatalf("scan under the alias: %+v, want m1 credited", res)
	}
	if r := redemptionOf(t, f, res.Code); r.Member != "m1" {
		t.Fatalf("redemption names %q", r.Member)
	}
	// Linking under the alias reaches the member, without chains.
	if m, err := f.eng.LinkAlias("phone-1", "card-1"); err != nil || m.ID != "m1" {
		t.Fatalf("link via an alias: %+v %v", m, err)
	}
	if res := mustRedeem(t, f, f.signer.Code(2), "card-1"); res.Member != "m1" || res.Balance != 10 {
		t.Fatalf("scan under the second alias: %+v", res)
	}
	mustRedeem(t, f, f.signer.Code(3), "m2")
	for name, c := range map[string]struct {
		member, alias string
		want          reward.Code
	}{
		"linked to another member":    {"m2", "phone-1", reward.CodeAliasTaken},
		"has an account of its own":   {"m1", "m2", reward.CodeAliasTaken},
		"the member itself":           {"m1", "m1", reward.CodeInvalidRequest},
		"the member through an alias": {"phone-1", "m1", reward.CodeInvalidRequest},
		"empty alias":                 {"m1", "", reward.CodeInvalidRequest},
	} {
		if _, err := f.eng.LinkAlias(c.member, c.alias); code(err) != c.want {
			t.Fatalf("%s: %v, want %s", name, err, c.want)
		}
	}
	if v := mustMember(t, f, "m1"); v.Points != 10 || !slices.Equal(v.Aliases, []string{"phone-1", "card-1"}) {
		t.Fatalf("m1: %+v", v.Member)
	}
	// The balance a consumer scanned into can be read under the same id.
	v, err := f.eng.Member("card-1", "", 10)
	if err != nil || v.ID != "m1" || v.Points != 10 || len(v.Ledger) != 2 {
		t.Fatalf("member view under an alias: %+v %v, want m1's", v, err)
	}
	mustAudit(t, f)
}

// TestConcurrentBurstNeverOverspends fires a promotion-day burst — many
// goroutines, contested codes, many members — at a campaign with a small
// coupon stock and points budget, and checks that nothing is overspent and
// that every answer is what the store recorded.
func TestConcurrentBurstNeverOverspends(t *testing.T) {
	const (
		workers = 64
		codes   = 400
		members = 50
		budget  = 300
		stock   = 7
	)
	f := newFixture(t, codes, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"points":           map[string]any{"min": 5, "max": 20},
		"points_budget":    budget,
		"new_member_bonus": 10,
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": stock, "valid_days": 30},
		"guide_commission": map[string]any{"per_scan": 1},
	}))
	mustGuide(t, f, "G1", "")
	type job struct{ code, member string }
	var jobs []job
	for s := uint32(1); s <= codes; s++ {
		c := f.signer.Code(s)
		for k := range 2 { // every code is contested by two members
			jobs = append(jobs, job{c, fmt.Sprintf("m%d", (int(s)*7+k*13)%members)})
		}
	}
	var (
		mu                                         sync.Mutex
		wins                                       = map[string]int{}
		paid, coupons, outOfStock, partial, refuse int64
	)
	work := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				res, _, err := scanReq(f, reward.ScanRequest{Code: j.code, Member: j.member, Guide: "G1"})
				mu.Lock()
				switch code(err) {
				case "":
					wins[j.code]++
					paid += res.Points
					if res.Coupon != nil {
						coupons++
					}
					if slices.Contains(res.Notes, reward.NoteCouponStockExhausted) {
						outOfStock++
					}
					if slices.Contains(res.Notes, reward.NotePointsBudgetPartial) {
						partial++
					}
				case reward.CodeBudgetExhausted:
					refuse++
				case reward.CodeAlreadyRedeemed:
				default:
					t.Errorf("scan of %s by %s: %v", j.code, j.member, err)
				}
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()

	v := mustCampaign(t, f, "promo")
	ctr := v.Counters
	if ctr.PointsPaid != budget || paid != budget {
		t.Errorf("paid %d by the counters and %d by the answers, want exactly the budget %d", ctr.PointsPaid, paid, budget)
	}
	if ctr.CouponsIssued != stock || coupons != stock {
		t.Errorf("issued %d coupons by the counters and %d by the answers, want the stock %d", ctr.CouponsIssued, coupons, stock)
	}
	if int64(len(wins)) != ctr.RewardedScans || ctr.Commission != ctr.RewardedScans || outOfStock != ctr.RewardedScans-stock {
		t.Errorf("%d codes won, counters %+v, %d told the stock ran out", len(wins), ctr, outOfStock)
	}
	if partial > 1 || refuse == 0 {
		t.Errorf("%d partial payouts and %d budget refusals; want at most one and some", partial, refuse)
	}
	for s := uint32(1); s <= codes; s++ {
		c := f.signer.Code(s)
		if wins[c] > 1 {
			t.Errorf("code %s redeemed %d times", c, wins[c])
		}
		if isRedeemed(t, f, c) != (wins[c] == 1) {
			t.Errorf("code %s: redeemed %v, but %d answers said so", c, !(wins[c] == 1), wins[c])
		}
	}
	mustAudit(t, f)
}

func TestConcurrentSpendsNeverGoNegative(t *testing.T) {
	f := newFixture(t, 10, 100)
	mustRedeem(t, f, f.signer.Code(1), "m")
	var ok, short atomic.Int32
	answers := make([]json.RawMessage, 50)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, err := f.eng.Spend("m", reward.SpendRequest{Points: 7, Reason: "sticker", RequestID: fmt.Sprintf("spend-%d", i)})
			switch code(err) {
			case "":
				ok.Add(1)
				answers[i] = raw
			case reward.CodeInsufficientPoints:
				short.Add(1)
			default:
				t.Errorf("spend: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 100/7 || short.Load() != 50-100/7 {
		t.Fatalf("%d spends succeeded and %d were short, want %d and %d", ok.Load(), short.Load(), 100/7, 50-100/7)
	}
	if v := mustMember(t, f, "m"); v.Points != 100%7 {
		t.Fatalf("balance %d, want %d", v.Points, 100%7)
	}
	// Retries replay the winners' answers and take nothing more.
	for i, want := range answers {
		raw, err := f.eng.Spend("m", reward.SpendRequest{Points: 7, Reason: "sticker", RequestID: fmt.Sprintf("spend-%d", i)})
		if want != nil && (err != nil || string(raw) != string(want)) {
			t.Fatalf("retry of spend-%d: %s %v, want %s", i, raw, err, want)
		}
		if want == nil && code(err) != reward.CodeInsufficientPoints {
			t.Fatalf("retry of a refused spend-%d: %s %v", i, raw, err)
		}
	}
	mustAudit(t, f)

	// Voids and spends racing for one balance never take it below zero.
	g := newFixture(t, 10, 20)
	for s := uint32(1); s <= 5; s++ {
		mustRedeem(t, g, g.signer.Code(s), "m")
	}
	var voided, spent atomic.Int64
	codes := make([]string, 5)
	for i := range codes {
		codes[i] = g.signer.Code(uint32(i + 1)) // a Signer is not for concurrent use
	}
	for i := range 15 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i < 5 {
				if _, err := g.eng.VoidRedemption(codes[i], "fraud"); err == nil {
					voided.Add(20)
				} else if code(err) != reward.CodeInsufficientPoints {
					t.Errorf("void: %v", err)
				}
				return
			}
			if _, err := g.eng.Spend("m", reward.SpendRequest{Points: 10, Reason: "x", RequestID: fmt.Sprintf("s%d", i)}); err == nil {
				spent.Add(10)
			} else if code(err) != reward.CodeInsufficientPoints {
				t.Errorf("spend: %v", err)
			}
		}()
	}
	wg.Wait()
	if v := mustMember(t, g, "m"); v.Points != 100-voided.Load()-spent.Load() || v.Points < 0 {
		t.Fatalf("balance %d after %d voided and %d spent of 100", v.Points, voided.Load(), spent.Load())
	}
	mustAudit(t, g)
}

func TestConcurrentVerificationsOneWinner(t *testing.T) {
	f := couponFixture(t, 10)
	guides := []string{"G1", "G2"}
	for i := 3; i <= 5; i++ {
		g := fmt.Sprintf("G%d", i)
		mustGuide(t, f, g, "")
		guides = append(guides, g)
	}
	for round := uint32(1); round <= 3; round++ {
		id := mustCoupon(t, f, round, fmt.Sprintf("m%d", round))
		var wins, used atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g := guides[i%len(guides)]
				_, err := f.eng.VerifyCoupon(id, g)
				switch code(err) {
				case "":
					wins.Add(1)
					winner.Store(g)
				case reward.CodeAlreadyUsed:
					used.Add(1)
				default:
					t.Errorf("verify: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || used.Load() != 49 {
			t.Fatalf("coupon %s: %d verifications won, %d already_used; want 1 and 49", id, wins.Load(), used.Load())
		}
		if cp, _ := f.eng.CouponByID(id); cp.UsedBy != winner.Load() {
			t.Fatalf("coupon used by %q, the winner was %q", cp.UsedBy, winner.Load())
		}
		mustAudit(t, f)
	}
	var total int64
	for _, g := range guides {
		gv, _ := f.eng.GuideByID(g, 10)
		total += gv.Commission
	}
	if v := mustCampaign(t, f, "promo"); total != 15 || v.Counters.CouponsUsed != 3 || v.Counters.Commission != 15 {
		t.Fatalf("guides earned %d, counters %+v; want 3 verifications of 5", total, v.Counters)
	}
}

// TestAuditFindsCampaignViolations shows that the audit can fail for the
// campaign rules: each case writes what an overspending or double-paying
// bug would leave behind, bypassing the engine, and Audit must name it.
// (TestAuditFindsBrokenRecords covers redemptions and member ledgers.)
func TestAuditFindsCampaignViolations(t *testing.T) {
	type state struct {
		f        *fixture
		ctr      reward.CampaignCounters
		coupon   reward.Coupon // used, verified by G1
		g1       reward.Guide
		unscored string // a redeemed code that issued no coupon
	}
	guideEntryKey := func(g string, seq uint64) string {
		return string(binary.BigEndian.AppendUint64([]byte("gl/"+g+"\x00"), seq))
	}
	for name, c := range map[string]struct {
		forge func(s state) map[string]any
		want  string
	}{
		"points over the budget": {
			func(s state) map[string]any {
				s.ctr.PointsPaid = 101
				return map[string]any{"cc/promo": s.ctr}
			},
			"over a budget of 100",
		},
		"coupons over the stock": {
			func(s state) map[string]any {
				s.ctr.CouponsIssued = 4
				return map[string]any{"cc/promo": s.ctr}
			},
			"coupons from a stock of 3",
		},
		"counters off their records": {
			func(s state) map[string]any {
				s.ctr.Commission++
				return map[string]any{"cc/promo": s.ctr}
			},
			"its records add up to",
		},
		"counter below zero": {
			func(s state) map[string]any {
				s.ctr = reward.CampaignCounters{PointsPaid: -5}
				return map[string]any{"cc/promo": s.ctr}
			},
			"counter below zero",
		},
		"coupon commission paid twice": {
			func(s state) map[string]any {
				s.g1.Seq++
				s.g1.Commission += 5
				en := reward.Entry{ID: ksuid.New().String(), Seq: s.g1.Seq, Guide: "G1", Account: reward.AccountCommission,
					Delta: 5, Balance: s.g1.Commission, Reason: "coupon_commission", Coupon: s.coupon.ID, Code: s.coupon.Code}
				return map[string]any{guideEntryKey("G1", s.g1.Seq): en, "g/G1": s.g1}
			},
			"commission entries for its verification, want 1",
		},
		"scan commission without its redemption": {
			func(s state) map[string]any {
				s.g1.Seq++
				s.g1.Commission += 2
				en := reward.Entry{ID: ksuid.New().String(), Seq: s.g1.Seq, Guide: "G1", Account: reward.AccountCommission,
					Delta: 2, Balance: s.g1.Commission, Reason: "scan_commission", Code: s.unscored}
				return map[string]any{guideEntryKey("G1", s.g1.Seq): en, "g/G1": s.g1}
			},
			"belongs to no redemption",
		},
		"guide balance off its ledger": {
			func(s state) map[string]any {
				s.g1.Commission++
				return map[string]any{"g/G1": s.g1}
			},
			"its ledger sums to",
		},
		"coupon no redemption issued": {
			func(s state) map[string]any {
				forged := s.coupon
				forged.ID, forged.Code, forged.Status, forged.UsedBy, forged.Commission = ksuid.New().String(), s.unscored, reward.CouponIssued, "", 0
				return map[string]any{"cpn/" + forged.ID: forged}
			},
			"was not issued by the redemption",
		},
		"used coupon without a verifier": {
			func(s state) map[string]any {
				s.coupon.UsedBy = ""
				return map[string]any{"cpn/" + s.coupon.ID: s.coupon}
			},
			"no guide verified it",
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, 10, 0)
			mustApply(t, f, campaignDoc(t, map[string]any{
				"points": 20, "points_budget": 100,
				"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 3, "valid_days": 30},
				"guide_commission": map[string]any{"per_scan": 2, "per_coupon": 5},
			}))
			mustGuide(t, f, "G1", "")
			var coupon string
			for s := uint32(1); s <= 4; s++ {
				res, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(s), Member: "m", Guide: "G1"})
				if err != nil {
					t.Fatal(err)
				}
				if s == 1 {
					coupon = res.Coupon.ID
				}
			}
			if _, err := f.eng.VerifyCoupon(coupon, "G1"); err != nil {
				t.Fatal(err)
			}
			mustAudit(t, f)
			cp, _ := f.eng.CouponByID(coupon)
			gv, _ := f.eng.GuideByID("G1", 1)
			s := state{f: f, ctr: mustCampaign(t, f, "promo").Counters, coupon: *cp, g1: gv.Guide, unscored: f.signer.Code(4)}
			forged := c.forge(s)
			err := f.db.Update(func(tx store.Tx) error {
				for k, v := range forged {
					raw, err := json.Marshal(v)
					if err != nil {
						return err
					}
					tx.Put([]byte(k), raw)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := f.eng.Audit()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(rep.Violations, func(v string) bool { return strings.Contains(v, c.want) }) {
				t.Fatalf("the audit missed it: violations %q, want one saying %q", rep.Violations, c.want)
			}
		})
	}
}

// TestRefusedDecisionWritesNothing: when a scan fails on a record it cannot
// read after it has begun paying, none of its writes may land: a ledger entry
// without its member update or redemption is money without a record.
func TestRefusedDecisionWritesNothing(t *testing.T) {
	f := newFixture(t, 10, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{"guide_commission": map[string]any{"per_scan": 2}}))
	mustGuide(t, f, "G1", "")
	mustRedeem(t, f, f.signer.Code(1), "m")
	if err := f.db.Update(func(tx store.Tx) error { tx.Put([]byte("g/G1"), []byte("{not json")); return nil }); err != nil {
		t.Fatal(err)
	}
	_, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(2), Member: "m", Guide: "G1"})
	if code(err) != reward.CodeInternal {
		t.Fatalf("scan naming a corrupt guide: %v, want %s", err, reward.CodeInternal)
	}
	if isRedeemed(t, f, f.signer.Code(2)) {
		t.Fatal("the failed scan redeemed the code")
	}
	if n := len(ledgerOf(t, f.db, "l/", "m")); n != 2 {
		t.Fatalf("the failed scan left %d ledger entries, want the first scan's 2", n)
	}
	rep, err := f.eng.Audit()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rep.Violations {
		if !strings.Contains(v, `guide "G1" is corrupt`) {
			t.Fatalf("audit after a failed scan: %q", rep.Violations)
		}
	}
}

// TestGuidePages walks a guide's bound members and commission ledger page
// by page: every member and entry once, in order, and the last page says
// there is no more.
func TestGuidePages(t *testing.T) {
	f := newFixture(t, 20, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{"guide_commission": map[string]any{"per_scan": 2}}))
	mustGuide(t, f, "G1", "")
	var wantMembers []string
	for i := range 5 {
		m := fmt.Sprintf("m%d", i)
		if _, err := f.eng.Bind(m, "G1", false); err != nil {
			t.Fatal(err)
		}
		mustRedeem(t, f, f.signer.Code(uint32(i+1)), m)
		wantMembers = append(wantMembers, m)
	}
	// Another guide's members must not show up.
	mustGuide(t, f, "G10", "")
	if _, err := f.eng.Bind("x", "G10", false); err != nil {
		t.Fatal(err)
	}

	// Each list is walked with its own cursor, two at a time.
	view := func(page reward.GuidePage) *reward.GuideView {
		t.Helper()
		page.Limit = 2
		v, err := f.eng.GuideView("G1", page)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.BoundMembers) > 2 || len(v.Ledger) > 2 {
			t.Fatalf("a page longer than its limit: %v, %d entries", v.BoundMembers, len(v.Ledger))
		}
		return v
	}
	var members []string
	for v, n := view(reward.GuidePage{}), 0; ; v, n = view(reward.GuidePage{MembersAfter: v.NextMembers}), n+1 {
		members = append(members, v.BoundMembers...)
		if v.NextMembers == "" || n > 5 {
			break
		}
	}
	var seqs []uint64
	for v, n := view(reward.GuidePage{}), 0; ; v, n = view(reward.GuidePage{LedgerBefore: v.NextLedger}), n+1 {
		for _, en := range v.Ledger {
			seqs = append(seqs, en.Seq)
		}
		if v.NextLedger == "" || n > 5 {
			break
		}
	}
	if !slices.Equal(members, wantMembers) {
		t.Errorf("bound members over the pages: %v, want %v", members, wantMembers)
	}
	if !slices.Equal(seqs, []uint64{5, 4, 3, 2, 1}) {
		t.Errorf("ledger over the pages: %v, want 5 4 3 2 1", seqs)
	}
	if _, err := f.eng.GuideView("G1", reward.GuidePage{LedgerBefore: "soon"}); code(err) != reward.CodeInvalidRequest {
		t.Errorf("a made-up ledger cursor: %v", err)
	}
}
