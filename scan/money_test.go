package scan_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
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

// TestFactoryBatchesPayNothingUntilReleased: a factory token minted
// batches without points or campaign that still paid the product's
// campaign or the default 10 points, and activated any batch, an admin's
// included: 100 self-minted codes paid 1,000 points to one browser. A
// factory's batch is held: its codes are genuine but every scan is refused
// with 403 payout_held, the code unredeemed, until an admin releases it;
// and a factory activates only its own batches.
func TestFactoryBatchesPayNothingUntilReleased(t *testing.T) {
	ts := startServer(t, scan.Options{BaseURL: "HTTPS://YIMA.EXAMPLE"})
	factory, app := ts.Token("factory"), ts.Token("app")
	if r := ts.Do("PUT", "/v1/campaigns/promo", ts.Admin, `{"products":["SKU-F"],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","points":100}`); r.Status != http.StatusOK {
		t.Fatal(r)
	}
	r := ts.Do("POST", "/v1/batches", factory, map[string]any{"product": "SKU-F", "count": 3, "activate": true})
	var b scan.BatchView
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &b) != nil || !b.PayoutHeld || b.MintedBy == "" {
		t.Fatalf("a factory's mint: %v, want 201 with payout_held", r)
	}
	codes := urlCodes(t, ts.Do("GET", fmt.Sprintf("/v1/batches/%d/codes?format=txt", b.ID), factory, nil).Body)
	if len(codes) != 3 {
		t.Fatalf("the factory's export: %q", codes)
	}
	scanAs := func(code, member string) response {
		return ts.Do("POST", "/v1/scans", app, map[string]string{"code": code, "member": member})
	}
	if r := scanAs(codes[0], "m1"); r.Status != http.StatusForbidden || r.ErrCode() != "payout_held" {
		t.Fatalf("a scan of a held batch: %v, want 403 payout_held", r)
	}
	if st := ts.CodeStatus(codes[0]); !st.Valid || st.Redeemed {
		t.Fatalf("a held code: %+v, want genuine and unredeemed", st)
	}

	// A factory touches only its own batches, and never releases.
	admins := ts.Do("POST", "/v1/batches", ts.Admin, map[string]any{"product": "SKU-F", "count": 2, "points": 100000})
	var ab scan.BatchView
	if json.Unmarshal(admins.Body, &ab) != nil || ab.PayoutHeld {
		t.Fatalf("an admin's mint: %v", admins)
	}
	for _, action := range []string{"activate", "revoke"} {
		if r := ts.Do("POST", fmt.Sprintf("/v1/batches/%d/%s", ab.ID, action), factory, nil); r.Status != http.StatusForbidden || r.ErrCode() != "forbidden" {
			t.Fatalf("a factory %s of an admin's batch: %v, want 403 forbidden", action, r)
		}
	}
	if st := ts.CodeStatus(urlCodes(t, ts.Do("GET", fmt.Sprintf("/v1/batches/%d/codes?format=txt", ab.ID), ts.Admin, nil).Body)[0]); st.State != "inactive" {
		t.Fatalf("the admin's batch after the factory's attempts: %+v", st)
	}
	if r := ts.Do("POST", fmt.Sprintf("/v1/batches/%d/activate", b.ID), factory, map[string]any{"from": 1, "to": 2}); r.Status != http.StatusOK {
		t.Fatalf("a factory activating its own batch: %v", r)
	}
	if r := ts.Do("POST", fmt.Sprintf("/v1/batches/%d/release", b.ID), factory, nil); r.Status != http.StatusForbidden {
		t.Fatalf("a factory releasing its own batch: %v, want 403", r)
	}

	// The brand releases it: the product's campaign pays from then on.
	if r := ts.Do("POST", fmt.Sprintf("/v1/batches/%d/release", b.ID), ts.Admin, nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "payout_released_at") {
		t.Fatalf("the admin's release: %v", r)
	}
	var res reward.ScanResult
	if r := scanAs(codes[0], "m1"); r.Status != http.StatusOK || json.Unmarshal(r.Body, &res) != nil || res.Points != 100 {
		t.Fatalf("a scan after the release: %v, want the campaign's 100 points", r)
	}
}

