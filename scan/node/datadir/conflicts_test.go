package datadir_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

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
	const perNode, members, scans = 12, 600, 1200
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
	codes := make([]string, members+scans)
	for i := range codes {
		codes[i] = signer.Code(uint32(i + 1))
	}
	// Member i scans on node i%3 only, so that no member is scanned on
	// two nodes at once: that conflict would be real.
	member := func(i int) string { return fmt.Sprintf("m%03d", i%members) }
	scan := func(node *datadir.Dir, code, member string) {
		if _, _, err := rewardtest.Scan(node.Engine, reward.ScanRequest{Code: code, Member: member}); err != nil {
			t.Errorf("scan of %s by %s: %v", code, member, err)
		}
	}
	// Each member's first scan: the members exist before the count.
	race(3*perNode, members, func(i int) { scan(nodes[i%3], codes[i], member(i)) })

	var commits atomic.Int64
	var before int64
	for _, n := range nodes {
		db := n.DB.(*pgstore.DB)
		before += db.Conflicts()
		db.ObserveGroups(func(int) { commits.Add(1) })
	}
	race(3*perNode, scans, func(i int) {
		// Scan i is member m's: its node is m's.
		m := (i * 7) % members
		scan(nodes[m%3], codes[members+i], member(m))
	})
	var conflicts int64
	for _, n := range nodes {
		conflicts += n.DB.(*pgstore.DB).Conflicts()
	}
	conflicts -= before
	rate := float64(conflicts) / float64(commits.Load())
	t.Logf("%d scans on three nodes: %d commits, %d serialization failures (%.3f a commit)", scans, commits.Load(), conflicts, rate)
	if rate > 0.1 {
		t.Errorf("three nodes redeeming fresh codes met %d serialization failures in %d commits (%.2f a commit), want at most 0.1 a commit: their groups conflict over keys they do not share", conflicts, commits.Load(), rate)
	}
	rewardtest.MustAudit(t, nodes[1].Engine)
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
	codes := make([]string, members+scans)
	for i := range codes {
		codes[i] = signer.Code(uint32(i + 1))
	}
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
	race(scanners, scans, func(i int) { scan(codes[members+i], who[i]) })
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

// race runs each(i) for i from 0 to n-1 on workers goroutines at once,
// each taking the next i.
func race(workers, n int, each func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				each(i)
			}
		})
	}
	wg.Wait()
}
