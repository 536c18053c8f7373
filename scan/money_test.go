package scan_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/yima-dev/yima/scan"
)

// TestCampaignAmountsOutOfRangeAre422: a campaign document with amounts
// near 2^63 was applied, and scans then wrapped balances negative. Over
// HTTP such a document is 422 amount_out_of_range and nothing is stored.
func TestCampaignAmountsOutOfRangeAre422(t *testing.T) {
	ts := startServer(t, scan.Options{})
	for name, doc := range map[string]string{
		"bonus":      `{"products":["SKU-TEST"],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2030-01-01T00:00:00Z","points":10,"new_member_bonus":9223372036854775800}`,
		"commission": `{"products":["SKU-TEST"],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2030-01-01T00:00:00Z","points":10,"guide_commission":{"per_scan":9223372036854775807}}`,
		"budget":     `{"products":["SKU-TEST"],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2030-01-01T00:00:00Z","points":10,"points_budget":9223372036854775807}`,
	} {
		r := ts.Do("PUT", "/v1/campaigns/huge-"+name, ts.Admin, doc)
		if r.Status != http.StatusUnprocessableEntity || r.ErrCode() != "amount_out_of_range" {
			t.Errorf("%s: %v, want 422 amount_out_of_range", name, r)
		}
		if r := ts.Do("GET", "/v1/campaigns/huge-"+name, ts.Admin, nil); r.Status != http.StatusNotFound {
			t.Errorf("%s: the refused campaign was stored: %v", name, r)
		}
	}
}

// TestRequestIDsAreScopedByCaller: request_id was one namespace across
// integrators, so a second app's first scan with "request_id":"1" got 422
// idempotency_key_reused. Each token has its own namespace; within one, a
// retry still replays and a reuse is still refused.
func TestRequestIDsAreScopedByCaller(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(4, 10)
	appA, appB := ts.Token("app"), ts.Token("app")
	scanAs := func(tok, code, member string) response {
		return ts.Do("POST", "/v1/scans", tok, map[string]string{"code": code, "member": member, "request_id": "1"})
	}
	first := scanAs(appA, codes[0], "alice")
	if first.Status != http.StatusOK {
		t.Fatalf("app A's scan: %v", first)
	}
	if r := scanAs(appB, codes[1], "bob"); r.Status != http.StatusOK {
		t.Fatalf("app B's first scan with request_id 1: %v, want 200", r)
	}
	if r := scanAs(appA, codes[0], "alice"); r.Status != http.StatusOK || string(r.Body) != string(first.Body) {
		t.Fatalf("app A's retry: %v, want the first answer again", r)
	}
	if r := scanAs(appA, codes[2], "alice"); r.Status != http.StatusUnprocessableEntity || r.ErrCode() != "idempotency_key_reused" {
		t.Fatalf("app A reusing its id for another scan: %v, want 422 idempotency_key_reused", r)
	}
	// Spends share their caller's namespace with scans.
	if r := ts.Do("POST", "/v1/members/bob/spend", appA, map[string]any{"points": 1, "reason": "gift", "request_id": "1"}); r.ErrCode() != "idempotency_key_reused" {
		t.Fatalf("app A spending with the id of its scan: %v, want idempotency_key_reused", r)
	}
	if r := ts.Do("POST", "/v1/members/bob/spend", ts.Admin, map[string]any{"points": 1, "reason": "gift", "request_id": "1"}); r.Status != http.StatusOK {
		t.Fatalf("the admin's spend with request_id 1: %v, want 200", r)
	}
	// The scope comes from the token, never from the body.
	if r := ts.Do("POST", "/v1/scans", appB, map[string]string{"code": codes[3], "member": "eve", "request_id": "1", "Scope": ""}); r.Status != http.StatusBadRequest {
		t.Fatalf("a body naming a scope: %v, want 400", r)
	}
}

// TestLandingOffersNoClaimAfterThePromotion: after a campaign ended its
// page still offered "Claim my reward", which could only be refused. The
// page says the promotion ended and offers nothing; GET /v1/codes says so
// in "promotion".
func TestLandingOffersNoClaimAfterThePromotion(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(2, 10)
	if r := ts.Do("GET", "/C/"+codes[0], "", nil); !strings.Contains(string(r.Body), "Claim my reward") {
		t.Fatalf("a claimable code's page offers no claim: %v", r)
	}
	for name, window := range map[string][2]string{
		"ended":     {"2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"},
		"scheduled": {"2090-01-01T00:00:00Z", "2091-01-01T00:00:00Z"},
	} {
		doc := `{"products":["SKU-TEST"],"starts_at":"` + window[0] + `","ends_at":"` + window[1] + `","points":10}`
		if r := ts.Do("PUT", "/v1/campaigns/promo", ts.Admin, doc); r.Status != http.StatusOK {
			t.Fatal(r)
		}
		r := ts.Do("GET", "/C/"+codes[1], "", nil)
		if r.Status != http.StatusOK || strings.Contains(string(r.Body), "Claim my reward") || !strings.Contains(string(r.Body), "Genuine product") {
			t.Errorf("%s promotion: the page offers a claim or lost the verdict: %s", name, r.Body)
		}
		if st := ts.CodeStatus(codes[1]); st.Promotion != name {
			t.Errorf("%s promotion: GET /v1/codes says promotion %q", name, st.Promotion)
		}
	}
}