// TestBindingNeedsThePerson: a guide token bound hundreds of phone-like ids
// it had never seen, kept the commission on their scans when the scan named
// another guide, and the ids then blocked the brand's alias link (409
// alias_taken). A guide token binds no one; the person joins on the guide's
// page, or the brand's app binds them; a new member's first scan binds them
// to the guide it names; and the brand links an id a guide bound earlier.
func TestBindingNeedsThePerson(t *testing.T) {
	ts := startServer(t, scan.Options{})
	app := ts.Token("app")
	if r := ts.Do("PUT", "/v1/campaigns/promo", ts.Admin, `{"products":["SKU-TEST"],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","points":10,"guide_commission":{"per_scan":3}}`); r.Status != http.StatusOK {
		t.Fatal(r)
	}
	tokens := map[string]string{}
	ts.MustStore("S1")
	for _, id := range []string{"G1", "G2"} {
		r := ts.Do("POST", "/v1/guides", ts.Admin, map[string]string{"id": id, "store": "S1"})
		var g struct {
			Token string `json:"token"`
		}
		if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &g) != nil {
			t.Fatalf("adding %s: %v", id, r)
		}
		tokens[id] = g.Token
	}
	codes := ts.MintActive(4, 10)

	// G1 tries to pre-bind phone numbers it has never seen.
	for i := range 50 {
		phone := fmt.Sprintf("1380000%04d", i)
		r := ts.Do("POST", "/v1/members/"+phone+"/guide", tokens["G1"], map[string]string{"guide": "G1"})
		if r.Status != http.StatusForbidden || r.ErrCode() != "forbidden" || !strings.Contains(r.String(), "/G/G1") {
			t.Fatalf("G1 binding %s: %v, want 403 forbidden pointing at G1's page", phone, r)
		}
	}
	if _, ok := ts.Member("13800000007"); ok {
		t.Fatal("a refused binding made an account")
	}
	var g1 reward.GuideView
	if r := ts.Do("GET", "/v1/guides/G1", ts.Admin, nil); json.Unmarshal(r.Body, &g1) != nil || g1.Members != 0 {
		t.Fatalf("G1 after the attempts: %v", r)
	}

	// The consumer scans with the app, which names the guide who served
	// them, G2: G2 earns and the new member is G2's.
	var res reward.ScanResult
	r := ts.Do("POST", "/v1/scans", app, map[string]string{"code": codes[0], "member": "13800000007", "guide": "G2"})
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &res) != nil || res.Guide != "G2" || res.Commission != 3 {
		t.Fatalf("a new member's scan naming G2: %v", r)
	}
	r = ts.Do("POST", "/v1/scans", app, map[string]string{"code": codes[1], "member": "13800000007", "guide": "G1"})
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &res) != nil || res.Guide != "G2" {
		t.Fatalf("the member's next scan naming G1: %v, want G2's", r)
	}

	// A person joins G1 on G1's page, under the browser's id; the brand
	// then links the person's phone, which the app had bound to G1 with
	// their consent: both links go through.
	phone := newBrowser(t, ts)
	phone.get("/G/G1")
	if status, page := phone.post("/G/G1", nil); status != http.StatusOK || !strings.Contains(page, "You have joined") {
		t.Fatalf("joining on G1's page: %d %s", status, page)
	}
	web := "web:" + phone.cookie("/", "yima_v")
	if r := ts.Do("POST", "/v1/members/13900000001/guide", app, map[string]string{"guide": "G1"}); r.Status != http.StatusOK {
		t.Fatalf("the app binding a signed-in member: %v", r)
	}
	r = ts.Do("POST", "/v1/members/"+pathEscape(web)+"/aliases", app, map[string]string{"alias": "13900000001"})
	if r.Status != http.StatusOK {
		t.Fatalf("linking a phone G1 bound earlier to the browser's member: %v, want 200", r)
	}
	var m reward.Member
	if json.Unmarshal(r.Body, &m) != nil || m.Guide != "G1" {
		t.Fatalf("the member after the link: %s", r.Body)
	}
	if r := ts.Do("GET", "/v1/guides/G1", ts.Admin, nil); json.Unmarshal(r.Body, &g1) != nil || g1.Members != 1 || len(g1.BoundMembers) != 1 || g1.BoundMembers[0] != web {
		t.Fatalf("G1 after the link: %v, want the browser's member alone", r)
	}
	// An id with points of its own still needs an operator.
	if r := ts.Do("POST", "/v1/members/"+pathEscape(web)+"/aliases", app, map[string]string{"alias": "13800000007"}); r.Status != http.StatusConflict || r.ErrCode() != "alias_taken" {
		t.Fatalf("linking an id with points: %v, want 409 alias_taken", r)
	}
}
