package reward_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

// TestFlagsPageWorkIsBounded fills the flags with one kind and asks for the
// other: a page stops after a bounded number of flags with a cursor, rather
// than reading every flag of the other kind, and following the cursors
// still reaches the flag asked for.
func TestFlagsPageWorkIsBounded(t *testing.T) {
	const diverted = 4*reward.MaxPage + 50
	f := newFixture(t, 10, 5)
	_, signer := rewardtest.MustMint(t, f.eng, reward.BatchSpec{Product: "SKU-EAST", Count: diverted, Region: "east", Points: new(int64(1)), Activate: true})
	codes := rewardtest.Codes(signer, diverted)
	errs := make(chan error, diverted)
	rewardtest.Workers(16, diverted, func(i int) {
		if _, err := f.eng.Scan(reward.ScanRequest{Code: codes[i], Member: fmt.Sprintf("m%d", i), Region: "west"}); err != nil {
			errs <- err
		}
	})
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The next day a third person scans a redeemed code.
	f.now = f.now.Add(24 * time.Hour)
	copied := f.signer.Code(1)
	mustRedeem(t, f, copied, "buyer")
	for _, who := range []string{"second", "third"} {
		wantRefused(t, f, copied, who, reward.CodeAlreadyRedeemed)
	}

	q := reward.FlagQuery{Kind: reward.FlagManyScanners}
	first, err := f.eng.Flags(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Flags) != 0 || first.Next == "" {
		t.Fatalf("first page of many_scanners behind %d diverted flags: %d flags, next %q; want an empty page with a cursor (the work of one page is bounded)", diverted, len(first.Flags), first.Next)
	}
	var found []reward.Flag
	pages := 0
	for q.After = ""; ; q.After = first.Next {
		if pages++; pages > 10 {
			t.Fatal("cursors do not end")
		}
		if first, err = f.eng.Flags(q); err != nil {
			t.Fatal(err)
		}
		found = append(found, first.Flags...)
		if first.Next == "" {
			break
		}
	}
	if len(found) != 1 || found[0].Code != copied {
		t.Fatalf("following the cursors found %v, want the one many_scanners flag", flagKinds(found))
	}
	// Every diverted flag is listed once across pages.
	seen := map[string]bool{}
	q = reward.FlagQuery{Kind: reward.FlagDiverted, Limit: reward.MaxPage}
	for pages = 0; ; pages++ {
		p, err := f.eng.Flags(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range p.Flags {
			if seen[fl.Code] {
				t.Fatalf("flag %s listed twice", fl.Code)
			}
			seen[fl.Code] = true
		}
		if p.Next == "" {
			break
		}
		q.After = p.Next
	}
	if len(seen) != diverted {
		t.Fatalf("pages listed %d diverted flags, want %d", len(seen), diverted)
	}
}

// TestLedgerCursorBeyondTheEnd asks for a member's and a guide's ledger
// after a cursor far past their newest entry: the answer starts at the
// newest entry at once instead of walking every number down to it.
func TestLedgerCursorBeyondTheEnd(t *testing.T) {
	f := newFixture(t, 5, 5)
	rewardtest.MustStore(t, f.eng, "S")
	if _, _, err := f.eng.AddGuide(reward.Guide{ID: "G1", Store: "S"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := f.eng.Scan(reward.ScanRequest{Code: f.signer.Code(uint32(i + 1)), Member: "m1", Guide: "G1"}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		v, err := f.eng.Member("m1", "18446744073709551615", 0)
		if err != nil || len(v.Ledger) == 0 {
			t.Errorf("member page after a huge cursor: %v, %v", v, err)
		}
		g, err := f.eng.GuideView("G1", reward.GuidePage{LedgerBefore: "18446744073709551615"})
		if err != nil {
			t.Errorf("guide page after a huge cursor: %v", err)
		} else if g.Commission > 0 && len(g.Ledger) == 0 {
			t.Errorf("guide page after a huge cursor is empty: %+v", g)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a page after cursor 2^64-1 did not answer in 10s")
	}
}
