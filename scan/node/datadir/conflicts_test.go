package datadir_test

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/scan/node/datadir"
	"github.com/yima-dev/yima/store/pgstore"
	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// TestThreeNodesRarelyConflict: three nodes on one PostgreSQL database
// redeem fresh codes of one batch, minted in sequence, for members who
// scanned before, 12 scanners a node. No two nodes share a code or
// scan for one member at once, so every serialization failure
// PostgreSQL reports is one of its predicate locks covering more than
// the keys a decision read (docs/cluster.md, "What two nodes' groups
// shared"). They must stay a small fraction of the commits: before the
// scans claimed the records they write, a third of the commits or more
// met one. Counted, not timed: the machine's load moves it little.
func TestThreeNodesRarelyConflict(t *testing.T) {
	const members, scans = 600, 1200
	// As docs/cluster.md tells operators: no sequential scan of the
	// records, whose predicate lock covers the whole table. The planner
	// picks one while the table is small.
	dsn := pgtest.WithParam(t, pgtest.Migrated(t), "enable_seqscan", "off")
	k := newKEK(t)
	var nodes []*datadir.Dir
	for range 3 {
		nodes = append(nodes, openSealed(t, dsn, k))
	}
	_, signer := rewardtest.MustMint(t, nodes[0].Engine, reward.BatchSpec{Product: "SKU-1", Count: members + scans, Points: new(int64(5)), Activate: true})
	conflicts, commits := countConflicts(t, nodes, signer, members, scans)
	if rate := float64(conflicts) / float64(commits); rate > 0.1 {
		t.Errorf("three nodes redeeming fresh codes met %d serialization failures in %d commits (%.2f a commit), want at most 0.1 a commit: their groups conflict over keys they do not share", conflicts, commits, rate)
	}
	rewardtest.MustAudit(t, nodes[1].Engine)
}

// countConflicts has 12 scanners a node redeem a fresh code each for one
// of members who scanned before (the codes signer's 1 to members + scans,
// in sequence), and returns the serialization failures the nodes met and
// the groups they committed while they did, once each member's first scan
// is done.
// Member i scans on node i%3 only, so that no member is scanned on two
// nodes at once: that conflict would be real.
func countConflicts(t *testing.T, nodes []*datadir.Dir, signer *codegen.Signer, members, scans int) (conflicts, commits int64) {
	t.Helper()
	const perNode = 12
	codes := rewardtest.Codes(signer, members+scans)
	member := func(i int) string { return fmt.Sprintf("m%03d", i%members) }
	scan := func(node *datadir.Dir, code, member string) {
		if _, _, err := rewardtest.Scan(node.Engine, reward.ScanRequest{Code: code, Member: member}); err != nil {
			t.Errorf("scan of %s by %s: %v", code, member, err)
		}
	}
	// Each member's first scan: the members exist before the count.
	rewardtest.Workers(3*perNode, members, func(i int) { scan(nodes[i%3], codes[i], member(i)) })

	var committed atomic.Int64
	var before int64
	for _, n := range nodes {
		db := n.DB.(*pgstore.DB)
		before += db.Conflicts()
		db.ObserveGroups(func(int) { committed.Add(1) })
	}
	rewardtest.Workers(3*perNode, scans, func(i int) {
		// Scan i is member m's: its node is m's.
		m := (i * 7) % members
		scan(nodes[m%3], codes[members+i], member(m))
	})
	for _, n := range nodes {
		conflicts += n.DB.(*pgstore.DB).Conflicts()
	}
	conflicts -= before
	commits = committed.Load()
	t.Logf("%d scans on three nodes: %d commits, %d serialization failures (%.3f a commit)", scans, commits, conflicts, float64(conflicts)/float64(commits))
	return conflicts, commits
}

