package reward_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// escrowKeys lists the keys under cs/ (the campaigns' slices and pools).
func escrowKeys(t *testing.T, db store.Reader) []string {
	t.Helper()
	return storedKeys(t, db, "cs/")
}

// TestEscrowThreeNodesRacing: three nodes race 15 scanners over the codes
// of a campaign with a points budget and a coupon stock, and of one with
// two prizes. The answers never pay more than the budget, the stocks never
// go below zero, and nothing stays stranded in another node's slice: the
// budget and stocks are used exactly. The audit is clean on every node,
// and once the nodes return their slices the counters stand unchanged.
// On PostgreSQL each node decides in several lanes, each with slices of
// its own; so does one node alone, whose lanes race as the nodes do.
func TestEscrowThreeNodesRacing(t *testing.T) {
	for _, c := range []struct {
		name, backend string
		nodes         int
	}{{"memory", "memory", 3}, {"postgres", "postgres", 3}, {"postgres one node", "postgres", 1}} {
		t.Run(c.name, func(t *testing.T) {
			const budget, stock = 500, 9
			dbs, nodes := startNodes(t, c.backend, c.nodes)
			rewardtest.MustApply(t, nodes[0], rewardtest.CampaignDoc(t, map[string]any{
				"points": map[string]any{"min": 5, "max": 20}, "points_budget": budget, "new_member_bonus": 10,
				"coupon": map[string]any{"title": "gift", "probability": 1, "stock": stock, "valid_days": 30},
			}))
			rewardtest.MustApply(t, nodes[len(nodes)-1], rewardtest.CampaignDoc(t, map[string]any{
				"id": "prizes", "products": []string{"SKU-2"}, "points": 1,
				"prizes": []map[string]any{
					{"name": "first", "title": "a bicycle", "probability": 0.3, "stock": 2, "valid_days": 30},
					{"name": "second", "title": "a cap", "probability": 0.6, "stock": 11, "valid_days": 30},
				},
			}))
			codes := slices.Concat(mintCodes(t, nodes[0], "SKU-1", 120), mintCodes(t, nodes[0], "SKU-2", 50))
			var (
				mu           sync.Mutex
				paid, gifts  int64
				prizes       = map[string]int64{}
				wins         = map[string]int{}
				wg           sync.WaitGroup
				scannersEach = 5
			)
			for i := range 3 * scannersEach {
				wg.Add(1)
				go func() {
					defer wg.Done()
					node := nodes[i%len(nodes)]
					for j := range codes {
						code := codes[(i*37+j)%len(codes)]
						// A client retries "unavailable" with its request_id,
						// which answers once: nodes whose decisions keep
						// conflicting on the shared feed give up on a group.
						req := reward.ScanRequest{Code: code, Member: fmt.Sprintf("m%d", (i*7+j)%40), RequestID: fmt.Sprintf("s%d-%d", i, j)}
						res, _, err := rewardtest.Scan(node, req)
						for try := 0; try < 20 && reward.ErrorCode(err) == reward.CodeUnavailable; try++ {
							res, _, err = rewardtest.Scan(node, req)
						}
						switch reward.ErrorCode(err) {
						case "":
							mu.Lock()
							wins[code]++
							if res.Campaign == "promo" {
								paid += res.Points
								if res.Coupon != nil {
									gifts++
								}
							} else if res.Coupon != nil {
								prizes[res.Coupon.Prize]++
							}
							mu.Unlock()
						case reward.CodeAlreadyRedeemed, reward.CodeBudgetExhausted:
						default:
							t.Errorf("scan on node %d: %v", i%len(nodes)+1, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			for code, n := range wins {
				if n > 1 {
					t.Errorf("code %s paid %d times", code, n)
				}
			}
			if paid != budget || gifts != stock {
				t.Errorf("the answers paid %d points of a budget of %d and gave %d gifts of a stock of %d; want both used exactly", paid, budget, gifts, stock)
			}
			if prizes["first"] != 2 || prizes["second"] != 11 {
				t.Errorf("prizes given %v, want the stocks first:2 second:11", prizes)
			}
			pool := escrowKeys(t, dbs[0])
			if !slices.Contains(pool, "cs/promo") || len(pool) < 4 {
				t.Errorf("the escrow records %q: want the pool of promo and the nodes' slices", pool)
			}
			if lane := "cs/promo\x00node1/"; c.backend == "postgres" && !slices.ContainsFunc(pool, func(k string) bool { return strings.HasPrefix(k, lane) }) {
				t.Errorf("the escrow records %q: want slices of node1's lanes (%q...)", pool, lane)
			}
			check := func(when string) {
				t.Helper()
				for i, n := range nodes {
					v := rewardtest.MustCampaign(t, n, "promo")
					if v.Counters.PointsPaid != budget || v.Counters.CouponsIssued != stock || *v.PointsLeft != 0 || *v.CouponsLeft != 0 {
						t.Errorf("%s, node %d shows %+v, %d points and %d coupons left", when, i+1, v.Counters, *v.PointsLeft, *v.CouponsLeft)
					}
					p := rewardtest.MustCampaign(t, n, "prizes")
					if p.PrizesIssued["first"] != 2 || p.PrizesIssued["second"] != 11 || p.Counters.RewardedScans != 50 {
						t.Errorf("%s, node %d shows prizes %v after %d scans, want first:2 second:11 after 50", when, i+1, p.PrizesIssued, p.Counters.RewardedScans)
					}
					rewardtest.MustAudit(t, n)
				}
			}
			check("racing done")
			for _, n := range nodes {
				if err := n.ReturnSlices(); err != nil {
					t.Fatal(err)
				}
			}
			for _, k := range escrowKeys(t, dbs[0]) {
				if strings.Contains(k, "\x00") {
					t.Errorf("slice %q is left after every node returned its slices", k)
				}
			}
			check("slices returned")
		})
	}
}

// recordingDB notes the keys each committed decision wrote.
type recordingDB struct {
	store.DB
	mu      sync.Mutex
	written [][]string
}

// Serial: the wrapper keeps the decisions in their order.
func (r *recordingDB) Serial() bool { return store.IsSerial(r.DB) }

type recordingTx struct {
	store.Tx
	keys *[]string
}

func (t recordingTx) Put(k, v []byte)       { *t.keys = append(*t.keys, string(k)); t.Tx.Put(k, v) }
func (t recordingTx) Delete(k []byte)       { *t.keys = append(*t.keys, string(k)); t.Tx.Delete(k) }
func (t recordingTx) Add(k []byte, d int64) { *t.keys = append(*t.keys, string(k)); t.Tx.Add(k, d) }

func (r *recordingDB) Update(fn func(store.Tx) error) error {
	var keys []string
	err := r.DB.Update(func(tx store.Tx) error {
		keys = nil
		return fn(recordingTx{tx, &keys})
	})
	if err == nil {
		r.mu.Lock()
		r.written = append(r.written, keys)
		r.mu.Unlock()
	}
	return err
}

// recordedNodes opens two nodes on one in-memory store that records the
// keys each decision writes; ks and clock are theirs, for a single engine
// to compare with.
func recordedNodes(t *testing.T) (*recordingDB, []*reward.Engine, *codegen.Keyset, func() time.Time) {
	db := &recordingDB{DB: memoryStore(t, false)}
	ks := rewardtest.Keys(t, true)
	clock := func() time.Time { return rewardtest.Start }
	return db, nodeEngines(t, []store.DB{db, db}, ks, clock), ks, clock
}

// take returns the keys written since the last take.
func (r *recordingDB) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Concat(r.written...)
	r.written = nil
	return out
}

// TestEscrowPayingScansWriteNoSharedRecord: once each node holds a slice,
// a paying scan writes neither the campaign's counters nor its pool, only
// its node's slice, and its events under its node's keys rather than the
// feed's head, so nodes' scans do not take turns on them. A single
// engine (no node id) pays from the counters as before and writes no
// escrow record at all.
func TestEscrowPayingScansWriteNoSharedRecord(t *testing.T) {
	db, nodes, ks, clock := recordedNodes(t)
	rewardtest.MustApply(t, nodes[0], rewardtest.CampaignDoc(t, map[string]any{
		"points_budget": 100000,
		"coupon":        map[string]any{"title": "gift", "probability": 1, "stock": 1000, "valid_days": 30},
	}))
	codes := mintCodes(t, nodes[0], "SKU-1", 6)
	for i, n := range nodes {
		rewardtest.MustRedeem(t, n, codes[i], "warm")
	}
	db.take()
	for i, n := range nodes {
		rewardtest.MustRedeem(t, n, codes[2+i], fmt.Sprintf("m%d", i))
		written := db.take()
		for _, shared := range []string{"cc/promo", "cpz/promo", "cs/promo", "meta/feed-head"} {
			if slices.Contains(written, shared) {
				t.Errorf("a paying scan on node %d wrote the shared %q (all: %q)", i+1, shared, written)
			}
		}
		if mine := "cs/promo\x00" + fmt.Sprintf("node%d", i+1); !slices.Contains(written, mine) {
			t.Errorf("a paying scan on node %d did not write its slice %q (all: %q)", i+1, mine, written)
		}
		// Its events wait under its node's keys for the feed's relay.
		pending := "evp/" + fmt.Sprintf("node%d", i+1) + "\x00"
		for _, k := range written {
			if strings.HasPrefix(k, "ev/") {
				t.Errorf("a paying scan on node %d numbered an event itself (%q)", i+1, k)
			}
		}
		if !slices.ContainsFunc(written, func(k string) bool { return strings.HasPrefix(k, pending) }) {
			t.Errorf("a paying scan on node %d wrote no event under %q (all: %q)", i+1, pending, written)
		}
	}

	alone := memoryStore(t, false)
	single := reward.New(alone, ks, reward.Options{Now: clock})
	rewardtest.MustApply(t, single, rewardtest.CampaignDoc(t, map[string]any{"points_budget": 100}))
	one := mintCodes(t, single, "SKU-1", 1)
	rewardtest.MustRedeem(t, single, one[0], "alice")
	if keys := escrowKeys(t, alone); len(keys) > 0 {
		t.Errorf("a single engine wrote escrow records %q", keys)
	}
	if v := rewardtest.MustCampaign(t, single, "promo"); v.Counters.PointsPaid != 10 {
		t.Errorf("a single engine's campaign counts %+v", v.Counters)
	}
}

// TestEscrowDeadNodeSliceReclaimed: a node takes a slice and dies. The
// other node still pays the whole budget, taking back what the dead slice
// held; once the dead slice's lease ran out it is folded into the
// campaign's counters and removed.
func TestEscrowDeadNodeSliceReclaimed(t *testing.T) {
	deadNodeCases(t, func(t *testing.T, expired bool, db store.DB, live, dead *reward.Engine, expire func()) {
		rewardtest.MustApply(t, live, rewardtest.CampaignDoc(t, map[string]any{"points": 1, "points_budget": 100}))
		codes := mintCodes(t, live, "SKU-1", 120)
		rewardtest.MustRedeem(t, dead, codes[0], "d")
		held := escrowKeys(t, db)
		if !slices.Contains(held, "cs/promo\x00node2") {
			t.Fatalf("the node that dies holds no slice: %q", held)
		}
		expire()
		paid := int64(1)
		for _, c := range codes[1:] {
			res, _, err := rewardtest.Scan(live, reward.ScanRequest{Code: c, Member: "alive"})
			if err == nil {
				paid += res.Points
			} else if reward.ErrorCode(err) != reward.CodeBudgetExhausted {
				t.Fatal(err)
			}
		}
		if paid != 100 {
			t.Errorf("%d points paid of a budget of 100 while a dead node held a slice; want all of it", paid)
		}
		if got := slices.Contains(escrowKeys(t, db), "cs/promo\x00node2"); got == expired {
			t.Errorf("dead node's slice still held: %v, want %v", got, !expired)
		}
		v := rewardtest.MustCampaign(t, live, "promo")
		if v.Counters.PointsPaid != 100 || v.Counters.RewardedScans != 100 {
			t.Errorf("counters %+v, want 100 points over 100 scans", v.Counters)
		}
		rewardtest.MustAudit(t, live)
	})
}

// deadNodeCases runs body on two nodes of one store, live and dead, twice:
// once with dead's lease left to run, once with expire moving the clock
// past it (expired).
func deadNodeCases(t *testing.T, body func(t *testing.T, expired bool, db store.DB, live, dead *reward.Engine, expire func())) {
	for _, expired := range []bool{false, true} {
		t.Run(fmt.Sprintf("lease_expired=%v", expired), func(t *testing.T) {
			now := rewardtest.Start
			dbs := nodeStores(t, "memory", 2)
			nodes := nodeEngines(t, dbs, rewardtest.Keys(t, true), func() time.Time { return now })
			body(t, expired, dbs[0], nodes[0], nodes[1], func() {
				if expired {
					now = now.Add(time.Minute)
				}
			})
		})
	}
}

// TestEscrowApplyBindsSlices: a new version of a campaign holds at once
// against what the nodes' slices held: lowering the budget to what was
// paid stops every node, and a budget below it is refused.
func TestEscrowApplyBindsSlices(t *testing.T) {
	_, nodes := startNodes(t, "memory", 3)
	rewardtest.MustApply(t, nodes[0], rewardtest.CampaignDoc(t, map[string]any{"points_budget": 1000}))
	codes := mintCodes(t, nodes[0], "SKU-1", 9)
	for i, n := range nodes {
		rewardtest.MustRedeem(t, n, codes[i], fmt.Sprintf("m%d", i))
	}
	under, err := reward.ParseCampaign([]byte(rewardtest.CampaignDoc(t, map[string]any{"points_budget": 29})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[1].ApplyCampaign(under); reward.ErrorCode(err) != reward.CodeInvalidRequest {
		t.Errorf("a budget of 29 below the 30 paid: %v, want invalid_request", err)
	}
	rewardtest.MustApply(t, nodes[1], rewardtest.CampaignDoc(t, map[string]any{"points_budget": 30}))
	for i, n := range nodes {
		rewardtest.WantRefused(t, n, codes[3+i], "late", reward.CodeBudgetExhausted)
	}
	rewardtest.MustApply(t, nodes[2], rewardtest.CampaignDoc(t, map[string]any{"points_budget": 40}))
	rewardtest.MustRedeem(t, nodes[0], codes[6], "late")
	rewardtest.WantRefused(t, nodes[1], codes[7], "late2", reward.CodeBudgetExhausted)
	if v := rewardtest.MustCampaign(t, nodes[2], "promo"); v.Counters.PointsPaid != 40 || *v.PointsLeft != 0 {
		t.Errorf("counters %+v, %d left; want 40 paid, none left", v.Counters, *v.PointsLeft)
	}
	rewardtest.MustAudit(t, nodes[0])
}

// TestFeedWholeOnEveryNode: a node shows the events other nodes wrote
// after it started, on a plain read and to a long poll waiting on it,
// rather than only up to the last event it wrote or read itself.
func TestFeedWholeOnEveryNode(t *testing.T) {
	_, nodes := startNodes(t, "memory", 2)
	writer, reader := nodes[0], nodes[1]
	codes := mintCodes(t, writer, "SKU-1", 2)
	_, head, err := reader.FeedBounds()
	if err != nil {
		t.Fatal(err)
	}
	rewardtest.MustRedeem(t, writer, codes[0], "alice")
	page, err := reader.Feed(context.Background(), reward.FeedQuery{After: head})
	if err != nil || len(page.Events) == 0 {
		t.Fatalf("node 2 after node 1's scan: %v events, %v; want the scan's events", len(page.Events), err)
	}
	waited := make(chan *reward.FeedPage, 1)
	go func() {
		p, err := reader.Feed(context.Background(), reward.FeedQuery{After: page.Head, Wait: 10 * time.Second})
		if err != nil {
			t.Error(err)
		}
		waited <- p
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	rewardtest.MustRedeem(t, writer, codes[1], "bob")
	p := <-waited
	if len(p.Events) == 0 || time.Since(start) > 5*time.Second {
		t.Errorf("a long poll on node 2 got %d events %v after node 1's scan; want them within a poll", len(p.Events), time.Since(start))
	}
}

// TestEscrowVoidGivesBack: a redemption paid from one node's slice and
// voided through another gives its points and coupon back to the
// campaign: the counters net it out, the budget pays it again, and the
// audit agrees.
func TestEscrowVoidGivesBack(t *testing.T) {
	_, nodes := startNodes(t, "memory", 2)
	rewardtest.MustApply(t, nodes[0], rewardtest.CampaignDoc(t, map[string]any{
		"points_budget": 10, "coupon": map[string]any{"title": "gift", "probability": 1, "stock": 1, "valid_days": 30},
	}))
	codes := mintCodes(t, nodes[0], "SKU-1", 2)
	rewardtest.MustRedeem(t, nodes[0], codes[0], "alice")
	if _, err := nodes[1].VoidRedemption(codes[0], "returned"); err != nil {
		t.Fatal(err)
	}
	v := rewardtest.MustCampaign(t, nodes[1], "promo")
	if v.Counters.PointsPaid != 0 || v.Counters.CouponsIssued != 0 || *v.PointsLeft != 10 {
		t.Errorf("after the void: %+v, %d left; want nothing paid, 10 left", v.Counters, *v.PointsLeft)
	}
	rewardtest.MustAudit(t, nodes[0])
	if res := rewardtest.MustRedeem(t, nodes[1], codes[1], "bob"); res.Points != 10 || res.Coupon == nil {
		t.Errorf("the budget and stock given back pay %d points, coupon %v; want 10 and the gift", res.Points, res.Coupon)
	}
	rewardtest.MustAudit(t, nodes[1])
}

// poolReads counts the reads of escrow records (cs/...) that decisions make.
func poolReads(db store.DB) *rewardtest.ReadCounter {
	return rewardtest.CountReads(db, func(key []byte) bool { return bytes.HasPrefix(key, []byte("cs/")) })
}

// TestEscrowPoolReadOnlyWhereShared: a store's one writer has no slices,
// so its campaign scans read no escrow record; an engine sharing its store
// without a slice of its own (the command line beside nodes) reads the
// pool, to pay only what the nodes' slices do not hold.
func TestEscrowPoolReadOnlyWhereShared(t *testing.T) {
	ks := rewardtest.Keys(t, true)
	clock := func() time.Time { return rewardtest.Start }
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			db := poolReads(memoryStore(t, false))
			eng := reward.New(db, ks, reward.Options{Now: clock, NoSeenIndex: shared})
			rewardtest.MustApply(t, eng, rewardtest.CampaignDoc(t, map[string]any{"points_budget": 100}))
			codes := mintCodes(t, eng, "SKU-1", 1)
			before := db.Reads()
			rewardtest.MustRedeem(t, eng, codes[0], "alice")
			if n := db.Reads() - before; (n > 0) != shared {
				t.Errorf("a campaign scan (shared store: %v) read escrow records %d times", shared, n)
			}
		})
	}
}

// TestEscrowTopUpsGrowWithTheSlice: two nodes each pay 200 scans of a
// campaign with a large budget and coupon stock. Every top-up writes the
// campaign's pool, which every node's top-ups write: on PostgreSQL two
// in flight at once refuse one node's group of scans. A slice's grant
// grows with what it used, so a node tops up about log5(its scans) times,
// not once every 16 scans' worth (26 top-ups of the two nodes here, with
// every scan taking a coupon; 6 with the growth).
func TestEscrowTopUpsGrowWithTheSlice(t *testing.T) {
	const perNode = 200
	db, nodes, _, _ := recordedNodes(t)
	rewardtest.MustApply(t, nodes[0], rewardtest.CampaignDoc(t, map[string]any{
		"points_budget": 1_000_000_000,
		"coupon":        map[string]any{"title": "gift", "probability": 1, "stock": 1_000_000, "valid_days": 30},
	}))
	codes := mintCodes(t, nodes[0], "SKU-1", 2*perNode)
	db.take()
	topUps := 0
	for i, code := range codes {
		rewardtest.MustRedeem(t, nodes[i%2], code, fmt.Sprintf("m%d", i%50))
		for _, k := range db.take() {
			if k == "cs/promo" {
				topUps++
			}
		}
	}
	if topUps > 2*4 {
		t.Errorf("two nodes paying %d scans each topped their slices up %d times, want at most 4 a node: every top-up writes the campaign's pool", perNode, topUps)
	}
	t.Logf("%d top-ups for %d scans on two nodes", topUps, 2*perNode)
	v := rewardtest.MustCampaign(t, nodes[1], "promo")
	if v.Counters.CouponsIssued != 2*perNode {
		t.Errorf("%d coupons issued for %d scans, want one each", v.Counters.CouponsIssued, 2*perNode)
	}
	rewardtest.MustAudit(t, nodes[0])
}
