package reward_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
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

// TestBatchCodeVersion holds the rule that a batch's codes are of one
// version and one key, the ones its record names: new batches mint version
// 2; a batch recorded before version 2 existed keeps minting and redeeming
// version 1; a genuine code of the same serial in the other version, or
// under another key, is not one of the batch's codes and pays nothing, so
// that one item never has two codes that each pay.
func TestBatchCodeVersion(t *testing.T) {
	f := newFixture(t, 10, 5)
	if f.batch.CodeVersion != codegen.V2 || f.signer.Version() != codegen.V2 {
		t.Fatalf("a new batch records code version %d and mints %d, want 2", f.batch.CodeVersion, f.signer.Version())
	}
	ks := f.eng.Keys()
	v1, err := ks.VersionSigner(codegen.V1, f.batch.KeyID, f.batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.scan(v1.Code(1), "alice"); code(err) != reward.CodeUnknownBatch {
		t.Fatalf("a version 1 code of a version 2 batch: %v, want %s", err, reward.CodeUnknownBatch)
	}
	if st, err := f.eng.Status(v1.Code(1)); err != nil || st.Valid || st.Reason != string(reward.CodeUnknownBatch) {
		t.Fatalf("status of a version 1 code of a version 2 batch: %+v, %v; want invalid, %s", st, err, reward.CodeUnknownBatch)
	}
	if _, err := f.scan(f.signer.Code(1), "alice"); err != nil {
		t.Fatalf("the batch's own code: %v", err)
	}

	// Another key signs the same batch and serial genuinely after a
	// rotation; the batch was minted under the old key.
	if _, err := ks.Rotate(time.Unix(5, 0)); err != nil {
		t.Fatal(err)
	}
	other, err := ks.VersionSigner(codegen.V2, ks.Primary, f.batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.scan(other.Code(2), "alice"); code(err) != reward.CodeUnknownBatch {
		t.Fatalf("a code of the batch under another key: %v, want %s", err, reward.CodeUnknownBatch)
	}
	if s, err := f.eng.Signer(f.batch); err != nil || s.Code(2) != f.signer.Code(2) {
		t.Fatalf("after a rotation the batch signs serial 2 as %v (%v), not as it was printed", s, err)
	}

	// A batch recorded before version 2: its record has no code version.
	old, err := f.eng.CreateBatch(reward.BatchSpec{Product: "SKU-1", Count: 10, Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	old.CodeVersion = 0
	raw, err := json.Marshal(old)
	if err != nil || strings.Contains(string(raw), "code_version") {
		t.Fatalf("record %s, %v: want one without code_version", raw, err)
	}
	key := binary.BigEndian.AppendUint32([]byte("b/"), old.ID)
	putBytes(t, f.db, key, raw)
	old, err = f.eng.Batch(old.ID)
	if err != nil || old.Codes() != codegen.V1 {
		t.Fatalf("a batch record without a code version reads as version %d (%v), want 1", old.Codes(), err)
	}
	s1, err := f.eng.Signer(old)
	if err != nil || s1.Version() != codegen.V1 {
		t.Fatalf("the old batch's signer mints version %v (%v), want 1", s1, err)
	}
	v2, err := ks.VersionSigner(codegen.V2, old.KeyID, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.scan(v2.Code(3), "bob"); code(err) != reward.CodeUnknownBatch {
		t.Fatalf("a version 2 code of a version 1 batch: %v, want %s", err, reward.CodeUnknownBatch)
	}
	res, err := f.scan(s1.Code(3), "bob")
	if err != nil || res.Result != "redeemed" {
		t.Fatalf("a version 1 code of its version 1 batch: %+v, %v", res, err)
	}
	if _, err := f.scan(s1.Code(3), "carol"); code(err) != reward.CodeAlreadyRedeemed {
		t.Fatalf("the version 1 code scanned again: %v, want %s", err, reward.CodeAlreadyRedeemed)
	}
}
