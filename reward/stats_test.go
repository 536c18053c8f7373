package reward_test

import (
	"encoding/json"
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

// storesFixture opens a fixture with a campaign paying 2 per scan and 10
// per verified gift, a gift on every scan, and guides G1 of store S1 and G2
// of store S2.
func storesFixture(t *testing.T, count uint32, extra map[string]any) *fixture {
	t.Helper()
	f := newFixture(t, count, 5)
	fields := map[string]any{
		"guide_commission": map[string]any{"per_scan": 2, "per_coupon": 10},
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 1000, "valid_days": 30},
	}
	for k, v := range extra {
		fields[k] = v
	}
	mustApply(t, f, campaignDoc(t, fields))
	for _, g := range [][2]string{{"G1", "S1"}, {"G2", "S2"}} {
		rewardtest.MustStore(t, f.eng, g[1])
		if _, _, err := f.eng.AddGuide(reward.Guide{ID: g[0], Store: g[1]}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// wantLine checks the measures of value's line over all days.
func wantLine(t *testing.T, stats []reward.Stat, dim, value string, want reward.Stat) {
	t.Helper()
	got := statsLine(t, stats, value, "")
	want.Dimension, want.Value = dim, value
	if got != want {
		t.Errorf("%s %s:\n got %+v\nwant %+v", dim, value, got, want)
	}
}

// TestStatsBySourceAndStore counts redemptions, gifts verified, new
// members and commission by the scan's source and by the store the sale
// belongs to: the bound guide's store wins over the scan's guide's, a
// verification counts at the verifying guide's store, and scans without a
// source or a store count under "(none)".
func TestStatsBySourceAndStore(t *testing.T) {
	f := storesFixture(t, 20, nil)
	// m1 joins G1 (store S1) by the guide's QR before buying anything.
	if _, err := f.eng.Bind("m1", "G1", false); err != nil {
		t.Fatal(err)
	}
	scan := func(n uint32, member, guide, source string) reward.ScanResult {
		t.Helper()
		res, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(n), Member: member, Guide: guide, Source: source})
		if err != nil {
			t.Fatalf("scan %d by %s: %v", n, member, err)
		}
		return res
	}
	scan(1, "m1", "G2", "tmall")            // S1: m1's own guide's store, not the scan's
	gift := scan(2, "m2", "G2", "poster-1") // S2, and m2 is now bound to G2
	scan(3, "m3", "", "")                   // no store, no source
	scan(4, "m1", "", "tmall")              // S1 again; m1 is no longer new
	f.now = f.now.AddDate(0, 0, 1)
	// G1 verifies at S1 the gift of a sale at S2.
	if _, err := f.eng.VerifyCoupon(gift.Coupon.ID, "G1"); err != nil {
		t.Fatal(err)
	}
	// A second verification is refused and counts nothing.
	if _, err := f.eng.VerifyCoupon(gift.Coupon.ID, "G2"); code(err) != reward.CodeAlreadyUsed {
		t.Fatalf("second verification: %v", err)
	}

	byStore := mustStats(t, f.eng, "store", "", "", false)
	if len(byStore) != 3 {
		t.Errorf("by store: %+v, want the lines (none), S1 and S2", byStore)
	}
	wantLine(t, byStore, "store", "S1", reward.Stat{Redeemed: 2, Points: 20, Coupons: 2, Commission: 2 + 2 + 10, Verified: 1, NewMembers: 1})
	wantLine(t, byStore, "store", "S2", reward.Stat{Redeemed: 1, Points: 10, Coupons: 1, Commission: 2, NewMembers: 1})
	wantLine(t, byStore, "store", reward.NoValue, reward.Stat{Redeemed: 1, Points: 10, Coupons: 1, NewMembers: 1})

	bySource := mustStats(t, f.eng, "source", "", "", false)
	wantLine(t, bySource, "source", "tmall", reward.Stat{Redeemed: 2, Points: 20, Coupons: 2, Commission: 4, NewMembers: 1})
	// The gift verified counts for the channel that sold it.
	wantLine(t, bySource, "source", "poster-1", reward.Stat{Redeemed: 1, Points: 10, Coupons: 1, Commission: 2 + 10, Verified: 1, NewMembers: 1})
	wantLine(t, bySource, "source", reward.NoValue, reward.Stat{Redeemed: 1, Points: 10, Coupons: 1, NewMembers: 1})

	// Day by day: the verification is on its own day.
	daily := mustStats(t, f.eng, "store", "", "", true)
	if s := statsLine(t, daily, "S1", "20260502"); s.Verified != 1 || s.Commission != 10 || s.Redeemed != 0 {
		t.Errorf("S1 on the day of the verification: %+v", s)
	}
	if got := mustStats(t, f.eng, "store", "20260501", "20260501", false); len(got) != 3 || statsLine(t, got, "S1", "").Verified != 0 {
		t.Errorf("the day of the scans alone: %+v", got)
	}
	// The guide's line counts the gift they verified too.
	if s := statsLine(t, mustStats(t, f.eng, "guide", "", "", false), "G1", ""); s.Verified != 1 || s.NewMembers != 1 {
		t.Errorf("G1: %+v, want 1 verified and 1 new member", s)
	}
	// The member keeps the store of their first touch.
	for _, c := range []struct{ member, store, source string }{{"m1", "S1", "tmall"}, {"m2", "S2", "poster-1"}, {"m3", "", ""}} {
		ft := mustMember(t, f, c.member).FirstTouch
		if ft == nil || ft.Store != c.store || ft.Source != c.source {
			t.Errorf("%s's first touch: %+v, want store %q source %q", c.member, ft, c.store, c.source)
		}
	}
	if r := redemptionOf(t, f, f.signer.Code(1)); r.Store != "S1" {
		t.Errorf("redemption of code 1: store %q, want S1", r.Store)
	}
	mustAudit(t, f)
}

// TestStatsStoreWithoutCampaign: a product no campaign covers pays its
// batch's points and no commission, but the sale still belongs to the
// store of the guide who made it.
func TestStatsStoreWithoutCampaign(t *testing.T) {
	f := storesFixture(t, 5, nil)
	_, s := mustMint(t, f, reward.BatchSpec{Product: "SKU-9", Count: 2, Points: new(int64(3)), Activate: true})
	if _, _, err := scanReq(f, reward.ScanRequest{Code: s.Code(1), Member: "m", Guide: "G2", Source: "jd"}); err != nil {
		t.Fatal(err)
	}
	wantLine(t, mustStats(t, f.eng, "store", "", "", false), "store", "S2", reward.Stat{Redeemed: 1, Points: 3, NewMembers: 1})
	wantLine(t, mustStats(t, f.eng, "source", "", "", false), "source", "jd", reward.Stat{Redeemed: 1, Points: 3, NewMembers: 1})
}

// TestStatsRefusedScanCountsNothing: scans the campaign's targeting
// refuses (wrong source, wrong store) add no line, make no new member and
// keep their code.
func TestStatsRefusedScanCountsNothing(t *testing.T) {
	f := storesFixture(t, 5, map[string]any{"targeting": map[string]any{"sources": []string{"tmall"}, "stores": []string{"S1"}}})
	if _, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(1), Member: "m1", Guide: "G1", Source: "jd"}); code(err) != reward.CodeNotForSource {
		t.Fatalf("a scan from jd: %v, want %s", err, reward.CodeNotForSource)
	}
	if _, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(1), Member: "m2", Guide: "G2", Source: "tmall"}); code(err) != reward.CodeNotInStore {
		t.Fatalf("a scan at S2: %v, want %s", err, reward.CodeNotInStore)
	}
	for _, dim := range reward.Dimensions {
		if got := mustStats(t, f.eng, dim, "", "", false); len(got) != 0 {
			t.Errorf("by %s after refused scans: %+v, want nothing", dim, got)
		}
	}
	if v, err := f.eng.Member("m1", "", 1); code(err) != reward.CodeNotFound {
		t.Errorf("a refused scan made a member: %+v, %v", v, err)
	}
	// The same code then pays, and counts once.
	if _, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(1), Member: "m1", Guide: "G1", Source: "tmall", RequestID: "r1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(1), Member: "m1", Guide: "G1", Source: "tmall", RequestID: "r1"}); err != nil {
		t.Fatalf("a retry: %v", err)
	}
	wantLine(t, mustStats(t, f.eng, "store", "", "", false), "store", "S1", reward.Stat{Redeemed: 1, Points: 10, Coupons: 1, Commission: 2, NewMembers: 1})
}

