package reward_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// TestScanRoundTrips counts the round trips a node's decider makes to
// PostgreSQL per paying scan of a campaign by a returning member, as a node
// of a cluster runs (escrow slices, no index of scanned codes): one scan at
// a time, and 64 at once by 64 members; with the engine naming each scan's
// keys ahead, and with the store hiding that it can read them ahead (as
// before it could). docs/cluster.md quotes the counts.
func TestScanRoundTrips(t *testing.T) {
	oneByOne, together := scanRoundTrips(t, false)
	aheadOne, aheadTogether := scanRoundTrips(t, true)
	t.Logf("read one key at a time: %.1f round trips a lone scan, %.2f a scan among 64", oneByOne, together)
	t.Logf("keys read ahead: %.1f round trips a lone scan, %.2f a scan among 64", aheadOne, aheadTogether)
	// BEGIN with the keys read ahead, the writes with COMMIT: the event
	// feed's head is the relay's to write, not the scan's.
	if aheadOne > 2 {
		t.Errorf("a lone paying scan takes %.1f round trips with its keys read ahead, want at most 2", aheadOne)
	}
	if aheadTogether >= together {
		t.Errorf("concurrent scans take %.2f round trips each with their keys read ahead, %.2f without: reading ahead saves nothing", aheadTogether, together)
	}
}

// scanRoundTrips returns the round trips per scan of a lone scan, and of
// one among 64 concurrent ones, on a fresh database.
func scanRoundTrips(t *testing.T, ahead bool) (alone, grouped float64) {
	t.Helper()
	pg := pgtest.Open(t, nil)
	var db store.DB = pg
	if !ahead {
		db = struct{ store.DB }{pg} // not a store.Prefetcher
	}
	eng := reward.New(db, rewardtest.Keys(t, false), reward.Options{Now: func() time.Time { return rewardtest.Start }, NoSeenIndex: true, NodeID: "node1"})
	camp, err := reward.ParseCampaign([]byte(campaignDoc(t, map[string]any{"products": []string{"RT"}, "daily_limit_per_member": 0})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.ApplyCampaign(camp); err != nil {
		t.Fatal(err)
	}
	_, signer := rewardtest.MustMint(t, eng, reward.BatchSpec{Product: "RT", Count: 1000, Activate: true})
	serial := uint32(0)
	next := func() reward.ScanRequest {
		serial++
		return reward.ScanRequest{Code: signer.Code(serial), RequestID: fmt.Sprint("rt-", serial)}
	}
	scan := func(req reward.ScanRequest, member int) {
		req.Member = fmt.Sprint("m", member)
		if _, err := eng.Scan(req); err != nil {
			t.Error(err)
		}
	}
	const members = 64
	for m := range members { // each member's first scan, and the node's slice
		scan(next(), m)
	}
	trips := func(scans int, do func()) float64 {
		before := pg.RoundTrips()
		do()
		return float64(pg.RoundTrips()-before) / float64(scans)
	}
	const lone = 8
	alone = trips(lone, func() {
		for m := range lone {
			scan(next(), m)
		}
	})
	reqs := make([]reward.ScanRequest, members)
	for i := range reqs {
		reqs[i] = next()
	}
	grouped = trips(members, func() {
		var wg sync.WaitGroup
		for i, req := range reqs {
			wg.Go(func() {
				scan(req, i)
			})
		}
		wg.Wait()
	})
	return alone, grouped
}

// TestFoldRoundTrips: a fold of a guide's pending commissions on a node of
// a cluster reads the guide and its items in one round trip with BEGIN
// and writes them with COMMIT, however many items there are (read one at
// a time, 256 of them held the node's decisions for over half a second).
func TestFoldRoundTrips(t *testing.T) {
	pg := pgtest.Open(t, nil)
	eng := reward.New(pg, rewardtest.Keys(t, false), reward.Options{Now: func() time.Time { return rewardtest.Start }, NoSeenIndex: true, NodeID: "node1"})
	rewardtest.MustApply(t, eng, campaignDoc(t, map[string]any{"products": []string{"RT"}, "daily_limit_per_member": 0,
		"guide_commission": map[string]any{"per_scan": 2}}))
	rewardtest.MustGuide(t, eng, "g1", "")
	const items = 40
	codes := mintCodes(t, eng, "RT", items)
	for i, code := range codes {
		member := fmt.Sprint("m", i)
		if _, err := eng.Bind(member, "g1", false); err != nil {
			t.Fatal(err)
		}
		rewardtest.MustRedeem(t, eng, code, member)
	}
	before := pg.RoundTrips()
	if err := eng.FoldGuides(); err != nil {
		t.Fatal(err)
	}
	if got := pg.RoundTrips() - before; got != 2 {
		t.Errorf("folding %d pending items took %d round trips, want 2", items, got)
	}
	v, err := eng.GuideByID("g1", 50)
	if err != nil {
		t.Fatal(err)
	}
	if v.Commission != 2*items {
		t.Errorf("the guide's commission is %d after the fold, want %d", v.Commission, 2*items)
	}
	rewardtest.MustAudit(t, eng)
}
