package scan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// page GETs path and returns the answer, which must be HTML.
func (ts *testServer) page(t *testing.T, path string, status int) string {
	t.Helper()
	r := ts.Do("GET", path, "", nil)
	if r.Status != status || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %s, want %d and a page:\n%s", path, r.Status, r.Header.Get("Content-Type"), status, r.Body)
	}
	return string(r.Body)
}

// checkPage fails t for each of want that body lacks and each of not that
// it has.
func checkPage(t *testing.T, body string, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q:\n%s", w, body)
		}
	}
	for _, n := range not {
		if strings.Contains(body, n) {
			t.Errorf("page has %q:\n%s", n, body)
		}
	}
}

// TestCodePagesTellStatesApart: an unreleased code, a code the brand
// withdrew (a leaked range) and a code of a retired key each have a page of
// their own; a withdrawn code's page never vouches for the product, as the
// API says "revoked".
func TestCodePagesTellStatesApart(t *testing.T) {
	ts := startServer(t, scan.Options{})
	b, codes := ts.Mint(reward.BatchSpec{Product: "SKU-P", Count: 4})
	if _, err := ts.Local().SetRange(b.ID, reward.Range{From: 1, To: 2, State: reward.Active}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Local().SetRange(b.ID, reward.Range{From: 2, To: 3, State: reward.Revoked}); err != nil {
		t.Fatal(err)
	}
	if st := ts.CodeStatus(codes[1]); st.State != "revoked" {
		t.Fatalf("status of a revoked code: %+v", st)
	}
	for _, tc := range []struct {
		name, code string
		want, not  []string
	}{
		{"active", codes[0], []string{"Genuine product", "not been claimed", "Claim my reward"}, []string{"withdrawn"}},
		{"revoked after activation", codes[1], []string{"Code withdrawn", "pays no reward"}, []string{"Genuine product", "released for sale", "Claim my reward"}},
		{"revoked before activation", codes[2], []string{"Code withdrawn"}, []string{"Genuine product", "released for sale", "Claim my reward"}},
		{"inactive", codes[3], []string{"Genuine product", "released for sale"}, []string{"withdrawn", "Claim my reward"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkPage(t, ts.page(t, "/C/"+tc.code, 200), tc.want, tc.not)
		})
	}

	// Retire the key the codes were signed with.
	ts.editKeys(func(ks *codegen.Keyset) error {
		if _, err := ks.Rotate(time.Now()); err != nil {
			return err
		}
		return ks.Retire(b.KeyID, time.Now())
	})
	if _, err := ts.App.ReloadKeys(); err != nil {
		t.Fatal(err)
	}
	body := ts.page(t, "/C/"+codes[0], 200)
	if !strings.Contains(body, "no longer honoured") || strings.Contains(body, "Genuine product") || strings.Contains(body, "withdrawn") {
		t.Errorf("page of a retired key's code:\n%s", body)
	}
}

// TestPagesWithoutACode: the site's root and a landing link without its
// code answer a short page in the brand's language, never JSON.
func TestPagesWithoutACode(t *testing.T) {
	zh := startServer(t, scan.Options{Language: "zh"})
	if body := zh.page(t, "/", 200); !strings.Contains(body, `lang="zh-CN"`) || !strings.Contains(body, "二维码") {
		t.Errorf("the root in the default language:\n%s", body)
	}
	for _, p := range []string{"/C/", "/c/"} {
		if body := zh.page(t, p, 404); !strings.Contains(body, "防伪码") {
			t.Errorf("GET %s:\n%s", p, body)
		}
	}
	en := startServer(t, scan.Options{Language: "en"})
	if body := en.page(t, "/", 200); !strings.Contains(body, `lang="en"`) || !strings.Contains(body, "Scan the QR code") {
		t.Errorf("the root in English:\n%s", body)
	}
	if body := en.page(t, "/C/", 404); !strings.Contains(body, "This link has no code") {
		t.Errorf("GET /C/ in English:\n%s", body)
	}
	// Other paths stay what they were.
	if r := en.Do("GET", "/nothing", "", nil); r.Status != 404 || r.ErrCode() != "route_not_found" {
		t.Errorf("GET /nothing: %v", r)
	}
}

// TestPagesShowTheBrandsDay: with the brand in Shanghai, a scan at 17:30
// UTC on 1 March is on 2 March, on pages as in statistics.
func TestPagesShowTheBrandsDay(t *testing.T) {
	ts := startInShanghai(t, time.Date(2026, 3, 1, 17, 30, 0, 0, time.UTC))
	codes := ts.MintActive(2, 5)
	if r := ts.Scan(codes[0], "m1"); r.Status != 200 {
		t.Fatal(r)
	}
	// The page shows the day of the first scan and of the redemption.
	body := ts.page(t, "/C/"+codes[0], 200)
	if !strings.Contains(body, "claimed on 2026-03-02") || strings.Contains(body, "2026-03-01") {
		t.Errorf("the page shows another day than the brand's 2026-03-02:\n%s", body)
	}
}
