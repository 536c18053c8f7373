package datadir_test

import (
	"context"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan/node/datadir"
)

// TestPreload fills a store with 10,000 redeemed codes through the bulk
// load: the store's audit is clean, a preloaded code is refused as already
// redeemed (before and after a restart, whatever the index of scanned codes
// knows), a new code is paid, and the feed holds the preload's events.
func TestPreload(t *testing.T) {
	if testing.Short() {
		t.Skip("preloads 10,000 codes")
	}
	dir := t.TempDir()
	d, err := datadir.Open(dir, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { d.Close() }()
	<-d.SeenLoaded()
	const n = 10_000
	b, err := d.Engine.CreateBatch(reward.BatchSpec{Product: "SKU-P", Count: n + 100, Points: new(int64(7)), Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.Preload(context.Background(), reward.PreloadSpec{Batch: b.ID, Codes: n, PerMember: 8, Members: "pre-"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Members != (n+7)/8 || p.Records < 4*n {
		t.Fatalf("preloaded %d members, %d records", p.Members, p.Records)
	}
	signer, err := d.Engine.Signer(b)
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		a, err := d.Engine.Audit()
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Violations) > 0 || a.Redemptions < n || a.Members < p.Members {
			t.Fatalf("%s: audit %d redemptions, %d members, violations %v", when, a.Redemptions, a.Members, a.Violations)
		}
		for _, serial := range []uint32{1, 4242, n} {
			_, err := d.Engine.Scan(reward.ScanRequest{Code: signer.Code(serial), Member: "someone-else"})
			if reward.ErrorCode(err) != reward.CodeAlreadyRedeemed {
				t.Fatalf("%s: a scan of preloaded code %d: %v, want already_redeemed", when, serial, err)
			}
		}
		m, err := d.Engine.Member("pre-0001", "", 100)
		if err != nil || m.Points != 8*7 {
			t.Fatalf("%s: member pre-0001: %+v, %v; want 56 points", when, m, err)
		}
	}
	check("after the preload")
	out, err := d.Engine.Scan(reward.ScanRequest{Code: signer.Code(n + 1), Member: "new"})
	if err != nil {
		t.Fatalf("a new code after the preload: %v", err)
	}
	t.Logf("new scan: %s", out)
	first, head, err := d.Engine.FeedBounds()
	if err != nil || head < uint64(p.FeedTo) || uint64(p.FeedTo-p.FeedFrom) < 2*n || first > uint64(p.FeedFrom)+1 {
		t.Fatalf("feed %d..%d after a preload of events %d..%d: %v", first, head, p.FeedFrom, p.FeedTo, err)
	}

	// A restart rebuilds the index of scanned codes from the store.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d, err = datadir.Open(dir, datadir.Options{}); err != nil {
		t.Fatal(err)
	}
	<-d.SeenLoaded()
	check("after a restart")
	if _, err := d.Engine.Scan(reward.ScanRequest{Code: signer.Code(n + 2), Member: "new"}); err != nil {
		t.Fatalf("a new code after the restart: %v", err)
	}
	// A second preload of the same codes is refused, and leaves nothing.
	if _, err := d.Preload(context.Background(), reward.PreloadSpec{Batch: b.ID, Codes: 10, Members: "again-"}); err == nil {
		t.Fatal("a preload of redeemed codes succeeded")
	}
}
