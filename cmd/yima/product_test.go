package main

import (
	"path/filepath"
	"strings"
	"testing"
)

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
