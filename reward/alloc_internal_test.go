package reward

import (
	"testing"
	"time"

	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/memstore"
)

// noReads is a Tx that fails the test on any use: the decision's step
// under test must find what it needs in memory.
type noReads struct {
	store.Tx
	t *testing.T
}

func (tx noReads) Get(key []byte) ([]byte, bool, error) {
	tx.t.Fatalf("read %q; it is in memory", key)
	return nil, false, nil
}

// The scan's steps that run on every redemption and need no record do not
// allocate: the tier multiplier from the ladder kept in memory, and the
// statistics lines a redemption is added to once they exist.
func TestScanStepsDoNotAllocate(t *testing.T) {
	e := New(memstore.New(memstore.Options{}), nil, Options{})
	if _, err := e.SetBrand(BrandChange{Tiers: &[]Tier{{Name: "silver", Multiplier: 1.5}, {Name: "gold", MinGrowth: 100, Multiplier: 2}}}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	m := &Member{ID: "m1", Booked: true, Growth: 150, GrowthMonths: []Lot{{Month: "202605", Amount: 150}}}
	var tx Tx = noReads{t: t}
	var mult float64
	n := testing.AllocsPerRun(200, func() {
		mult, _, _ = e.PointMultiplier(tx, m, nil, now)
	})
	if mult != 2 {
		t.Fatalf("multiplier %v, want gold's 2", mult)
	}
	if n != 0 {
		t.Errorf("the tier multiplier allocates %v times", n)
	}

	r := &Redemption{Product: "SKU-1", Batch: 7, Region: "east", Campaign: "spring", Source: "tmall", Points: 5}
	vals := saleValues(r, "G1", "S1")
	add := func(s *Stat) { s.Redeemed++ }
	e.sumStats(vals, now, add) // the lines exist from here on
	if n := testing.AllocsPerRun(200, func() { e.sumStats(vals, now, add) }); n != 0 {
		t.Errorf("counting a redemption into existing statistics lines allocates %v times", n)
	}
	if got := e.stats[string(statKey("guide", "G1", "20260501"))]; got == nil || got.Redeemed != 202 {
		t.Errorf("guide G1's line: %+v, want 202 redemptions", got)
	}
}
