package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
)

// TestRewardCommands: the example reward applies as written, voucher files
// go up with their duplicates refused before anything is stored, and the
// brand's purchase rate is set.
func TestRewardCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var v struct {
		ID    string `json:"id"`
		Stock int64  `json:"stock"`
		Left  int64  `json:"left"`
	}
	decode(t, yimaOK(t, data, "reward", "apply", "../../docs/examples/reward-mug.json"), &v)
	if v.ID != "mug-2026" || v.Left != v.Stock || v.Stock == 0 {
		t.Fatalf("apply: %+v", v)
	}
	doc := filepath.Join(t.TempDir(), "coffee.json")
	os.WriteFile(doc, []byte(`{"id":"coffee","title":"Coffee","kind":"voucher","price":20,"stock":100}`), 0o600)
	yimaOK(t, data, "reward", "apply", doc)
	dup := filepath.Join(t.TempDir(), "dup.txt")
	os.WriteFile(dup, []byte("A1\nA2\nA1\n"), 0o600)
	wantExit(t, data, exitFailed, "lines 1 and 3", "reward", "vouchers", "coffee", dup)
	var codes []string
	for i := range 400 { // more than one part
		codes = append(codes, strings.Repeat("X", 60)+string(rune('a'+i%26))+strings.Repeat("y", i/26))
	}
	list := filepath.Join(t.TempDir(), "codes.txt")
	os.WriteFile(list, []byte(strings.Join(codes, "\n")+"\n"), 0o600)
	var up struct {
		Added, Uploaded, Left int
	}
	decode(t, yimaOK(t, data, "reward", "vouchers", "coffee", list), &up)
	if up.Added != 400 || up.Uploaded != 400 || up.Left != 400 {
		t.Fatalf("upload: %+v", up)
	}
	wantExit(t, data, exitFailed, "voucher_duplicate", "reward", "vouchers", "coffee", list)
	out := yimaOK(t, data, "reward", "list")
	if !strings.Contains(out, "coffee") || strings.Index(out, "coffee") > strings.Index(out, "mug-2026") {
		t.Fatalf("list, cheapest first:\n%s", out)
	}
	yimaOK(t, data, "brand", "set", "--order-points-per-yuan", "0.5")
	wantExit(t, data, exitFailed, "order_points_per_yuan", "brand", "set", "--order-points-per-yuan", "0.123")
}

// TestBrandTiersFromAFile sets the brand's ladder from the example file
// and the window from a flag, and refuses a malformed ladder with exit 2
// and the stored one unchanged.
func TestBrandTiersFromAFile(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var b reward.Brand
	decode(t, yimaOK(t, data, "brand", "set", "--tiers", "../../docs/examples/tiers.json", "--tier-window-months", "12"), &b)
	if len(b.Tiers) != 3 || b.Tiers[1].Multiplier != 1.5 || b.Tiers[2].Benefit == "" || b.TierWindowMonths != 12 {
		t.Fatalf("brand after set: %+v", b)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"name":"gold","min_growth":10,"multiplier":2},{"name":"silver","min_growth":5,"multiplier":1.5}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	wantExit(t, data, 1, "increasing min_growth", "brand", "set", "--tiers", bad)
	wantExit(t, data, 2, "not a JSON list", "brand", "set", "--tiers", "../../docs/examples/spring-milk.json")
	wantExit(t, data, 1, "tier_window_months", "brand", "set", "--tier-window-months", "61")
	decode(t, yimaOK(t, data, "brand", "show"), &b)
	if len(b.Tiers) != 3 || b.TierWindowMonths != 12 {
		t.Fatalf("a refused change changed the brand: %+v", b)
	}
}

// TestPointsExpireCommand sets a rule with --points-expiry, refuses a
// malformed one with exit 2, and runs yima points expire as a dry run and
// for real on a store with nothing due.
func TestPointsExpireCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var b reward.Brand
	decode(t, yimaOK(t, data, "brand", "set", "--points-expiry", "year+1"), &b)
	if b.PointsExpiry == nil || b.PointsExpiry.Unit != "year" || b.PointsExpiry.After != 1 {
		t.Fatalf("brand: %+v", b)
	}
	wantExit(t, data, 2, "year+N", "brand", "set", "--points-expiry", "week+1")
	wantExit(t, data, 1, "points_expiry", "brand", "set", "--points-expiry", "year+11")
	for _, args := range [][]string{{"points", "expire", "--dry-run"}, {"points", "expire"}} {
		var rep reward.ExpiryReport
		decode(t, yimaOK(t, data, args...), &rep)
		if rep.DryRun != (len(args) == 3) || rep.Rule == nil || rep.Members != 0 {
			t.Errorf("%v: %+v", args, rep)
		}
	}
	var off reward.Brand
	decode(t, yimaOK(t, data, "brand", "set", "--points-expiry", "never"), &off)
	if off.PointsExpiry != nil {
		t.Fatalf("never left %+v", off.PointsExpiry)
	}
}
