package reward_test

import (
	"context"
	"sync"
	"testing"

	"github.com/yima-dev/yima/reward"
)

// TestSeenIndexLoadsBesideScans restarts an engine on a store with scanned
// codes and loads its index of scanned codes while scans go on: codes
// scanned before the restart, and fresh codes scanned during the load, must
// all be refused when scanned again after it. An index that lost either
// would let a code pay twice.
func TestSeenIndexLoadsBesideScans(t *testing.T) {
	const before, during = 3000, 400
	f := newFixture(t, before+during, 5)
	codes := allCodes(f, before+during)
	for s := 1; s <= before; s++ {
		if _, err := f.scan(codes[s], "early"); err != nil {
			t.Fatal(err)
		}
	}
	// A restarted server: a new engine over the same store, index not
	// loaded yet.
	eng := reward.New(f.db, f.eng.Keys(), reward.Options{})
	scan := func(code, member string) error {
		_, err := eng.Scan(reward.ScanRequest{Code: code, Member: member})
		return err
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := eng.LoadSeen(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	go func() {
		defer wg.Done()
		for s := before + 1; s <= before+during; s++ {
			if err := scan(codes[s], "during"); err != nil {
				t.Errorf("fresh code during the load: %v", err)
			}
			if err := scan(codes[s-before], "during"); reward.ErrorCode(err) != reward.CodeAlreadyRedeemed {
				t.Errorf("old code during the load: %v, want already_redeemed", err)
			}
		}
	}()
	wg.Wait()
	for s := 1; s <= before+during; s++ {
		if err := scan(codes[s], "late"); reward.ErrorCode(err) != reward.CodeAlreadyRedeemed {
			t.Fatalf("serial %d scanned again after the load: %v, want already_redeemed", s, err)
		}
	}
	mustAudit(t, f)
}

// TestSeenIndexIsForOneWriter: two engines over one store, as two nodes
// would be. The index of scanned codes knows only its own engine's scans,
// so with it a code the other engine redeemed pays again; with
// NoSeenIndex every scan reads the store and the code pays once. (On the
// Pebble engine: a backend that runs each decision twice hides the hazard,
// its first run setting the bit the second one reads.)
func TestSeenIndexIsForOneWriter(t *testing.T) {
	useBackend(t, "pebble")
	for _, noIndex := range []bool{false, true} {
		f := newFixture(t, 10, 5)
		opts := reward.Options{NoSeenIndex: noIndex}
		a := reward.New(f.db, f.eng.Keys(), opts)
		b := reward.New(f.db, f.eng.Keys(), opts)
		for _, e := range []*reward.Engine{a, b} {
			if err := e.LoadSeen(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		c := f.signer.Code(1)
		if _, err := b.Scan(reward.ScanRequest{Code: c, Member: "bob"}); err != nil {
			t.Fatal(err)
		}
		_, err := a.Scan(reward.ScanRequest{Code: c, Member: "ann"})
		switch {
		case noIndex && reward.ErrorCode(err) != reward.CodeAlreadyRedeemed:
			t.Errorf("without the index, a code another engine redeemed: %v, want already_redeemed", err)
		case !noIndex && err != nil:
			t.Errorf("with the index, a code another engine redeemed was refused (%v): the index is not what this test says it is", err)
		}
	}
}
