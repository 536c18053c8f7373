package reward_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store/pgstore"
)

// statsLine finds the line of value (and day, when daily) in stats.
func statsLine(t *testing.T, stats []reward.Stat, value, day string) reward.Stat {
	t.Helper()
	for _, s := range stats {
		if s.Value == value && s.Day == day {
			return s
		}
	}
	t.Fatalf("no line for %q on %q in %+v", value, day, stats)
	return reward.Stat{}
}

func mustStats(t *testing.T, eng *reward.Engine, dim, from, to string, daily bool) []reward.Stat {
	t.Helper()
	stats, err := eng.Stats(dim, from, to, daily)
	if err != nil {
		t.Fatalf("Stats(%s, %q, %q, %v): %v", dim, from, to, daily, err)
	}
	return stats
}

// TestStats counts redemptions by product, batch, region and campaign, day
// by day, flags scans outside the batch's region, and leaves refused scans
// out.
func TestStats(t *testing.T) {
	f := newFixture(t, 20, 5)
	_, eastSigner := mustMint(t, f, reward.BatchSpec{Product: "SKU-2", Count: 5, Points: new(int64(3)), Region: "east", Activate: true})
	day1 := f.now
	mustRedeem(t, f, f.signer.Code(1), "m1")
	mustRedeem(t, f, f.signer.Code(2), "m2")
	if _, err := f.eng.Scan(reward.ScanRequest{Code: eastSigner.Code(1), Member: "m1", Region: "east"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Scan(reward.ScanRequest{Code: eastSigner.Code(2), Member: "m2", Region: "west"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.scan(f.signer.Code(1), "m3"); code(err) != reward.CodeAlreadyRedeemed {
		t.Fatalf("second scan: %v", err)
	}
	f.now = day1.AddDate(0, 0, 1)
	mustRedeem(t, f, f.signer.Code(3), "m1")

	// Stats are read without waiting for the in-memory sums to be written.
	byProduct := mustStats(t, f.eng, "product", "", "", false)
	if s := statsLine(t, byProduct, "SKU-1", ""); s.Redeemed != 3 || s.Points != 15 || s.Diverted != 0 {
		t.Errorf("SKU-1 over all days: %+v, want 3 redeemed for 15 points", s)
	}
	if s := statsLine(t, byProduct, "SKU-2", ""); s.Redeemed != 2 || s.Points != 6 || s.Diverted != 1 {
		t.Errorf("SKU-2 over all days: %+v, want 2 redeemed for 6 points, 1 diverted", s)
	}
	daily := mustStats(t, f.eng, "product", "", "", true)
	if s := statsLine(t, daily, "SKU-1", "20260501"); s.Redeemed != 2 {
		t.Errorf("SKU-1 on the first day: %+v", s)
	}
	if s := statsLine(t, daily, "SKU-1", "20260502"); s.Redeemed != 1 {
		t.Errorf("SKU-1 on the second day: %+v", s)
	}
	if got := mustStats(t, f.eng, "product", "20260502", "20260502", false); len(got) != 1 || got[0].Redeemed != 1 {
		t.Errorf("the second day alone: %+v", got)
	}
	if s := statsLine(t, mustStats(t, f.eng, "region", "", "", false), "west", ""); s.Redeemed != 1 || s.Diverted != 1 {
		t.Errorf("region west: %+v", s)
	}
	if s := statsLine(t, mustStats(t, f.eng, "region", "", "", false), "unknown", ""); s.Redeemed != 3 {
		t.Errorf("scans without a region: %+v", s)
	}
	if s := statsLine(t, mustStats(t, f.eng, "batch", "", "", false), "2", ""); s.Redeemed != 2 {
		t.Errorf("batch 2: %+v", s)
	}
	if _, err := f.eng.Stats("colour", "", "", false); code(err) != reward.CodeInvalidRequest {
		t.Errorf("an unknown dimension: %v", err)
	}
	if _, err := f.eng.Stats("product", "2026-05-01", "", false); code(err) != reward.CodeInvalidRequest {
		t.Errorf("a badly written day: %v", err)
	}
}

// TestStatsZone counts a scan at 17:00 UTC on the next day in Shanghai,
// where it is 01:00, and on the same day in UTC; the default zone is
// Shanghai's.
func TestStatsZone(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		zone *time.Location
		day  string
	}{{time.UTC, "20260501"}, {shanghai, "20260502"}, {nil, "20260502"}} {
		now := time.Date(2026, 5, 1, 17, 0, 0, 0, time.UTC)
		_, eng := newEngine(t, reward.Options{Now: func() time.Time { return now }, Zone: tc.zone})
		_, s := rewardtest.MustMint(t, eng, reward.BatchSpec{Product: "SKU-1", Count: 1, Activate: true})
		if _, err := eng.Scan(reward.ScanRequest{Code: s.Code(1), Member: "m"}); err != nil {
			t.Fatal(err)
		}
		if got := mustStats(t, eng, "product", "", "", true); len(got) != 1 || got[0].Day != tc.day {
			t.Errorf("zone %v: %+v, want the day %s", tc.zone, got, tc.day)
		}
	}
}

// TestStatsCountCouponCommission: the dashboard's commission tile sums the
// statistics, which counted per-scan commissions only; the campaign's
// counter also counts the commission of verified coupons, so the two
// disagreed (2 against 12). A verification adds its commission to the
// lines of the coupon's sale, under the verifying guide, on its own day.
func TestStatsCountCouponCommission(t *testing.T) {
	f := newFixture(t, 10, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"guide_commission": map[string]any{"per_scan": 2, "per_coupon": 10},
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 10, "valid_days": 30},
	}))
	for _, g := range []string{"G1", "G2"} {
		rewardtest.MustStore(t, f.eng, "S")
		if _, _, err := f.eng.AddGuide(reward.Guide{ID: g, Store: "S"}); err != nil {
			t.Fatal(err)
		}
	}
	res, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(1), Member: "m", Guide: "G1"})
	if err != nil || res.Coupon == nil || res.Commission != 2 {
		t.Fatalf("scan: %+v, %v; want a coupon and 2 of commission", res, err)
	}
	f.now = f.now.AddDate(0, 0, 1)
	if _, err := f.eng.VerifyCoupon(res.Coupon.ID, "G2"); err != nil {
		t.Fatal(err)
	}
	counters := mustCampaign(t, f, "promo").Counters
	byCampaign := statsLine(t, mustStats(t, f.eng, "campaign", "", "", false), "promo", "")
	if counters.Commission != 12 || byCampaign.Commission != counters.Commission {
		t.Errorf("commission: campaign counter %d, statistics %d; want both 12", counters.Commission, byCampaign.Commission)
	}
	if byCampaign.Redeemed != 1 || byCampaign.Coupons != 1 {
		t.Errorf("a verification counted as a redemption or a coupon: %+v", byCampaign)
	}
	byProduct := statsLine(t, mustStats(t, f.eng, "product", "", "", false), "SKU-1", "")
	if byProduct.Commission != 12 {
		t.Errorf("product line: %+v, want 12 of commission", byProduct)
	}
	byGuide := mustStats(t, f.eng, "guide", "", "", true)
	if s := statsLine(t, byGuide, "G1", "20260501"); s.Commission != 2 {
		t.Errorf("G1 on the day of the scan: %+v, want 2", s)
	}
	if s := statsLine(t, byGuide, "G2", "20260502"); s.Commission != 10 || s.Redeemed != 0 {
		t.Errorf("G2 on the day of the verification: %+v, want 10 and no redemption", s)
	}
	mustAudit(t, f)
}

