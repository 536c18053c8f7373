package scan_test

import (
	"strings"
	"testing"

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
