package scan_test

import (
	"encoding/json"
	"fmt"
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

// TestPINClaimOverHTTP: a batch minted with claim pin prints each code's
// PIN (a column of the CSV, or a file of its own), pays a scan only with
// the PIN, answers wrong PINs 403 wrong_pin and then 429 pin_locked with
// Retry-After, and flags the code; the landing page asks for the PIN.
func TestPINClaimOverHTTP(t *testing.T) {
	ts := startServer(t, scan.Options{BaseURL: "HTTPS://YIMA.BRAND.CN"})
	r := ts.Do("POST", "/v1/batches", ts.Admin, map[string]any{"product": "SKU-PIN", "count": 3, "points": 10, "activate": true, "claim": "pin", "pin_digits": 6})
	var b scan.BatchView
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &b) != nil || b.Claim != "pin" || b.PINDigits != 6 {
		t.Fatalf("a PIN batch: %v", r)
	}
	csv := ts.Do("GET", fmt.Sprintf("/v1/batches/%d/codes", b.ID), ts.Admin, nil)
	lines := strings.Split(strings.TrimSpace(string(csv.Body)), "\n")
	if csv.Status != 200 || lines[0] != "serial,code,url,pin" || len(lines) != 4 {
		t.Fatalf("the CSV of a PIN batch: %v", csv)
	}
	row := strings.Split(lines[1], ",")
	code, pin := row[1], row[3]
	pins := ts.Do("GET", fmt.Sprintf("/v1/batches/%d/codes?format=pins", b.ID), ts.Admin, nil)
	if pl := strings.Split(strings.TrimSpace(string(pins.Body)), "\n"); pins.Status != 200 || pl[0] != "serial,pin" || pl[1] != "1,"+pin || strings.Contains(string(pins.Body), code) {
		t.Fatalf("the PIN file: %v", pins)
	}
	app := ts.Token("app")
	scanPIN := func(pin string) response {
		return ts.Do("POST", "/v1/scans", app, map[string]string{"code": code, "member": "m1", "pin": pin})
	}
	if r := ts.Do("POST", "/v1/scans", app, map[string]string{"code": code, "member": "m1"}); r.Status != 403 || r.ErrCode() != "pin_required" {
		t.Fatalf("no PIN: %v", r)
	}
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, pin)+1)%1_000_000)
	for i := 0; i < 5; i++ {
		if r := scanPIN(wrong); r.Status != 403 || r.ErrCode() != "wrong_pin" {
			t.Fatalf("wrong PIN %d: %v", i+1, r)
		}
	}
	r = scanPIN(pin)
	if r.Status != http.StatusTooManyRequests || r.ErrCode() != "pin_locked" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the right PIN while locked: %v %v", r, r.Header)
	}
	if st := ts.CodeStatus(code); st.Redeemed || st.Claim != "pin" {
		t.Fatalf("a locked code: %+v", st)
	}
	if r := ts.Do("GET", "/v1/flags?kind=pin_guessing", ts.Admin, nil); r.Status != 200 || !strings.Contains(string(r.Body), code) {
		t.Fatalf("the flag of the burst: %v", r)
	}
	// Another code of the batch claims with its PIN.
	row2 := strings.Split(lines[2], ",")
	if r := ts.Do("POST", "/v1/scans", app, map[string]string{"code": row2[1], "member": "m2", "pin": row2[3]}); r.Status != 200 {
		t.Fatalf("the right PIN: %v", r)
	}
	// The landing page of a PIN code asks for the PIN.
	page := ts.Do("GET", "/C/"+lines[3][strings.Index(lines[3], ",")+1:strings.Index(lines[3], ",HTTPS")], "", nil)
	if page.Status != 200 || !strings.Contains(string(page.Body), `name="pin"`) {
		t.Fatalf("the landing page of a PIN code: %v", page)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		t.Fatal(err)
	}
	return n
}
