package scan_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestBrandBaseURLPrintsEverywhere checks that every printing endpoint uses
// the brand's stored URL, refuses to print while none is set, and takes a
// request's base_url as an override for that request only.
func TestBrandBaseURLPrintsEverywhere(t *testing.T) {
	ts := startServer(t, scan.Options{})
	b, codes := ts.Mint(reward.BatchSpec{Product: "SKU-URL", Count: 3})
	ts.MustStore("S1")
	if _, _, err := ts.App.Engine.AddGuide(reward.Guide{ID: "G1", Store: "S1"}); err != nil {
		t.Fatal(err)
	}
	batch := "/v1/batches/" + fmt.Sprint(b.ID)
	printing := []string{batch + "/codes", batch + "/codes?format=txt", batch + "/images.zip", batch + "/labels.pdf", "/v1/guides/G1/qr.png", "/v1/guides/G1/qr.svg"}
	for _, p := range printing {
		if r := ts.Do("GET", p, ts.Admin, nil); r.Status != 409 || r.ErrCode() != "base_url_unset" || !strings.Contains(string(r.Body), "yima brand set") {
			t.Errorf("GET %s with no URL stored: %v, want 409 base_url_unset saying how to set it", p, r)
		}
	}
	if r := ts.Do("GET", "/v1/brand", ts.Admin, nil); r.Status != 200 || strings.Contains(string(r.Body), "base_url") {
		t.Errorf("GET /v1/brand before any setting: %v", r)
	}
	for _, bad := range []string{`{"base_url":"ftp://x.cn"}`, `{"base_url":"HTTPS://"}`, `{"base_url":"https://a.cn/?x=1"}`, `{"base_url":"https://品牌.cn"}`, `{"time_zone":"Mars/Base"}`, `{"colour":"red"}`} {
		if r := ts.Do("PUT", "/v1/brand", ts.Admin, bad); r.Status != 400 {
			t.Errorf("PUT /v1/brand %s: %v, want 400", bad, r)
		}
	}
	if r := ts.Do("PUT", "/v1/brand", ts.Token(reward.RoleFactory), `{"base_url":"HTTPS://EVIL.CN"}`); r.Status != 403 {
		t.Errorf("a factory token changed the brand's URL: %v", r)
	}
	r := ts.Do("PUT", "/v1/brand", ts.Admin, `{"base_url":"HTTPS://YIMA.BRAND.CN/","name":"一码乳业","time_zone":"Asia/Shanghai"}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"base_url":"HTTPS://YIMA.BRAND.CN"`) || !strings.Contains(string(r.Body), `"print_base_url":"HTTPS://YIMA.BRAND.CN"`) {
		t.Fatalf("PUT /v1/brand: %v", r)
	}
	// A change of one field keeps the others.
	if r := ts.Do("PUT", "/v1/brand", ts.Admin, `{"name":"Brand"}`); !strings.Contains(string(r.Body), `"time_zone":"Asia/Shanghai"`) || !strings.Contains(string(r.Body), "YIMA.BRAND.CN") {
		t.Errorf("PUT of the name lost other settings: %v", r)
	}

	csv := ts.Do("GET", batch+"/codes", ts.Admin, nil)
	lines := strings.Split(strings.TrimSpace(string(csv.Body)), "\n")
	if csv.Status != 200 || len(lines) != 4 {
		t.Fatalf("codes: %v", csv)
	}
	for i, l := range lines[1:] {
		if want := "HTTPS://YIMA.BRAND.CN/C/" + codes[i]; !strings.HasSuffix(l, ","+want) {
			t.Errorf("line %q, want the stored URL %s", l, want)
		}
	}
	txt := ts.Do("GET", batch+"/codes?format=txt&base_url=HTTPS://OTHER.BRAND.CN", ts.Admin, nil)
	if !strings.HasPrefix(string(txt.Body), "HTTPS://OTHER.BRAND.CN/C/") {
		t.Errorf("base_url did not override the stored URL: %.80s", txt.Body)
	}
	if r := ts.Do("GET", batch+"/codes?base_url=javascript:alert(1)", ts.Admin, nil); r.Status != 400 {
		t.Errorf("a base_url that is no URL: %v, want 400", r)
	}
	for _, p := range printing[2:] {
		if r := ts.Do("GET", p, ts.Admin, nil); r.Status != 200 {
			t.Errorf("GET %s with the URL stored: %v", p, r)
		}
	}
	// The factory may read the URL it prints with.
	if r := ts.Do("GET", "/v1/brand", ts.Token(reward.RoleFactory), nil); r.Status != 200 || !bytes.Contains(r.Body, []byte("YIMA.BRAND.CN")) {
		t.Errorf("GET /v1/brand with a factory token: %v", r)
	}
}

// TestServerBaseURLOverrides checks that a server's --base-url wins over
// the stored URL for what it prints, and that GET /v1/brand says so.
func TestServerBaseURLOverrides(t *testing.T) {
	ts := startServer(t, scan.Options{BaseURL: "HTTPS://OVERRIDE.BRAND.CN"})
	b, _ := ts.Mint(reward.BatchSpec{Product: "SKU-URL", Count: 1})
	if _, err := ts.App.Engine.SetBrand(reward.BrandChange{BaseURL: new("HTTPS://STORED.BRAND.CN")}); err != nil {
		t.Fatal(err)
	}
	r := ts.Do("GET", "/v1/batches/"+fmt.Sprint(b.ID)+"/codes?format=txt", ts.Admin, nil)
	if !strings.HasPrefix(string(r.Body), "HTTPS://OVERRIDE.BRAND.CN/C/") {
		t.Errorf("codes of a server with --base-url: %v", r)
	}
	r = ts.Do("GET", "/v1/brand", ts.Admin, nil)
	if !bytes.Contains(r.Body, []byte(`"base_url":"HTTPS://STORED.BRAND.CN"`)) || !bytes.Contains(r.Body, []byte(`"print_base_url":"HTTPS://OVERRIDE.BRAND.CN"`)) {
		t.Errorf("GET /v1/brand: %v", r)
	}
}
