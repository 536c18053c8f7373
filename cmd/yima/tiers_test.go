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
