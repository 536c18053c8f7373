package datadir_test

import (
	"fmt"
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
	race := func(n int, each func(i int)) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 3 * perNode {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					each(i)
				}
			}()
		}
		wg.Wait()
	}
	// Each member's first scan: the members exist before the count.
	race(members, func(i int) { scan(nodes[i%3], codes[i], member(i)) })

	var commits atomic.Int64
	var before int64
	for _, n := range nodes {
		db := n.DB.(*pgstore.DB)
		before += db.Conflicts()
		db.ObserveGroups(func(int) { commits.Add(1) })
	}
	race(scans, func(i int) {
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
