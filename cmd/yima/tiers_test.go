package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/yima-dev/yima/reward"
)

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
