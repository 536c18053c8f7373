package datadir_test

import (
	"context"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
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
	d := mustOpen(t, dir, datadir.Options{})
	defer func() { d.Close() }()
	<-d.SeenLoaded()
	const n = 10_000
	b, signer := rewardtest.MustMint(t, d.Engine, reward.BatchSpec{Product: "SKU-P", Count: n + 100, Points: new(int64(7)), Activate: true})
	p, err := d.Preload(context.Background(), reward.PreloadSpec{Batch: b.ID, Codes: n, PerMember: 8, Members: "pre-"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Members != (n+7)/8 || p.Records < 4*n {
		t.Fatalf("preloaded %d members, %d records", p.Members, p.Records)
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
	d = mustOpen(t, dir, datadir.Options{})
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

// TestPreloadCampaign preloads codes of a product a campaign covers (the
// example's shape: random points, a new-member bonus, gift coupons, a
// ladder): the audit is clean, so members, ledgers, coupons and the
// campaign's counters agree, and the next scan counts on from the
// preloaded totals.
func TestPreloadCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("preloads 3,000 codes")
	}
	d := mustOpen(t, t.TempDir(), datadir.Options{})
	defer func() { d.Close() }()
	<-d.SeenLoaded()
	now := time.Now().UTC().Truncate(time.Second)
	c := &reward.Campaign{
		ID: "pre", Name: "preloaded", Products: []string{"SKU-C"},
		StartsAt: now.AddDate(0, 0, -40), EndsAt: now.AddDate(0, 0, 7),
		Points: reward.PointsRule{Min: 5, Max: 20}, PointsBudget: reward.MaxBudget, NewMemberBonus: 50,
		Coupon: &reward.CouponRule{Title: "Free bib", Probability: 0.1, Stock: reward.MaxBudget, ValidDays: 30},
		Tiers:  []reward.Tier{{Name: "gold", MinGrowth: 100, Multiplier: 1.5}},
	}
	if _, err := d.Engine.ApplyCampaign(c); err != nil {
		t.Fatal(err)
	}
	const n = 3_000
	b, signer := rewardtest.MustMint(t, d.Engine, reward.BatchSpec{Product: "SKU-C", Count: n + 10, Activate: true})
	p, err := d.Preload(context.Background(), reward.PreloadSpec{Batch: b.ID, Codes: n, PerMember: 10, Members: "pre-"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := d.Engine.Audit()
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Violations) > 0 || a.Redemptions != n || a.Members != p.Members || a.Coupons == 0 {
		t.Fatalf("audit %d redemptions, %d members, %d coupons, violations %v", a.Redemptions, a.Members, a.Coupons, a.Violations)
	}
	cv, err := d.Engine.Campaign("pre")
	if err != nil {
		t.Fatal(err)
	}
	if cv.Counters.RewardedScans != n || cv.Counters.CouponsIssued != int64(a.Coupons) || cv.Counters.PointsPaid < n*5+50*int64(p.Members) {
		t.Fatalf("campaign counters after the preload: %+v (%d coupons)", cv.Counters, a.Coupons)
	}
	m, err := d.Engine.Member("pre-001", "", 100)
	if err != nil || m.Redemptions != 10 || m.Points < 10*5+50 {
		t.Fatalf("member pre-001: %+v, %v", m, err)
	}
	if _, err := d.Engine.Scan(reward.ScanRequest{Code: signer.Code(7), Member: "someone-else"}); reward.ErrorCode(err) != reward.CodeAlreadyRedeemed {
		t.Fatalf("a scan of a preloaded code: %v, want already_redeemed", err)
	}
	if _, err := d.Engine.Scan(reward.ScanRequest{Code: signer.Code(n + 1), Member: "new"}); err != nil {
		t.Fatalf("a new code after the preload: %v", err)
	}
	if cv, err = d.Engine.Campaign("pre"); err != nil || cv.Counters.RewardedScans != n+1 {
		t.Fatalf("campaign counters after one more scan: %+v, %v", cv, err)
	}
	a, err = d.Engine.Audit()
	if err != nil || len(a.Violations) > 0 {
		t.Fatalf("audit after one more scan: %v %v", err, a.Violations)
	}
}
