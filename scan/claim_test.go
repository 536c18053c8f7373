package scan_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestLandingOffersAClaimOnlyWhenItWouldPay: a factory's batch the brand
// had not released for payout still showed "Claim my reward", and the tap
// was refused with payout_held. For every state of a genuine code the page
// offers the claim exactly when a claim pays, and a phone that taps it
// anyway (a page opened before the state changed) gets a kind page and
// keeps its code unredeemed.
func TestLandingOffersAClaimOnlyWhenItWouldPay(t *testing.T) {
	ts := startServer(t, scan.Options{})
	live := `{"products":["SKU-LIVE","SKU-HELD"],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","points":10}`
	for id, doc := range map[string]string{
		"live":      live,
		"ended":     `{"products":["SKU-ENDED"],"starts_at":"2020-01-01T00:00:00Z","ends_at":"2021-01-01T00:00:00Z","points":10}`,
		"scheduled": `{"products":["SKU-LATER"],"starts_at":"2090-01-01T00:00:00Z","ends_at":"2091-01-01T00:00:00Z","points":10}`,
		"spent":     `{"products":["SKU-SPENT"],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","points":10,"points_budget":10}`,
	} {
		if r := ts.Do("PUT", "/v1/campaigns/"+id, ts.Admin, doc); r.Status != http.StatusOK {
			t.Fatalf("campaign %s: %v", id, r)
		}
	}
	one := func(spec reward.BatchSpec) []string {
		spec.Count = 3
		_, codes := ts.Mint(spec)
		return codes
	}
	liveCodes := one(reward.BatchSpec{Product: "SKU-LIVE", Activate: true})
	held := one(reward.BatchSpec{Product: "SKU-HELD", Activate: true, Factory: "factory-token"})
	inactive := one(reward.BatchSpec{Product: "SKU-LIVE"})
	b, revoked := ts.Mint(reward.BatchSpec{Product: "SKU-LIVE", Count: 1, Activate: true})
	if _, err := ts.Local().SetRange(b.ID, reward.Range{From: 1, To: 1, State: reward.Revoked}); err != nil {
		t.Fatal(err)
	}
	spent := one(reward.BatchSpec{Product: "SKU-SPENT", Activate: true})
	// The first claim uses the whole budget of 10 points.
	if r := ts.Scan(spent[0], "early"); r.Status != http.StatusOK {
		t.Fatalf("the claim that spends the budget: %v", r)
	}
	if r := ts.Scan(liveCodes[1], "early"); r.Status != http.StatusOK {
		t.Fatal(r)
	}

	for _, tc := range []struct {
		name, code string
		offer      bool
		says       string
	}{
		{"live campaign", liveCodes[0], true, "not been claimed"},
		{"already redeemed", liveCodes[1], false, "already redeemed"},
		{"held batch", held[0], false, "not released"},
		{"ended campaign", one(reward.BatchSpec{Product: "SKU-ENDED", Activate: true})[0], false, "promotion has ended"},
		{"scheduled campaign", one(reward.BatchSpec{Product: "SKU-LATER", Activate: true})[0], false, "not started"},
		{"budget used up", spent[1], false, "used up"},
		{"inactive code", inactive[0], false, "released for sale"},
		{"revoked code", revoked[0], false, "withdrawn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			phone := newBrowser(t, ts)
			// A claimable code's page gives this phone its form token.
			phone.get("/C/" + liveCodes[2])
			token := phone.csrf()
			if token == "" {
				t.Fatalf("a claimable page without a form:\n%s", phone.last)
			}
			if status, _ := phone.get("/C/" + tc.code); status != http.StatusOK {
				t.Fatalf("GET: %d", status)
			}
			page := phone.last
			if got := strings.Contains(page, "Claim my reward"); got != tc.offer {
				t.Fatalf("the page offers a claim: %v, want %v:\n%s", got, tc.offer, page)
			}
			if !strings.Contains(page, tc.says) {
				t.Errorf("the page does not say %q:\n%s", tc.says, page)
			}
			// Tap the claim whatever the page showed (a form opened before
			// the brand held the batch or the campaign ended).
			before := ts.CodeStatus(tc.code)
			status, answer := phone.post("/C/"+tc.code, url.Values{"csrf": {token}})
			after := ts.CodeStatus(tc.code)
			paid := !before.Redeemed && after.Redeemed
			if paid != tc.offer {
				t.Fatalf("the claim paid: %v, want %v (the page's offer): %d %s", paid, tc.offer, status, answer)
			}
			if status != http.StatusOK {
				t.Errorf("a refused claim: %d, want a kind page", status)
			}
		})
	}
}