// TestStatsNodesFlushApart: three nodes on one PostgreSQL database count
// redemptions of one product and batch on one day, and flush their
// statistics at once, 20 times over. Every node sums the same lines; when
// each flush rewrote the shared line of the day, two flushes in flight
// at once made PostgreSQL refuse one (and on a busy node, every scan in
// its group: docs/cluster.md). Each node now flushes to its own part of
// the line, claimed rather than read, so the flushes share no record:
// counted, not timed. The lines read back add the nodes' parts up.
func TestStatsNodesFlushApart(t *testing.T) {
	const rounds = 20
	dbs, nodes := startNodes(t, "postgres", 3)
	codes := mintCodes(t, nodes[0], "SKU-1", 3*rounds)
	conflicts := func() (n int64) {
		for _, db := range dbs {
			n += db.(*pgstore.DB).Conflicts()
		}
		return n
	}
	before := conflicts()
	for r := range rounds {
		for i, n := range nodes {
			rewardtest.MustRedeem(t, n, codes[3*r+i], fmt.Sprintf("m%d", i))
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, n := range nodes {
			wg.Go(func() {
				<-start
				if err := n.FlushStats(); err != nil {
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
	}
	if n := conflicts() - before; n > 0 {
		t.Errorf("three nodes flushing their statistics at once, %d times, met %d serialization failures; want none: their flushes write a record in common", rounds, n)
	}
	day := rewardtest.Start.In(nodes[2].Zone()).Format("20060102")
	stats, err := nodes[2].Stats("product", "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if s := statsLine(t, stats, "SKU-1", day); s.Redeemed != 3*rounds || len(stats) != 1 {
		t.Errorf("the day's lines read back %+v; want one line of %d redemptions", stats, 3*rounds)
	}
	page, err := nodes[1].StatsPage(reward.StatsQuery{By: "product", From: day, To: day, Daily: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Stats) != 1 || page.Stats[0].Redeemed != 3*rounds {
		t.Errorf("the day's page %+v; want one line of %d redemptions", page.Stats, 3*rounds)
	}
	page, err = nodes[0].StatsPage(reward.StatsQuery{By: "product", From: day, To: day})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Stats) != 1 || page.Stats[0].Redeemed != 3*rounds {
		t.Errorf("the range's page %+v; want one line of %d redemptions", page.Stats, 3*rounds)
	}
}
