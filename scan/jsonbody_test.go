package scan_test

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestMalformedBodiesChangeNothing sends bodies that are not the JSON
// object an endpoint takes to every endpoint that changes something: each
// is refused with 400 invalid_json and the data directory is byte for byte
// what it was. The endpoints come from the router, so a new one fails this
// test until it is listed here.
func TestMalformedBodiesChangeNothing(t *testing.T) {
	ts := startServer(t, scan.Options{})
	b, codes := ts.Mint(reward.BatchSpec{Product: "SKU-BODY", Count: 4, Points: new(int64(5))})
	if _, err := ts.App.Engine.SetRange(b.ID, reward.Range{From: 1, To: 2, State: reward.Active}); err != nil {
		t.Fatal(err)
	}
	ts.MustStore("S")
	if _, _, err := ts.App.Engine.AddGuide(reward.Guide{ID: "G1", Store: "S"}); err != nil {
		t.Fatal(err)
	}
	if r := ts.Scan(codes[0], "m1"); r.Status != 200 {
		t.Fatalf("scan: %v", r)
	}
	// No coupon is issued without a campaign: the body is refused before
	// the id is looked up.
	const coupon = "CP0000000000000000000000000"
	ts.Token("app")
	toks, err := ts.App.Engine.Tokens()
	if err != nil || len(toks) == 0 {
		t.Fatalf("tokens: %v %v", toks, err)
	}
	tokID := toks[0].ID
	id := fmt.Sprint(b.ID)

	// Every endpoint, by the router's "METHOD pattern": the paths to send
	// bodies to, or why none is sent.
	endpoints := map[string][]string{
		"POST /v1/points/expire": {"/v1/points/expire"},
		"POST /v1/scans":         {"/v1/scans"},
		"POST /v1/members/":      {"/v1/members/m1/guide", "/v1/members/m1/aliases", "/v1/members/m1/spend", "/v1/members/m1/redeem", "/v1/members/m1/adjust"},
		"PUT /v1/campaigns/":     {"/v1/campaigns/c1"},
		"POST /v1/guides":        {"/v1/guides"},
		"POST /v1/guides/":       {"/v1/guides/G1/leave"},
		"POST /v1/coupons/":      {"/v1/coupons/" + coupon + "/verify", "/v1/coupons/" + coupon + "/void"},
		"POST /v1/redemptions/":  {"/v1/redemptions/" + codes[0] + "/void"},
		"POST /v1/settlements":   {"/v1/settlements"},
		"POST /v1/batches":       {"/v1/batches"},
		"POST /v1/batches/":      {"/v1/batches/" + id + "/activate", "/v1/batches/" + id + "/revoke", "/v1/batches/" + id + "/release"},
		"DELETE /v1/batches/":    {"/v1/batches/" + id},
		"POST /v1/tokens":        {"/v1/tokens"},
		"DELETE /v1/tokens/":     {"/v1/tokens/" + tokID},
		"POST /v1/backups":       {"/v1/backups"},
		"PUT /v1/brand":          {"/v1/brand"},
		"PUT /v1/products/":      {"/v1/products/SKU-J"},
		"PUT /v1/stores/":        {"/v1/stores/S-J"},
		"POST /v1/stores/":       {"/v1/stores/S/enrolment-qr", "/v1/stores/S/enrolments/2JhB9kgQX0HeQhbN1k5yAIXj0Fa/approve", "/v1/stores/S/enrolments/2JhB9kgQX0HeQhbN1k5yAIXj0Fa/reject"},
		"POST /v1/webhooks":      {"/v1/webhooks"},
		"POST /v1/webhooks/":     {"/v1/webhooks/wh_0/replay", "/v1/webhooks/wh_0/resume"},
		"DELETE /v1/webhooks/":   {"/v1/webhooks/wh_0"},
		"PUT /v1/rewards/":       {"/v1/rewards/r1"},
		"POST /v1/rewards/":      {"/v1/rewards/r1/vouchers"},
		"POST /v1/exchanges/":    {"/v1/exchanges/X1/ship", "/v1/exchanges/X1/cancel"},
		"POST /v1/orders":        {"/v1/orders"},
		"POST /v1/orders/":       {"/v1/orders/O1/refund"},
	}
	// Pages take HTML forms, not JSON; TestCrossSiteFormsRefused covers their POSTs.
	pages := []string{"/c/", "/C/", "/g/", "/G/", "/v/", "/V/", "/admin", "/signin", "/signout", "/guide", "/me/mall", "/E/", "/e/", "/store/"}
	for _, rt := range scan.Routes() {
		method, pattern, _ := strings.Cut(rt, " ")
		if method == "GET" {
			continue
		}
		if _, ok := endpoints[rt]; !ok && !contains(pages, pattern) {
			t.Errorf("endpoint %s is not in this test: add the paths it takes a body on", rt)
		}
	}
	bodies := map[string]string{
		"null":              `null`,
		"truncated":         `{"from":1,`,
		"open brace":        `{`,
		"array":             `[]`,
		"bare string":       `"x"`,
		"number":            `1`,
		"not JSON":          `from=1&to=2`,
		"blank":             "  ",
		"trailing data":     `{}{}`,
		"trailing garbage":  `{} x`,
		"unknown field":     `{"no_such_field":1}`,
		"wrong type":        `{"from":"one","successor":5,"guide":5,"code":5,"role":5,"dir":5,"alias":5,"points":"x","id":5,"product":5,"reason":5}`,
		"invalid UTF-8":     "{\"x\":\"\xff\"}",
		"duplicate objects": `{"from":1}{"from":2}`,
	}
	before := fingerprint(t, ts)
	for rt, paths := range endpoints {
		method, _, _ := strings.Cut(rt, " ")
		for _, path := range paths {
			for name, body := range bodies {
				r := ts.Do(method, path, ts.Admin, body)
				if r.Status != 400 || r.ErrCode() != "invalid_json" {
					t.Errorf("%s %s with %s body %q: %v, want 400 invalid_json", method, path, name, body, r)
				}
				if strings.Contains(string(r.Body), "Go value") || strings.Contains(string(r.Body), "struct {") {
					t.Errorf("%s %s: the message names the server's types: %s", method, path, r.Body)
				}
			}
		}
	}
	if after := fingerprint(t, ts); after != before {
		t.Fatal("a refused body changed the data directory")
	}
	// The same endpoints still act on a good body.
	if r := ts.Do("POST", "/v1/batches/"+id+"/activate", ts.Admin, `{"from":3,"to":3}`); r.Status != 200 {
		t.Fatalf("activate with a good body: %v", r)
	}
	if r := ts.Do("POST", "/v1/batches/"+id+"/activate", ts.Admin, nil); r.Status != 200 {
		t.Fatalf("activate with no body: %v", r)
	}
}

// fingerprint hashes every key and value in the store, after writing the
// statistics held in memory.
func fingerprint(t *testing.T, ts *testServer) [32]byte {
	t.Helper()
	if err := ts.App.Engine.FlushStats(); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	err := ts.App.DB.Scan(nil, nil, func(k, v []byte) bool {
		fmt.Fprintf(h, "%q=%q\n", k, v)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
