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
