package scan_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/node"
)

// TestSettlementAPI settles November over the API with the brand in
// Shanghai, reads it back with its payroll files, and is refused a month
// that has not ended, a malformed one, and a guide's token.
func TestSettlementAPI(t *testing.T) {
	zone := shanghai(t)
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 20, 12, 0, 0, 0, zone).UnixNano())
	ts := startServerApp(t, node.Options{Zone: zone, Now: func() time.Time { return time.Unix(0, clock.Load()) }}, scan.Options{})
	codes := ts.MintActive(3, 5)
	doc := `{"id":"promo","products":["SKU-TEST"],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2030-01-01T00:00:00Z","points":5,"guide_commission":{"per_scan":4}}`
	if r := ts.Do("PUT", "/v1/campaigns/promo", ts.Admin, doc); r.Status != 200 {
		t.Fatal(r)
	}
	// The payroll names a store by its id, its name and the brand's code.
	if r := ts.Do("PUT", "/v1/stores/"+url.PathEscape("南京店"), ts.Admin, map[string]string{"name": "南京新街口店", "code": "320102-07"}); r.Status != 201 {
		t.Fatal(r)
	}
	for _, g := range []map[string]string{{"id": "G1", "store": "南京店", "name": "王芳"}, {"id": "G2", "store": "Store 2"}} {
		ts.MustStore(g["store"])
		if r := ts.Do("POST", "/v1/guides", ts.Admin, g); r.Status != 201 {
			t.Fatal(r)
		}
	}
	for i, g := range []string{"G1", "G1", "G2"} {
		if r := ts.Do("POST", "/v1/scans", ts.Admin, map[string]string{"code": codes[i], "member": "m" + g, "guide": g}); r.Status != 200 {
			t.Fatal(r)
		}
	}

	if r := ts.Do("POST", "/v1/settlements", ts.Admin, map[string]string{"period": "2026-11"}); r.Status != 409 || r.ErrCode() != string(reward.CodePeriodNotEnded) {
		t.Fatalf("settling a month that has not ended: %v", r)
	}
	for _, bad := range []string{"2026-13", "2026/11", ""} {
		if r := ts.Do("POST", "/v1/settlements", ts.Admin, map[string]string{"period": bad}); r.Status != 400 {
			t.Errorf("period %q: %v", bad, r)
		}
	}
	if r := ts.Do("GET", "/v1/settlements/2026-11", ts.Admin, nil); r.Status != 404 {
		t.Fatalf("an unsettled month: %v", r)
	}
	clock.Store(time.Date(2026, 12, 1, 0, 0, 1, 0, zone).UnixNano())
	if r := ts.Do("POST", "/v1/settlements", ts.Token(reward.RoleGuide), map[string]string{"period": "2026-11"}); r.Status != 403 {
		t.Fatalf("a guide settling: %v", r)
	}
	r := ts.Do("POST", "/v1/settlements", ts.Admin, map[string]string{"period": "2026-11"})
	var v reward.SettlementView
	if r.Status != 201 || json.Unmarshal(r.Body, &v) != nil || v.Commission != 12 || len(v.Lines) != 2 || v.Lines[0].Store != "Store 2" ||
		v.Lines[1].StoreName != "南京新街口店" || v.Lines[1].StoreCode != "320102-07" {
		t.Fatalf("settling November: %v", r)
	}
	if r := ts.Do("POST", "/v1/settlements", ts.Admin, map[string]string{"period": "2026-11"}); r.Status != 200 || !strings.Contains(string(r.Body), `"repeated":true`) {
		t.Fatalf("settling again: %v", r)
	}
	if r := ts.Do("GET", "/v1/settlements/2026-11", ts.Admin, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"commission":12`) {
		t.Fatalf("reading it back: %v", r)
	}
	r = ts.Do("GET", "/v1/settlements/2026-11/payroll.csv?store=%E5%8D%97%E4%BA%AC%E5%BA%97", ts.Admin, nil)
	want := "\ufeffguide,name,store,store_name,store_code,period,commission\r\nG1,王芳,南京店,南京新街口店,320102-07,2026-11,8\r\n"
	if r.Status != 200 || string(r.Body) != want || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(r.Header.Get("Content-Disposition"), "payroll-2026-11-") {
		t.Fatalf("payroll of 南京店: %v %q", r, r.Header)
	}
	if r := ts.Do("GET", "/v1/settlements/2026-11/payroll.csv", ts.Admin, nil); r.Status != 200 || strings.Count(string(r.Body), "\r\n") != 3 {
		t.Fatalf("payroll of every store: %v", r)
	}
	if r := ts.Do("GET", "/v1/settlements/2026-11/payroll.csv?shop=x", ts.Admin, nil); r.Status != 400 {
		t.Fatalf("an unknown parameter: %v", r)
	}
	var audit reward.AuditReport
	if r := ts.Do("GET", "/v1/audit", ts.Admin, nil); r.Status != 200 || json.Unmarshal(r.Body, &audit) != nil || audit.Settlements != 1 || len(audit.Violations) != 0 {
		t.Fatalf("audit: %v", r)
	}
}
