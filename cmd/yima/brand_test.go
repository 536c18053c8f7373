package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testBaseURL is what the end-to-end tests print with: a reserved host,
// so that nothing they write could ever reach a real brand.
const testBaseURL = "HTTPS://YIMA.EXAMPLE"

// newData returns a fresh data directory whose brand prints testBaseURL.
func newData(t *testing.T) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	mustYima(t, "brand", "set", "--data", data, "--base-url", testBaseURL)
	return data
}

// newMinted is newData with a batch minted in it by yima mint with args
// (--product, --count, ...).
func newMinted(t *testing.T, args ...string) string {
	t.Helper()
	data := newData(t)
	mustYima(t, append([]string{"mint", "--data", data}, args...)...)
	return data
}

// TestPrintingNeedsABaseURL checks that each printing command refuses to
// print while no URL is stored or given, says how to set one, and leaves
// no file; that the stored URL is used; and that --base-url overrides it
// for one run.
func TestPrintingNeedsABaseURL(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	dir := t.TempDir()
	out := func(name string) string { return filepath.Join(dir, name) }
	mustYima(t, "mint", "--data", data, "--product", "SKU-A", "--count", "2", "--base-url", "HTTPS://YIMA.BRAND.CN", "--out", out("first.csv"))
	mustYima(t, "store", "add", "S1", "--data", data, "--name", "Store 1")
	mustYima(t, "guide", "add", "--data", data, "--id", "G1", "--store", "S1")
	for _, args := range [][]string{
		{"mint", "--product", "SKU-A", "--count", "2", "--out", out("a.csv")},
		{"batch", "codes", "1", "--out", out("b.csv")},
		{"batch", "labels", "1", "--out", out("c.pdf")},
		{"guide", "qr", "G1", "--out", out("g.png")},
	} {
		r := yima(t, append(args, "--data", data)...)
		if r.code != 1 || !strings.Contains(r.stderr, "yima brand set --base-url") {
			t.Errorf("%s with no URL stored: %v; want exit 1 saying how to set one", args[:2], r)
		}
	}
	if got := batchIDs(t, data); len(got) != 1 {
		t.Errorf("a refused mint recorded a batch: %v", got)
	}
	for _, f := range []string{"a.csv", "b.csv", "c.pdf", "g.png"} {
		if _, err := os.Stat(out(f)); err == nil {
			t.Errorf("a refused print left %s", f)
		}
	}

	r := yima(t, "brand", "set", "--data", data, "--base-url", "HTTP://YIMA.BRAND.TEST")
	if r.code != 0 || !strings.Contains(r.stderr, "warning") || !strings.Contains(r.stderr, "reserved") || !strings.Contains(r.stderr, "plain http") {
		t.Errorf("brand set of a test host over http: %v; want a warning", r)
	}
	if r := yima(t, "brand", "set", "--data", data, "--base-url", "yima.brand.cn"); r.code != 2 {
		t.Errorf("brand set of a URL without a scheme: %v; want exit 2", r)
	}
	mustYima(t, "brand", "set", "--data", data, "--base-url", "HTTPS://YIMA.BRAND.CN", "--name", "一码乳业", "--tz", "Asia/Shanghai")
	show := mustYima(t, "brand", "show", "--data", data)
	for _, want := range []string{`"base_url": "HTTPS://YIMA.BRAND.CN"`, `"name": "一码乳业"`, `"time_zone": "Asia/Shanghai"`} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("brand show lacks %s:\n%s", want, show.stdout)
		}
	}
	r = mustYima(t, "batch", "codes", "1", "--data", data, "--format", "txt")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "HTTPS://YIMA.BRAND.CN/C/") || r.stderr != "" {
		t.Errorf("batch codes with the URL stored: %v", r)
	}
	r = mustYima(t, "batch", "codes", "1", "--data", data, "--format", "txt", "--base-url", "https://shop.example.com")
	if !strings.HasPrefix(r.stdout, "https://shop.example.com/C/") || !strings.Contains(r.stderr, "reserved") {
		t.Errorf("batch codes --base-url of a reserved host: %v; want it used, with a warning", r)
	}
}

// TestProductAndBrandLookCommands: yima product set/show/list, brand set
// --logo-url --color and mint --produced work on a data directory, and
// bad values exit 2 with what to give instead.
func TestProductAndBrandLookCommands(t *testing.T) {
	data := newData(t)
	r := mustYima(t, "product", "set", "SKU-A", "--data", data, "--name", "有机全脂奶粉", "--spec", "900g/罐")
	if !strings.Contains(r.stdout, `"name": "有机全脂奶粉"`) || !strings.Contains(r.stdout, `"spec": "900g/罐"`) {
		t.Fatalf("product set printed %q", r.stdout)
	}
	mustYima(t, "product", "set", "SKU-A", "--data", data, "--image-url", "https://img.example/a.jpg")
	if r := mustYima(t, "product", "show", "SKU-A", "--data", data); !strings.Contains(r.stdout, `"image_url": "https://img.example/a.jpg"`) || !strings.Contains(r.stdout, "有机全脂奶粉") {
		t.Errorf("product show after a second set: %q", r.stdout)
	}
	if r := mustYima(t, "product", "list", "--data", data); !strings.Contains(r.stdout, `"sku": "SKU-A"`) {
		t.Errorf("product list: %q", r.stdout)
	}
	if r := yima(t, "product", "set", "SKU-A", "--data", data); r.code != 2 || !strings.Contains(r.stderr, "--name") {
		t.Errorf("product set with no flag: %v", r)
	}
	if r := yima(t, "product", "set", "SKU-A", "--data", data, "--image-url", "javascript:alert(1)"); r.code == 0 || !strings.Contains(r.stderr, "https://") {
		t.Errorf("a script URL as the picture: %v", r)
	}
	if r := mustYima(t, "brand", "set", "--data", data, "--logo-url", "/logo.png", "--color", "#C8102E"); !strings.Contains(r.stdout, `"color": "#c8102e"`) || !strings.Contains(r.stdout, `"logo_url": "/logo.png"`) {
		t.Errorf("brand set --logo-url --color printed %q", r.stdout)
	}
	if r := yima(t, "brand", "set", "--data", data, "--color", "red"); r.code == 0 || !strings.Contains(r.stderr, "#RRGGBB") {
		t.Errorf("brand set --color red: %v", r)
	}
	out := filepath.Join(t.TempDir(), "codes.txt")
	mustYima(t, "mint", "--data", data, "--product", "SKU-A", "--count", "1", "--produced", "2026-11-01", "--out", out)
	if r := mustYima(t, "batch", "show", "1", "--data", data); !strings.Contains(r.stdout, `"produced": "2026-11-01"`) {
		t.Errorf("batch show after mint --produced: %q", r.stdout)
	}
	if r := yima(t, "mint", "--data", data, "--product", "SKU-A", "--count", "1", "--produced", "1/11/2026", "--out", out+"2"); r.code == 0 || !strings.Contains(r.stderr, "YYYY-MM-DD") {
		t.Errorf("mint --produced 1/11/2026: %v", r)
	}
}