// TestThreeNodesCampaignRarelyConflict: TestThreeNodesRarelyConflict's
// scans under a campaign that pays each member's guide a commission on
// every scan (every member is bound to one of four guides), with its
// points budget escrowed per node. Nothing two nodes' decisions write is
// a record the rules share (a member, a code): when every commission
// rewrote its guide's record and the next seq of its ledger, every group
// of every node wrote the same four records and the nodes took turns on
// them (docs/cluster.md, "Hot rows"); counted so, it measured 0.38 and
// 0.44 failures a commit, and 0.06 to 0.15 with the commissions pending
// (reward/guidetally.go). The bound leaves room for the failures that
// remain (docs/cluster.md). Coupons and their verifications are left out:
// what they write is shown by reward's TestGuideCommissionWritesNoSharedRecord.
func TestThreeNodesCampaignRarelyConflict(t *testing.T) {
	const members, scans, guides = 300, 900, 4
	dsn := pgtest.WithParam(t, pgtest.Migrated(t), "enable_seqscan", "off")
	k := newKEK(t)
	var nodes []*datadir.Dir
	for range 3 {
		nodes = append(nodes, openSealed(t, dsn, k))
	}
	first := nodes[0].Engine
	rewardtest.MustApply(t, first, rewardtest.CampaignDoc(t, map[string]any{
		"points": map[string]any{"min": 5, "max": 20}, "points_budget": 1_000_000_000, "new_member_bonus": 50,
		"guide_commission": map[string]any{"per_scan": 2},
		"starts_at":        time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
		"ends_at":          time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
	}))
	for g := range guides {
		rewardtest.MustGuide(t, first, fmt.Sprintf("g%d", g), "")
	}
	_, signer := rewardtest.MustMint(t, first, reward.BatchSpec{Product: "SKU-1", Count: members + scans, Activate: true})
	for i := range members {
		if _, err := nodes[i%3].Engine.Bind(fmt.Sprintf("m%03d", i), fmt.Sprintf("g%d", i%guides), false); err != nil {
			t.Fatal(err)
		}
	}
	conflicts, commits := countConflicts(t, nodes, signer, members, scans)
	if rate := float64(conflicts) / float64(commits); rate > 0.25 {
		t.Errorf("three nodes paying guides' commissions met %d serialization failures in %d commits (%.2f a commit), want at most 0.25 a commit: their groups write records they share", conflicts, commits, rate)
	}
	for _, n := range nodes {
		rewardtest.MustAudit(t, n.Engine)
	}
	v, err := nodes[2].Engine.GuideByID("g1", 1)
	if err != nil {
		t.Fatal(err)
	}
	if v.Members != members/guides || v.Commission == 0 || v.Seq == 0 {
		t.Errorf("guide g1 after the scans: %d members, commission %d, ledger seq %d; want %d members and the commissions numbered", v.Members, v.Commission, v.Seq, members/guides)
	}
}

// TestLanesRarelyConflict: one node deciding in 4 lanes redeems fresh
// codes for members who scanned before, 64 scanners at once, each scan by
// a member drawn at random from 600, so that a member often has scans of
// two codes in flight at once (as in yima bench). Those two scans write the same member's
// records; sent to their codes' lanes, they were in two lanes' groups at
// once, and PostgreSQL refused one group (9 in 10 of a node's conflicts
// at 4 lanes, docs/cluster.md). A scan now goes to the lane that already
// holds its member or its code, so the lanes' groups share no record and
// serialization failures must stay a small fraction of the commits.
// Counted, not timed.
func TestLanesRarelyConflict(t *testing.T) {
	const lanes, scanners, members, scans = 4, 64, 600, 1200
	dsn := pgtest.WithParam(t, pgtest.Migrated(t), "enable_seqscan", "off")
	node := mustOpen(t, t.TempDir(), datadir.Options{Store: dsn, KEK: newKEK(t), Lanes: lanes})
	t.Cleanup(func() { node.Close() })
	_, signer := rewardtest.MustMint(t, node.Engine, reward.BatchSpec{Product: "SKU-1", Count: members + scans, Points: new(int64(5)), Activate: true})
	codes := rewardtest.Codes(signer, members+scans)
	scan := func(code, member string) {
		if _, _, err := rewardtest.Scan(node.Engine, reward.ScanRequest{Code: code, Member: member}); err != nil {
			t.Errorf("scan of %s by %s: %v", code, member, err)
		}
	}
	// Scan i's member, drawn once in a fixed order.
	rng := rand.New(rand.NewPCG(17, 4))
	who := make([]string, scans)
	for i := range who {
		who[i] = fmt.Sprintf("m%03d", rng.IntN(members))
	}
	// Each member's first scan, one at a time: the members exist before
	// the count.
	for i := range members {
		scan(codes[i], fmt.Sprintf("m%03d", i))
	}
	db := node.DB.(*pgstore.DB)
	var commits atomic.Int64
	before := db.Stats()
	db.ObserveGroups(func(int) { commits.Add(1) })
	rewardtest.Workers(scanners, scans, func(i int) { scan(codes[members+i], who[i]) })
	st := db.Stats()
	conflicts := st.Conflicts - before.Conflicts
	rate := float64(conflicts) / float64(commits.Load())
	t.Logf("%d scans on %d lanes: %d commits, %d serialization failures (%.3f a commit); %+v", scans, lanes, commits.Load(), conflicts, rate, st)
	if st.MaxInFlight < 2 {
		t.Errorf("at most %d group in flight at once: the lanes did not overlap, so they could not conflict", st.MaxInFlight)
	}
	if rate > 0.03 {
		t.Errorf("one node's %d lanes met %d serialization failures in %d commits (%.3f a commit), want at most 0.03 a commit: its lanes' groups conflict with each other", lanes, conflicts, commits.Load(), rate)
	}
	rewardtest.MustAudit(t, node.Engine)
}
