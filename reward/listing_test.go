package reward_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// countingStore counts the records its scans visit.
type countingStore struct {
	store.DB
	visited *int
}

func (c countingStore) Scan(prefix, start []byte, fn func(k, v []byte) bool) error {
	return c.DB.Scan(prefix, start, func(k, v []byte) bool {
		*c.visited++
		return fn(k, v)
	})
}

// TestStatsPageWorkIsBounded: GET /v1/stats read every line of a dimension
// whatever days it asked for, so years of lines of thousands of guides
// made each request read them all. A page seeks each value's days of the
// range and looks at Limit values: its reads stay near Limit × days in
// range, and the pages reach every value exactly once.
func TestStatsPageWorkIsBounded(t *testing.T) {
	visited := 0
	now := rewardtest.Start
	rf := rewardtest.Open(t, countingStore{openStore(t, 0), &visited}, rewardtest.Options{Count: 1, Now: func() time.Time { return now }})
	const guides, oldDays = 300, 20
	err := rf.DB.Update(func(tx store.Tx) error {
		for g := range guides {
			v := fmt.Sprintf("G%03d", g)
			days := []string{"20260501"}
			for d := range oldDays {
				days = append(days, fmt.Sprintf("202401%02d", d+1))
			}
			for _, day := range days {
				raw, _ := json.Marshal(reward.Stat{Dimension: "guide", Value: v, Day: day, Redeemed: 1, Commission: 2})
				tx.Put([]byte("st/guide\x00"+v+"\x00"+day), raw)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	after, pages := "", 0
	for {
		visited = 0
		p, err := rf.Eng.StatsPage(reward.StatsQuery{By: "guide", From: "20260401", After: after, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if visited > 10*4 {
			t.Fatalf("a page of 10 values over one day with data read %d records", visited)
		}
		for _, s := range p.Stats {
			if seen[s.Value] || s.Redeemed != 1 || s.Day != "" {
				t.Fatalf("line %+v (seen before: %v)", s, seen[s.Value])
			}
			seen[s.Value] = true
		}
		if pages++; p.Next == "" {
			break
		}
		after = p.Next
	}
	if len(seen) != guides || pages != guides/10 {
		t.Fatalf("%d values over %d pages, want %d over %d", len(seen), pages, guides, guides/10)
	}
	// A range reaching into the old days sums them; daily lines split them.
	p, err := rf.Eng.StatsPage(reward.StatsQuery{By: "guide", From: "20251231", To: "20260501", Limit: 1})
	if err != nil || len(p.Stats) != 1 || p.Stats[0].Redeemed != 1 {
		t.Fatalf("the last year: %+v %v", p, err)
	}
	p, err = rf.Eng.StatsPage(reward.StatsQuery{By: "guide", From: "20240101", To: "20240131", Daily: true, Limit: 2})
	if err != nil || len(p.Stats) != 2*oldDays || p.Next != "G001" {
		t.Fatalf("two values' daily lines of January 2024: %d lines, next %q, %v", len(p.Stats), p.Next, err)
	}
	for _, q := range []reward.StatsQuery{
		{By: "guide", From: "20200101", To: "20260501"}, // over MaxStatsDays
		{By: "guide", From: "20260502", To: "20260501"}, // backwards
		{By: "guide", From: "2026-05-01"},
		{By: "shoe"},
	} {
		if _, err := rf.Eng.StatsPage(q); reward.ErrorCode(err) != reward.CodeInvalidRequest {
			t.Errorf("%+v: %v, want invalid_request", q, err)
		}
	}
}

// allPages walks a listing page by page, from the first to the one that
// gives no cursor, and returns the ids of what the pages showed.
func allPages[T any](t *testing.T, page func(after string) ([]T, string, error), id func(T) string) []string {
	t.Helper()
	var out []string
	after := ""
	for range 20 {
		items, next, err := page(after)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			out = append(out, id(it))
		}
		if next == "" {
			return out
		}
		after = next
	}
	t.Fatal("the pages never end")
	return nil
}

// TestListingPages: batches, tokens and campaigns come in pages that reach
// every record once, whatever the page size, and a cursor that no page
// returned is refused or ends the listing, never read as another.
func TestListingPages(t *testing.T) {
	f := newFixture(t, 1, 0)
	for i := range 6 {
		if _, err := f.eng.CreateBatch(reward.BatchSpec{Product: "SKU-P", Count: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.eng.CreateToken(reward.RoleApp, fmt.Sprintf("app-%d", i), ""); err != nil {
			t.Fatal(err)
		}
		mustApply(t, f, campaignDoc(t, map[string]any{"id": fmt.Sprintf("c%d", i)}))
	}
	batches := allPages(t, func(after string) ([]*reward.Batch, string, error) { return f.eng.BatchPage(after, 4, reward.Owner{}) },
		func(b *reward.Batch) string { return fmt.Sprint(b.ID) })
	tokens := allPages(t, func(after string) ([]reward.Token, string, error) { return f.eng.TokenPage(after, 4) },
		func(t reward.Token) string { return t.ID })
	campaigns := allPages(t, func(after string) ([]*reward.CampaignView, string, error) { return f.eng.CampaignPage(after, 4) },
		func(c *reward.CampaignView) string { return c.ID })
	wantTokens, _ := f.eng.Tokens()
	if len(batches) != 7 || len(tokens) != len(wantTokens) || len(campaigns) != 6 {
		t.Fatalf("pages reached %d batches, %d tokens, %d campaigns", len(batches), len(tokens), len(campaigns))
	}
	for i := 1; i < len(tokens); i++ {
		if tokens[i] <= tokens[i-1] {
			t.Fatalf("tokens out of order or twice: %v", tokens)
		}
	}
	if bs, next, err := f.eng.BatchPage("4294967295", 4, reward.Owner{}); err != nil || len(bs) != 0 || next != "" {
		t.Fatalf("after the last possible batch: %v %q %v", bs, next, err)
	}
	for name, err := range map[string]error{
		"batch -1":              second(f.eng.BatchPage("-1", 4, reward.Owner{})),
		"batch 2^32":            second(f.eng.BatchPage("4294967296", 4, reward.Owner{})),
		"token xyz":             second(f.eng.TokenPage("xyz", 4)),
		"campaign of 129 bytes": second(f.eng.CampaignPage(strings.Repeat("x", 129), 4)),
		"campaign with a NUL":   second(f.eng.CampaignPage("c1\x00", 4)),
	} {
		if reward.ErrorCode(err) != reward.CodeInvalidRequest {
			t.Errorf("cursor %s: %v, want invalid_request", name, err)
		}
	}
}

func second[A, B any](_ A, _ B, err error) error { return err }

// TestFactoryBatchPageWorkIsBounded: a factory's page of batches skipped the
// brand's batches without counting them, so a factory token among many
// batches read the whole listing on every page. A page now reads at most a
// bounded number of records, taken or skipped; the pages still reach the
// factory's every batch, and only its own.
func TestFactoryBatchPageWorkIsBounded(t *testing.T) {
	visited := 0
	rf := rewardtest.Open(t, countingStore{openStore(t, 0), &visited}, rewardtest.Options{Count: 1})
	const brandBatches = 450
	mint := func(spec reward.BatchSpec) uint32 {
		b, err := rf.Eng.CreateBatch(spec)
		if err != nil {
			t.Fatal(err)
		}
		return b.ID
	}
	first := mint(reward.BatchSpec{Product: "SKU-F", Count: 1, Factory: "tok-f", FactoryName: "F"})
	for range brandBatches {
		mint(reward.BatchSpec{Product: "SKU-B", Count: 1})
	}
	last := mint(reward.BatchSpec{Product: "SKU-F", Count: 1, Factory: "tok-f", FactoryName: "F"})

	factory := reward.Owner{Token: "tok-f", Factory: "F"}
	var got []uint32
	after, pages := "", 0
	for {
		visited = 0
		bs, next, err := rf.Eng.BatchPage(after, 10, factory)
		if err != nil {
			t.Fatal(err)
		}
		if visited > 2*reward.MaxPage+1 {
			t.Fatalf("one page of a factory's batches read %d records; a page reads at most %d", visited, 2*reward.MaxPage+1)
		}
		for _, b := range bs {
			got = append(got, b.ID)
		}
		pages++
		if next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("the pages never end")
		}
		after = next
	}
	if fmt.Sprint(got) != fmt.Sprint([]uint32{first, last}) {
		t.Fatalf("the factory's pages listed batches %v, want its own %v", got, []uint32{first, last})
	}
}

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