// TestStatsConcurrentSourcesAndStores scans many codes at once from
// several sources and stores while the sums are written, then has two
// guides of different stores race to verify every gift: each line counts
// exactly what the decisions did, however they interleave.
func TestStatsConcurrentSourcesAndStores(t *testing.T) {
	const n = 54 // 6 scans of each (source, store) pair
	f := storesFixture(t, n, nil)
	sources := []string{"tmall", "poster-1", ""}
	guides := []string{"G1", "G2", ""}
	var wg sync.WaitGroup
	done := make(chan struct{})
	flushed := make(chan error, 1)
	go func() {
		// The sums are written while they grow.
		for {
			select {
			case <-done:
				flushed <- nil
				return
			default:
			}
			if err := f.eng.FlushStats(); err != nil {
				flushed <- err
				return
			}
		}
	}()
	codes := rewardtest.Codes(f.signer, n) // a signer is not for concurrent use
	coupons := make([]string, n)
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			res, _, err := scanReq(f, reward.ScanRequest{Code: codes[i], Member: fmt.Sprintf("m%d", i), Guide: guides[(i/3)%3], Source: sources[i%3]})
			if err != nil {
				errs <- err
				return
			}
			coupons[i] = res.Coupon.ID
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Every gift twice at once, by G1 (S1) and G2 (S2): one wins.
	var mu sync.Mutex
	wins := map[string]int64{}
	for _, id := range coupons {
		for _, g := range []string{"G1", "G2"} {
			wg.Go(func() {
				c, err := f.eng.VerifyCoupon(id, g)
				if err == nil {
					mu.Lock()
					wins[c.UsedBy]++
					mu.Unlock()
				} else if code(err) != reward.CodeAlreadyUsed {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	close(done)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if wins["G1"]+wins["G2"] != n {
		t.Fatalf("verifications won: %v, want %d in all", wins, n)
	}
	// Each guide's store had n/3 sales, each paying 2, and earned 10 a
	// gift it won.
	byStore := mustStats(t, f.eng, "store", "", "", false)
	for _, c := range []struct {
		store, guide string
	}{{"S1", "G1"}, {"S2", "G2"}} {
		wantLine(t, byStore, "store", c.store, reward.Stat{Redeemed: n / 3, Points: 10 * n / 3, Coupons: n / 3, Commission: 2*n/3 + 10*wins[c.guide], Verified: wins[c.guide], NewMembers: n / 3})
	}
	wantLine(t, byStore, "store", reward.NoValue, reward.Stat{Redeemed: n / 3, Points: 10 * n / 3, Coupons: n / 3, NewMembers: n / 3})
	bySource := mustStats(t, f.eng, "source", "", "", false)
	var verified, commission int64
	for _, s := range []string{"tmall", "poster-1", reward.NoValue} {
		l := statsLine(t, bySource, s, "")
		if l.Redeemed != n/3 || l.NewMembers != n/3 {
			t.Errorf("source %s: %+v, want %d redeemed and new members", s, l, n/3)
		}
		verified += l.Verified
		commission += l.Commission
	}
	if verified != n || commission != 2*2*n/3+10*n {
		t.Errorf("by source: %d verified and %d commission, want %d and %d", verified, commission, n, 2*2*n/3+10*n)
	}
	mustAudit(t, f)
}

// TestStoreNamedNone: "(none)" is the statistics' line of sales with no
// store, so no store may take the name.
func TestStoreNamedNone(t *testing.T) {
	f := newFixture(t, 1, 5)
	name := "x"
	if _, _, err := f.eng.PutStore(reward.NoValue, reward.StoreChange{Name: &name}); code(err) != reward.CodeInvalidRequest {
		t.Fatalf("a store named %s: %v", reward.NoValue, err)
	}
	if _, _, err := f.eng.AddGuide(reward.Guide{ID: "G", Store: reward.NoValue}); code(err) != reward.CodeInvalidRequest {
		t.Fatalf("a guide of store %s: %v", reward.NoValue, err)
	}
}

// TestStatsOfTwoEnginesAddUp: two engines over one store, as two nodes
// are, each count their own scans and verifications in memory and add
// them to the stored lines; the lines by store and by source hold both.
func TestStatsOfTwoEnginesAddUp(t *testing.T) {
	f := storesFixture(t, 8, nil)
	engines := []*reward.Engine{
		reward.New(f.db, f.eng.Keys(), reward.Options{NoSeenIndex: true}),
		reward.New(f.db, f.eng.Keys(), reward.Options{NoSeenIndex: true}),
	}
	codes := rewardtest.Codes(f.signer, 8)
	var wg sync.WaitGroup
	for n, e := range engines {
		wg.Go(func() {
			for i := n; i < len(codes); i += 2 {
				raw, err := e.Scan(reward.ScanRequest{Code: codes[i], Member: fmt.Sprintf("m%d", i), Guide: "G1", Source: "tmall"})
				if err != nil {
					t.Error(err)
					return
				}
				var res reward.ScanResult
				if err := json.Unmarshal(raw, &res); err != nil {
					t.Error(err)
					return
				}
				if _, err := e.VerifyCoupon(res.Coupon.ID, "G2"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for _, e := range engines {
		if err := e.FlushStats(); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range append(engines, f.eng) {
		byStore := mustStats(t, e, "store", "", "", false)
		wantLine(t, byStore, "store", "S1", reward.Stat{Redeemed: 8, Points: 80, Coupons: 8, Commission: 16, NewMembers: 8})
		wantLine(t, byStore, "store", "S2", reward.Stat{Verified: 8, Commission: 80})
		wantLine(t, mustStats(t, e, "source", "", "", false), "source", "tmall", reward.Stat{Redeemed: 8, Points: 80, Coupons: 8, Commission: 96, Verified: 8, NewMembers: 8})
	}
}
