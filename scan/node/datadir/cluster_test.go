package datadir_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/scan/node/datadir"
	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// openNodes opens n empty data directories on one PostgreSQL database
// with one key-encryption key, as n nodes of a cluster: the first makes
// the sealed keyset, the others read it.
func openNodes(t *testing.T, n int) []*datadir.Dir {
	t.Helper()
	dsn := pgtest.Migrated(t)
	k := newKEK(t)
	var dirs []*datadir.Dir
	for range n {
		dirs = append(dirs, openSealed(t, dsn, k))
	}
	return dirs
}

// TestThreeNodesExactlyOnce is the cluster's money proof on the rules: 50
// scanners spread over three nodes race on the same 20 codes, under a
// campaign whose gift has a stock of 5 and whose points budget runs out.
// No code has two winners, the budget pays exactly 15 codes, the stock
// gives exactly 5 gifts, and the audit is clean.
func TestThreeNodesExactlyOnce(t *testing.T) {
	nodes := openNodes(t, 3)
	eng := nodes[0].Engine
	rewardtest.MustApply(t, eng, rewardtest.CampaignDoc(t, map[string]any{
		"points": 10, "points_budget": 150,
		"coupon": map[string]any{"title": "gift", "probability": 1, "stock": 5, "valid_days": 30},
	}))
	_, signer := rewardtest.MustMint(t, eng, reward.BatchSpec{Product: "SKU-1", Count: 20, Activate: true})
	const scanners, codes = 50, 20
	// The codes are made before the race: a Signer is not for concurrent
	// use.
	all := rewardtest.Codes(signer, codes)
	var (
		mu   sync.Mutex
		wins = map[string][]string{}
		wg   sync.WaitGroup
	)
	for i := range scanners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := nodes[i%len(nodes)].Engine
			member := fmt.Sprintf("m%02d", i)
			for j := range codes {
				code := all[(i+j)%codes]
				_, _, err := rewardtest.Scan(node, reward.ScanRequest{Code: code, Member: member})
				switch reward.ErrorCode(err) {
				case "":
					mu.Lock()
					wins[code] = append(wins[code], member)
					mu.Unlock()
				case reward.CodeAlreadyRedeemed, reward.CodeBudgetExhausted:
				default:
					t.Errorf("scan of %s by %s on node %d: %v", code, member, i%len(nodes), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	won := 0
	for s := range uint32(codes) {
		w := wins[all[s]]
		if len(w) > 1 {
			t.Errorf("code %d has %d winners: %v", s+1, len(w), w)
		}
		won += len(w)
	}
	if won != 15 {
		t.Errorf("%d codes paid 10 points each from a budget of 150, want 15", won)
	}
	ctr := rewardtest.MustCampaign(t, nodes[1].Engine, "promo").Counters
	if ctr.CouponsIssued != 5 || ctr.PointsPaid != 150 {
		t.Errorf("a stock of 5 and a budget of 150 after %d redemptions: %d coupons issued, %d points paid", codes, ctr.CouponsIssued, ctr.PointsPaid)
	}
	rewardtest.MustAudit(t, nodes[2].Engine)
}

// TestTwoNodesOnOneDatabasePayOnce opens two data directories on one
// PostgreSQL database, as two nodes: a code redeemed on one is already
// redeemed on the other, even once the other has loaded its index of
// scanned codes (which knows only its own scans).
func TestTwoNodesOnOneDatabasePayOnce(t *testing.T) {
	nodes := openNodes(t, 2)
	a, b := nodes[0], nodes[1]
	if err := b.Engine.LoadSeen(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, signer := rewardtest.MustMint(t, a.Engine, reward.BatchSpec{Product: "SKU-1", Count: 3, Points: new(int64(5)), Activate: true})
	code := signer.Code(1)
	rewardtest.MustRedeem(t, a.Engine, code, "alice")
	rewardtest.WantRefused(t, b.Engine, code, "bob", reward.CodeAlreadyRedeemed)
	rewardtest.MustAudit(t, b.Engine)
}

// TestCopyStoreAuditsTheSame copies a Pebble data directory with payouts
// into PostgreSQL: the audit passes on both and counts the same records,
// and a second copy into the now full database is refused.
func TestCopyStoreAuditsTheSame(t *testing.T) {
	dir := t.TempDir()
	src, err := datadir.Open(dir, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rewardtest.MustApply(t, src.Engine, rewardtest.CampaignDoc(t, map[string]any{
		"coupon": map[string]any{"title": "gift", "probability": 1, "stock": 2, "valid_days": 30},
	}))
	_, signer := rewardtest.MustMint(t, src.Engine, reward.BatchSpec{Product: "SKU-1", Count: 5, Activate: true})
	for s := range uint32(4) {
		rewardtest.MustRedeem(t, src.Engine, signer.Code(s+1), fmt.Sprintf("m%d", s%2))
	}
	before, err := src.Engine.Audit()
	if err != nil {
		t.Fatal(err)
	}
	src.Close()

	dsn := pgtest.Migrated(t)
	n, err := datadir.CopyStore(dir, dsn, nil)
	if err != nil || n == 0 {
		t.Fatalf("CopyStore: %d records, %v", n, err)
	}
	k := newKEK(t)
	if _, err := datadir.UploadKeys(dir, dsn, k); err != nil {
		t.Fatal(err)
	}
	dst := openSealed(t, dsn, k)
	after, err := dst.Engine.Audit()
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Violations)+len(after.Violations) > 0 || fmt.Sprint(before) != fmt.Sprint(after) || before.Redemptions != 4 {
		t.Errorf("audit of the Pebble store %+v, of its copy %+v: want both clean and equal, with 4 redemptions", before, after)
	}
	rewardtest.WantRefused(t, dst.Engine, signer.Code(1), "m9", reward.CodeAlreadyRedeemed)
	rewardtest.MustRedeem(t, dst.Engine, signer.Code(5), "m9")
	// The Pebble store's single writer kept the feed's tail in memory and
	// wrote no head record: the node numbers its events after the last
	// one copied, never over one.
	if _, err := dst.Engine.RelayFeed(); err != nil {
		t.Fatal(err)
	}
	if rep := rewardtest.MustReplay(t, dst.Engine); rep.Pending > 0 || rep.Redemptions != 5 {
		t.Errorf("the copy's feed after a scan on the node: %+v, want 5 redemptions and nothing pending", rep)
	}
	if _, err := datadir.CopyStore(dir, dsn, nil); !errors.Is(err, datadir.ErrNotEmpty) {
		t.Errorf("a copy into a database that holds records: %v, want ErrNotEmpty", err)
	}
}
