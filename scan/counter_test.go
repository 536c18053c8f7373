package scan_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestWrongStoreIsRefused: under the member's-store counter policy, a
// guide of another store is refused 403 wrong_store over the API and gets
// a page that says where the gift is verified on /V/; the coupon stays
// unused, and a guide of the right store verifies it.
func TestWrongStoreIsRefused(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(2, 5)
	doc := `{"id":"promo","products":["SKU-TEST"],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","points":5,
		"coupon":{"title":"gift","probability":1,"stock":10,"valid_days":30},"guide_commission":{"per_coupon":3},"counter_policy":"member_guide_store"}`
	if r := ts.Do("PUT", "/v1/campaigns/promo", ts.Admin, doc); r.Status != 200 || !strings.Contains(string(r.Body), `"counter_policy":"member_guide_store"`) {
		t.Fatal(r)
	}
	for _, st := range []string{"旗舰店", "Other store"} {
		if r := ts.Do("PUT", "/v1/stores/"+url.PathEscape(st), ts.Admin, map[string]string{"name": st}); r.Status != 201 {
			t.Fatal(r)
		}
	}
	tokens := map[string]string{}
	for _, g := range []map[string]string{{"id": "G1", "store": "旗舰店"}, {"id": "G3", "store": "Other store"}} {
		r := ts.Do("POST", "/v1/guides", ts.Admin, g)
		var out struct{ Token string }
		if r.Status != 201 || json.Unmarshal(r.Body, &out) != nil {
			t.Fatal(r)
		}
		tokens[g["id"]] = out.Token
	}
	coupons := make([]string, 2)
	for i := range coupons {
		r := ts.Do("POST", "/v1/scans", ts.Admin, map[string]string{"code": codes[i], "member": "m1", "guide": "G1"})
		var res reward.ScanResult
		if r.Status != 200 || json.Unmarshal(r.Body, &res) != nil || res.Coupon == nil {
			t.Fatal(r)
		}
		coupons[i] = res.Coupon.ID
	}
	r := ts.Do("POST", "/v1/coupons/"+coupons[0]+"/verify", tokens["G3"], nil)
	if r.Status != 403 || r.ErrCode() != "wrong_store" || !strings.Contains(string(r.Body), `"allowed_store":"旗舰店"`) {
		t.Fatalf("another store's guide verifying: %v", r)
	}

	// The counter page, in Chinese: a kind page naming the store.
	b := newBrowser(t, ts)
	if status, _ := b.get("/V/" + coupons[1] + "?lang=zh"); status != 200 {
		t.Fatalf("counter page: %d", status)
	}
	status, body := b.post("/V/"+coupons[1]+"?lang=zh", url.Values{"token": {tokens["G3"]}})
	if status != 200 || !strings.Contains(body, "未核销") || !strings.Contains(body, "只能在顾客所属导购的门店“旗舰店”核销") {
		t.Fatalf("the counter page refusing another store: %d\n%s", status, body)
	}
	for _, id := range coupons {
		if r := ts.Do("GET", "/v1/coupons/"+id, "", nil); !strings.Contains(string(r.Body), `"status":"issued"`) {
			t.Fatalf("a refused verification changed coupon %s: %v", id, r)
		}
	}
	if r := ts.Do("POST", "/v1/coupons/"+coupons[0]+"/verify", tokens["G1"], nil); r.Status != 200 {
		t.Fatalf("the member's own store: %v", r)
	}
}
