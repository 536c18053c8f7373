package scan_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestBrandTierOnTheMemberCentre sets the brand's ladder over the API
// (a malformed one is 400 and changes nothing) and finds the member's tier,
// its benefit and the growth that counts on /me, in /v1/me and in GET
// /v1/members/{m}.
func TestBrandTierOnTheMemberCentre(t *testing.T) {
	ss := startSigninServer(t, scan.Options{})
	codes := ss.MintActive(2, 0)
	if r := ss.Do("PUT", "/v1/brand", ss.Admin, `{"tiers":[{"name":"gold","min_growth":10,"multiplier":2},{"name":"silver","min_growth":5,"multiplier":1.5}]}`); r.Status != 400 || r.ErrCode() != "invalid_request" {
		t.Fatalf("a ladder out of order: %v", r)
	}
	if r := ss.Do("PUT", "/v1/brand", ss.Admin, `{"tiers":[{"name":"Silver","min_growth":10,"multiplier":1.5,"benefit":"Free gift wrap"},{"name":"Gold","min_growth":100,"multiplier":2}],"tier_window_months":12}`); r.Status != 200 {
		t.Fatalf("setting the ladder: %v", r)
	}
	a := newBrowser(t, ss.testServer)
	claim(t, a, codes[0])
	ss.signIn(t, a, "138 1234 5678", "/me")
	_, c := a.me(t)
	if c == nil || c.Tier != "Silver" || c.TierBenefit != "Free gift wrap" || c.TierGrowth != 10 || c.NextTier != "Gold" {
		t.Fatalf("centre: %+v", c)
	}
	_, body := a.get("/me")
	for _, want := range []string{"Tier: Silver", "Free gift wrap", "Gold from 100 growth"} {
		if !strings.Contains(body, want) {
			t.Errorf("/me lacks %q\n%s", want, body)
		}
	}
	// The second claim is multiplied: 10 × 1.5.
	claim(t, a, codes[1])
	v, ok := ss.Member(c.ID)
	if !ok || v.Points != 25 || v.Standing == nil || v.Standing.Tier == nil || v.Standing.Tier.Name != "Silver" || v.Standing.WindowMonths != 12 || v.Standing.WindowGrowth != 20 {
		t.Fatalf("GET /v1/members: %+v standing %+v", v, v.Standing)
	}
}

// TestPointsExpireOverTheAPI sets an expiry rule, finds the coming expiry
// on /me, expires over POST /v1/points/expire (a dry run changes nothing,
// a second run expires nothing) and reads the points.expired event.
func TestPointsExpireOverTheAPI(t *testing.T) {
	ss := startSigninServer(t, scan.Options{})
	codes := ss.MintActive(1, 0)
	if r := ss.Do("PUT", "/v1/brand", ss.Admin, `{"points_expiry":{"unit":"fortnight","after":1}}`); r.Status != 400 {
		t.Fatalf("a malformed rule: %v", r)
	}
	if r := ss.Do("PUT", "/v1/brand", ss.Admin, `{"points_expiry":{"unit":"month","after":0}}`); r.Status != 200 {
		t.Fatalf("setting the rule: %v", r)
	}
	a := newBrowser(t, ss.testServer)
	claim(t, a, codes[0])
	ss.signIn(t, a, "138 1234 5678", "/me")
	_, c := a.me(t)
	if c == nil || len(c.Expiring) != 1 || c.Expiring[0].Points != 10 {
		t.Fatalf("centre: %+v", c)
	}
	if _, body := a.get("/me"); !strings.Contains(body, "10 points expire at 00:00 on "+c.Expiring[0].At.Format("2006-01-02")) {
		t.Errorf("/me does not say when the points expire\n%s", body)
	}
	if r := ss.Do("POST", "/v1/points/expire", ss.Token("app"), nil); r.Status != 403 {
		t.Fatalf("an app token expiring points: %v", r)
	}
	ss.clock.add(c.Expiring[0].At.Sub(ss.clock.now()))
	var rep reward.ExpiryReport
	r := ss.Do("POST", "/v1/points/expire", ss.Admin, map[string]bool{"dry_run": true})
	if r.Status != 200 || json.Unmarshal(r.Body, &rep) != nil || rep.Points != 10 || !rep.DryRun {
		t.Fatalf("dry run: %v", r)
	}
	for want, n := range []int64{10, 0} {
		r = ss.Do("POST", "/v1/points/expire", ss.Admin, nil)
		if r.Status != 200 || json.Unmarshal(r.Body, &rep) != nil || rep.Points != []int64{10, 0}[want] || rep.DryRun {
			t.Fatalf("run %d: %v", n, r)
		}
	}
	if v, _ := ss.Member(c.ID); v.Points != 0 {
		t.Fatalf("after expiry the member holds %d", v.Points)
	}
	r = ss.Do("GET", "/v1/events?types=points.expired", ss.Admin, nil)
	if r.Status != 200 || strings.Count(string(r.Body), `"type":"points.expired"`) != 1 {
		t.Fatalf("the feed: %v", r)
	}
}
