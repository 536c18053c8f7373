package reward_test

import (
	"errors"
	"testing"

	"github.com/yima-dev/yima/reward"
)

func TestBatchRanges(t *testing.T) {
	b := &reward.Batch{ID: 1, Count: 100}
	if b.State(5) != reward.Inactive {
		t.Fatal("a new batch is not inactive")
	}
	b.SetRange(1, 50, reward.Active)
	b.SetRange(40, 45, reward.Revoked)
	b.SetRange(41, 60, reward.Active)
	for serial, want := range map[uint32]reward.RangeState{1: reward.Active, 39: reward.Active, 42: reward.Revoked, 46: reward.Active, 60: reward.Active, 61: reward.Inactive} {
		if got := b.State(serial); got != want {
			t.Errorf("serial %d is %s, want %s", serial, got, want)
		}
	}
	if a, r := b.Counts(); a != 54 || r != 6 {
		t.Errorf("Counts = %d active %d revoked, want 54 and 6", a, r)
	}
	if err := b.SetRange(90, 101, reward.Active); !errors.Is(err, reward.ErrRange) {
		t.Errorf("range past the batch: %v, want ErrRange", err)
	}
}

// TestPalletByPalletActivationStaysOneRange: shipments activated in turn
// for one region extend one range; another region or a revocation between
// them starts a new one, and every serial keeps its state and region.
func TestPalletByPalletActivationStaysOneRange(t *testing.T) {
	b := &reward.Batch{ID: 1, Count: 100_000}
	for from := uint32(1); from <= 50_000; from += 1000 {
		if err := b.AddRange(reward.Range{From: from, To: from + 999, State: reward.Active, Region: "east"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.Ranges) != 1 || b.Ranges[0] != (reward.Range{From: 1, To: 50_000, State: reward.Active, Region: "east"}) {
		t.Fatalf("50 pallets for the east: %+v", b.Ranges)
	}
	b.AddRange(reward.Range{From: 50_001, To: 51_000, State: reward.Active, Region: "west"})
	b.AddRange(reward.Range{From: 100, To: 200, State: reward.Revoked})
	b.AddRange(reward.Range{From: 51_001, To: 52_000, State: reward.Active, Region: "west"})
	if len(b.Ranges) != 4 {
		t.Fatalf("ranges after another region and a revocation: %+v", b.Ranges)
	}
	for serial, want := range map[uint32]string{1: "active east", 150: "revoked east", 50_500: "active west", 51_500: "active west", 52_001: "inactive "} {
		if got := string(b.State(serial)) + " " + b.RegionOf(serial); got != want {
			t.Errorf("serial %d: %s, want %s", serial, got, want)
		}
	}
}

// TestRangeRegions: a pallet activated for a region is meant to be sold
// there, whatever the batch says; the latest activation naming a region
// wins, and serials no such activation covers keep the batch's region.
func TestRangeRegions(t *testing.T) {
	b := &reward.Batch{ID: 1, Count: 100, Region: "east"}
	for _, r := range []reward.Range{
		{From: 1, To: 50, State: reward.Active, Region: "north"},
		{From: 41, To: 60, State: reward.Active},
		{From: 45, To: 47, State: reward.Active, Region: "south"},
	} {
		if err := b.AddRange(r); err != nil {
			t.Fatal(err)
		}
	}
	for serial, want := range map[uint32]string{1: "north", 44: "north", 46: "south", 55: "east", 99: "east"} {
		if got := b.RegionOf(serial); got != want {
			t.Errorf("serial %d is meant for %q, want %q", serial, got, want)
		}
	}
	if err := b.AddRange(reward.Range{From: 1, To: 2, State: reward.Revoked, Region: "west"}); err == nil {
		t.Error("a revocation with a region was accepted")
	}
}
