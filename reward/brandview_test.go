package reward_test

import (
	"bytes"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// brandReads counts the reads of the brand record that decisions make.
func brandReads(db store.DB) *rewardtest.ReadCounter {
	return rewardtest.CountReads(db, func(key []byte) bool { return bytes.Equal(key, []byte("meta/brand")) })
}

func ladder(multiplier float64) reward.BrandChange {
	return reward.BrandChange{Tiers: &[]reward.Tier{{Name: "all", MinGrowth: 0, Multiplier: multiplier}}}
}

// A store's one writer keeps the ladder in memory: a fixed-points scan
// reads no brand record, and a change of the ladder reaches the next scan.
func TestScanKeepsLadderInMemory(t *testing.T) {
	db := brandReads(openStore(t, 0))
	f := rewardtest.Open(t, db, rewardtest.Options{Count: 10, Points: 10})
	if got := rewardtest.MustRedeem(t, f.Eng, f.Signer.Code(1), "m1").Points; got != 10 {
		t.Fatalf("points without a ladder = %d, want 10", got)
	}
	for i, mult := range []float64{2, 3} {
		if _, err := f.Eng.SetBrand(ladder(mult)); err != nil {
			t.Fatal(err)
		}
		before := db.Reads()
		res := rewardtest.MustRedeem(t, f.Eng, f.Signer.Code(uint32(2+i)), "m1")
		if want := int64(10 * mult); res.Points != want || res.Tier != "all" {
			t.Fatalf("after the ladder ×%v: points %d tier %q, want %d tier all", mult, res.Points, res.Tier, want)
		}
		if n := db.Reads() - before; n != 0 {
			t.Errorf("a scan read the brand record %d times; the ladder is in memory", n)
		}
	}
	rewardtest.MustAudit(t, f.Eng)
}

// Engines sharing a store (several nodes) read the ladder in every decision:
// another node's change reaches this node's next scan.
func TestSharedStoreScanReadsLadder(t *testing.T) {
	db := brandReads(openStore(t, 0))
	ks := rewardtest.Keys(t, true)
	a := reward.New(db, ks, reward.Options{NoSeenIndex: true})
	b := reward.New(db, ks, reward.Options{NoSeenIndex: true})
	_, s := rewardtest.MustMint(t, a, reward.BatchSpec{Product: "SKU-1", Count: 10, Points: new(int64(10)), Activate: true})
	if got := rewardtest.MustRedeem(t, a, s.Code(1), "m1").Points; got != 10 {
		t.Fatalf("points without a ladder = %d, want 10", got)
	}
	if _, err := b.SetBrand(ladder(2)); err != nil {
		t.Fatal(err)
	}
	before := db.Reads()
	if got := rewardtest.MustRedeem(t, a, s.Code(2), "m1").Points; got != 20 {
		t.Fatalf("after another node's ladder ×2: points %d, want 20", got)
	}
	if db.Reads() == before {
		t.Error("a scan on a shared store did not read the brand record")
	}
}
