package scan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestPagingParameters sends every listing's paging parameters out of
// range: each is refused with 400, and a cursor far past the end answers
// at once (it used to walk every number down to the newest entry).
func TestPagingParameters(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(3, 5)
	ts.MustStore("S")
	if _, _, err := ts.App.Engine.AddGuide(reward.Guide{ID: "G1", Store: "S"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		if r := ts.Do("POST", "/v1/scans", ts.Admin, reward.ScanRequest{Code: c, Member: "m1", Guide: "G1"}); r.Status != 200 {
			t.Fatalf("scan: %v", r)
		}
	}
	app := ts.Token("app")
	huge := "18446744073709551615"
	start := time.Now()
	if r := ts.Do("GET", "/v1/members/m1?cursor="+huge, app, nil); r.Status != 200 {
		t.Fatalf("member page after cursor %s: %v", huge, r)
	}
	if r := ts.Do("GET", "/v1/guides/G1?ledger_before="+huge, ts.Admin, nil); r.Status != 200 {
		t.Fatalf("guide page after ledger_before %s: %v", huge, r)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("pages after a huge cursor took %v", d)
	}
	for _, path := range []string{
		"/v1/members/m1?limit=abc", "/v1/members/m1?limit=0", "/v1/members/m1?limit=-1", "/v1/members/m1?limit=201",
		"/v1/members/m1?limit=99999999999999999999", "/v1/members/m1?cursor=abc", "/v1/members/m1?cursor=0", "/v1/members/m1?cursor=-5",
		"/v1/guides/G1?limit=abc", "/v1/guides/G1?limit=1000", "/v1/guides/G1?ledger_before=x",
		"/v1/flags?limit=abc", "/v1/flags?limit=0", "/v1/flags?limit=500", "/v1/flags?after=x",
		"/v1/flags?after=20260101/nokind/CODE", "/v1/flags?after=notaday/diverted/CODE", "/v1/flags?from=2026",
	} {
		if r := ts.Do("GET", path, ts.Admin, nil); r.Status != 400 || r.ErrCode() != "invalid_request" {
			t.Errorf("GET %s: %v, want 400 invalid_request", path, r)
		}
	}
	for _, path := range []string{"/v1/members/m1?limit=1", "/v1/members/m1?limit=200", "/v1/guides/G1?limit=1", "/v1/flags?limit=200"} {
		if r := ts.Do("GET", path, ts.Admin, nil); r.Status != 200 {
			t.Errorf("GET %s: %v, want 200", path, r)
		}
	}
}

// TestRangeOutsideTheBatch activates serials a batch does not have: a 400
// that says so in the API's words, not a 500 naming the server's packages.
func TestRangeOutsideTheBatch(t *testing.T) {
	ts := startServer(t, scan.Options{})
	b, _ := ts.Mint(reward.BatchSpec{Product: "SKU-R", Count: 4})
	r := ts.Do("POST", "/v1/batches/"+itoa(b.ID)+"/activate", ts.Admin, map[string]any{"from": 3, "to": 9})
	if r.Status != 400 || r.ErrCode() != "invalid_request" {
		t.Fatalf("activating serials 3..9 of a batch of 4: %v, want 400 invalid_request", r)
	}
	if strings.Contains(string(r.Body), "reward:") || strings.Contains(string(r.Body), "store:") || strings.Contains(string(r.Body), "internal") {
		t.Errorf("the message names the server's packages: %s", r.Body)
	}
}
