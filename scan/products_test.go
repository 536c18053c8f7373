package scan_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestProductCatalogOnTheLandingPage: a SKU's catalog entry (name,
// picture, spec, description) and the batch's production date show on its
// codes' pages, escaped; only the admin writes the catalog.
func TestProductCatalogOnTheLandingPage(t *testing.T) {
	ts := startServer(t, scan.Options{})
	_, codes := ts.Mint(reward.BatchSpec{Product: "SKU-P", Count: 2, Activate: true, Produced: "2026-11-01"})
	evil := `<script>alert(1)</script>奶粉`
	body := map[string]string{"name": evil, "image_url": "https://img.example/p.jpg", "spec": "900g/罐", "description": `<b>new</b> formula`}
	if r := ts.Do("PUT", "/v1/products/SKU-P", ts.Admin, body); r.Status != 201 {
		t.Fatalf("creating the product: %v", r)
	}
	if r := ts.Do("PUT", "/v1/products/SKU-P", ts.Admin, map[string]string{"spec": "800g"}); r.Status != 200 || !strings.Contains(string(r.Body), `"spec": "800g"`) && !strings.Contains(string(r.Body), `"spec":"800g"`) {
		t.Fatalf("changing the spec: %v", r)
	}
	r := ts.Do("GET", "/v1/products/SKU-P", ts.Token("factory"), nil)
	var p reward.Product
	if r.Status != 200 || json.Unmarshal(r.Body, &p) != nil || p.Name != evil || p.Spec != "800g" || p.ImageURL != "https://img.example/p.jpg" {
		t.Fatalf("reading the product: %v", r)
	}
	if r := ts.Do("GET", "/v1/products", ts.Admin, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"SKU-P"`) {
		t.Fatalf("listing: %v", r)
	}
	for _, tc := range []struct {
		path, token string
		body        any
		status      int
	}{
		{"/v1/products/SKU-P", ts.Token("factory"), map[string]string{"name": "x"}, 403},
		{"/v1/products/SKU-P", ts.Admin, map[string]string{"image_url": "javascript:alert(1)"}, 400},
		{"/v1/products/SKU-P", ts.Admin, map[string]string{"image_url": `https://x.example/"onerror="alert(1)`}, 400},
		{"/v1/products/SKU-P", ts.Admin, map[string]string{"name": strings.Repeat("名", 101)}, 400},
		{"/v1/products/SKU-P", ts.Admin, `{"nme":"x"}`, 400},
	} {
		if r := ts.Do("PUT", tc.path, tc.token, tc.body); r.Status != tc.status {
			t.Errorf("PUT %s %v: %v, want %d", tc.path, tc.body, r, tc.status)
		}
	}
	if r := ts.Do("GET", "/v1/products/SKU-NONE", ts.Admin, nil); r.Status != 404 || r.ErrCode() != "not_found" {
		t.Errorf("an unknown product: %v", r)
	}
	if r := ts.Do("POST", "/v1/batches", ts.Admin, reward.BatchSpec{Product: "SKU-P", Count: 1, Produced: "2026-13-01"}); r.Status != 400 {
		t.Errorf("a batch produced in month 13: %v", r)
	}

	page := string(ts.Do("GET", "/C/"+codes[0]+"?lang=zh", "", nil).Body)
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;奶粉", `src="https://img.example/p.jpg"`, "规格：800g", "生产日期：2026-11-01", "&lt;b&gt;new&lt;/b&gt; formula", "首次查询，正品"} {
		if !strings.Contains(page, want) {
			t.Errorf("the landing page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "<b>new") {
		t.Errorf("the landing page carries the catalog's markup unescaped:\n%s", page)
	}
	// A SKU without an entry shows as the SKU.
	_, other := ts.Mint(reward.BatchSpec{Product: "SKU-BARE", Count: 1, Activate: true})
	if page := string(ts.Do("GET", "/C/"+other[0], "", nil).Body); !strings.Contains(page, "<b>SKU-BARE</b>") {
		t.Errorf("a SKU without an entry:\n%s", page)
	}
}

// TestAntiCounterfeitLine: the first person to check a code reads that it
// is genuine and the first check; a later person reads how many people
// checked it and when first. A view without a cookie counts no person,
// and never shows "0 people".
func TestAntiCounterfeitLine(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(1, 5)
	r := ts.Do("GET", "/C/"+codes[0], "", nil)
	if page := string(r.Body); !strings.Contains(page, "First check: this product is genuine.") || strings.Contains(page, "0 people") {
		t.Fatalf("a cookieless first view:\n%s", page)
	}
	a, b := newBrowser(t, ts), newBrowser(t, ts)
	a.get("/C/" + codes[0])
	if _, page := a.get("/C/" + codes[0]); !strings.Contains(page, "First check") {
		t.Fatalf("the first person's second view:\n%s", page)
	}
	b.get("/C/" + codes[0])
	_, page := b.get("/C/" + codes[0] + "?lang=zh")
	if !regexp.MustCompile(`已被查询 2 次，首次查询于 \d{4}-\d\d-\d\d`).MatchString(page) {
		t.Fatalf("a second person's view:\n%s", page)
	}
}

// TestBrandLookOnEveryPage: the brand's name, logo and colour show on every
// page; a colour or logo that is not one is refused.
func TestBrandLookOnEveryPage(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(1, 5)
	if r := ts.Do("PUT", "/v1/brand", ts.Admin, map[string]string{"name": "一码<乳业>", "logo_url": "/static/logo.png", "color": "#C8102E"}); r.Status != 200 {
		t.Fatalf("brand: %v", r)
	}
	for _, bad := range []map[string]string{{"color": "red"}, {"color": "#C8102E;background:url(http://x)"}, {"logo_url": "data:image/png;base64,AAAA"}, {"logo_url": "//evil.example/x.png"}} {
		if r := ts.Do("PUT", "/v1/brand", ts.Admin, bad); r.Status != 400 || r.ErrCode() != "invalid_request" {
			t.Errorf("brand %v: %v, want 400 invalid_request", bad, r)
		}
	}
	for _, path := range []string{"/", "/C/", "/C/" + codes[0], "/G/nobody", "/V/nocoupon", "/admin"} {
		page := string(ts.Do("GET", path, "", nil).Body)
		if !strings.Contains(page, "一码&lt;乳业&gt;") {
			t.Errorf("%s lacks the brand's name:\n%s", path, page)
		}
		if !strings.Contains(page, `src="/static/logo.png"`) || !strings.Contains(page, "#c8102e") {
			t.Errorf("%s lacks the brand's logo or colour:\n%s", path, page)
		}
	}
}

// TestPagesAreLightAndSelfContained: every page is at most 30 KB before
// images and loads nothing but images from elsewhere: no script, style
// sheet, font or frame.
func TestPagesAreLightAndSelfContained(t *testing.T) {
	ts := startServer(t, scan.Options{})
	camp := `{"id":"c1","name":"C","products":["SKU-L"],"starts_at":"2020-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z",
		"points":10,"points_budget":1000,"coupon":{"title":"Gift","probability":1,"stock":5,"valid_days":30}}`
	if r := ts.Do("PUT", "/v1/campaigns/c1", ts.Admin, camp); r.Status != 200 {
		t.Fatalf("campaign: %v", r)
	}
	_, codes := ts.Mint(reward.BatchSpec{Product: "SKU-L", Count: 2, Activate: true})
	ts.Do("PUT", "/v1/products/SKU-L", ts.Admin, map[string]string{"name": strings.Repeat("名", 100), "description": strings.Repeat("描述", 500), "image_url": "https://img.example/l.jpg"})
	ts.Do("PUT", "/v1/brand", ts.Admin, map[string]string{"name": strings.Repeat("牌", 64), "logo_url": "https://img.example/logo.png"})
	claimer := newBrowser(t, ts)
	claimer.get("/C/" + codes[0])
	_, claimed := claimer.post("/C/"+codes[0], nil)
	coupon := pageCoupon(t, "the claim's page", claimed)
	external := regexp.MustCompile(`(?i)<script|<link|<iframe|<object|<embed|@import|url\(|@font-face|https?://[^"]*"`)
	pages := map[string]string{"claimed landing": claimed}
	for _, path := range []string{"/", "/C/", "/C/" + codes[1], "/C/" + codes[1] + "?lang=en", "/G/nobody", "/V/" + coupon, "/admin"} {
		r := ts.Do("GET", path, "", nil)
		if r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("%s: %v", path, r.Header)
		}
		pages[path] = string(r.Body)
	}
	pages["signed-in dashboard"] = string(ts.Do("GET", "/admin?lang=zh", ts.Admin, nil).Body)
	for name, page := range pages {
		if len(page) > 30<<10 {
			t.Errorf("%s is %d bytes, over 30 KB", name, len(page))
		}
		// Images may come from the brand's own hosts; nothing else may.
		rest := regexp.MustCompile(`<img [^>]*>`).ReplaceAllString(page, "")
		if m := external.FindString(rest); m != "" {
			t.Errorf("%s loads %q from elsewhere:\n%s", name, m, page)
		}
	}
}
