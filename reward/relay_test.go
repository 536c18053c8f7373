package reward_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// runRelays runs each node's feed relay until the test ends.
func runRelays(t *testing.T, nodes ...*reward.Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() { n.RunFeedRelay(ctx) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// relayedFeed waits until no event is pending (numbered by eng, as a
// reader does, or by the relay) and returns the whole feed as eng reads
// it.
func relayedFeed(t *testing.T, eng *reward.Engine) []reward.FeedEvent {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := eng.RelayFeed(); err != nil {
			t.Fatal(err)
		}
		rep := rewardtest.MustReplay(t, eng)
		if rep.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still pending after 20 s", rep.Pending)
		}
	}
	var out []reward.FeedEvent
	for _, ev := range readAll(t, eng, 1000) {
		out = append(out, reward.FeedEvent(ev))
	}
	return out
}

// feedIndex checks that events are numbered 1, 2, 3 ... with no gap and
// indexes them: the position of each (type, subject) pair, where the
// subject is the body's field named by subjects[type]. A pair met twice
// is an event numbered twice.
func feedIndex(t *testing.T, events []reward.FeedEvent, subjects map[string]string) map[string]int {
	t.Helper()
	at := map[string]int{}
	for i, ev := range events {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("event %d of the feed has seq %d: a gap or a repeat", i+1, ev.Seq)
		}
		field, ok := subjects[ev.Type]
		if !ok {
			continue
		}
		var body map[string]any
		if err := json.Unmarshal(ev.Data, &body); err != nil {
			t.Fatal(err)
		}
		key := ev.Type + " " + fmt.Sprint(body[field])
		if _, twice := at[key]; twice {
			t.Errorf("%s is in the feed twice", key)
		}
		at[key] = i
	}
	return at
}

var relaySubjects = map[string]string{reward.FeedCodeRedeemed: "code", reward.FeedCouponIssued: "id", reward.FeedCouponVerified: "id"}

// TestFeedRelayThreeNodesRacing: three nodes, each running the relay,
// race scans, spends and verifications; each coupon is verified on
// another node than the one that issued it, right after. The feed ends
// gap-free with every event once (the replay rebuilds every balance, a
// repeated event would break it), and every coupon's issue comes before
// its verification.
func TestFeedRelayThreeNodesRacing(t *testing.T) {
	onBackends(t, []string{"memory", "postgres"}, func(t *testing.T, backend string) {
		_, nodes := startNodes(t, backend, 3)
		rewardtest.MustApply(t, nodes[0], rewardtest.CampaignDoc(t, map[string]any{
			"points": 10, "coupon": map[string]any{"title": "gift", "probability": 1, "stock": 1000, "valid_days": 30},
		}))
		rewardtest.MustGuide(t, nodes[0], "G1", "")
		codes := mintCodes(t, nodes[0], "SKU-1", 60)
		runRelays(t, nodes...)
		retry := func(fn func() error) error {
			err := fn()
			for try := 0; try < 20 && reward.ErrorCode(err) == reward.CodeUnavailable; try++ {
				err = fn()
			}
			return err
		}
		var (
			mu       sync.Mutex
			verified []string
			wg       sync.WaitGroup
		)
		for i := range 9 {
			wg.Go(func() {
				for j := range codes {
					code := codes[(i*7+j)%len(codes)]
					member := fmt.Sprintf("m%d", (i+j)%12)
					var res reward.ScanResult
					err := retry(func() (err error) {
						res, _, err = rewardtest.Scan(nodes[i%3], reward.ScanRequest{Code: code, Member: member, RequestID: fmt.Sprintf("s%d-%d", i, j)})
						return err
					})
					if reward.ErrorCode(err) == reward.CodeAlreadyRedeemed {
						continue
					}
					if err != nil {
						t.Errorf("scan on node %d: %v", i%3+1, err)
						return
					}
					if err := retry(func() error { _, err := nodes[(i+1)%3].VerifyCoupon(res.Coupon.ID, "G1"); return err }); err != nil {
						t.Errorf("verifying %s on node %d: %v", res.Coupon.ID, (i+1)%3+1, err)
						return
					}
					mu.Lock()
					verified = append(verified, res.Coupon.ID)
					mu.Unlock()
					err = retry(func() error {
						_, err := nodes[(i+2)%3].Spend(member, reward.SpendRequest{Points: 5, Reason: "sticker", RequestID: fmt.Sprintf("p%d-%d", i, j)})
						return err
					})
					if err != nil && reward.ErrorCode(err) != reward.CodeInsufficientPoints {
						t.Errorf("spend on node %d: %v", (i+2)%3+1, err)
						return
					}
				}
			})
		}
		wg.Wait()
		if len(verified) != len(codes) {
			t.Fatalf("%d coupons verified of %d codes redeemed", len(verified), len(codes))
		}
		for i, n := range nodes {
			events := relayedFeed(t, n)
			at := feedIndex(t, events, relaySubjects)
			for _, code := range codes {
				if _, ok := at[reward.FeedCodeRedeemed+" "+code]; !ok {
					t.Errorf("node %d: the redemption of %s is not in the feed", i+1, code)
				}
			}
			for _, id := range verified {
				issued, ok1 := at[reward.FeedCouponIssued+" "+id]
				used, ok2 := at[reward.FeedCouponVerified+" "+id]
				if !ok1 || !ok2 || issued > used {
					t.Errorf("node %d: coupon %s issued at %d (%v), verified at %d (%v); want both, the issue first", i+1, id, issued, ok1, used, ok2)
				}
			}
			rewardtest.MustAudit(t, n)
		}
	})
}

// TestFeedRelayKeepsCausalOrder: a coupon issued on one node and verified
// on another a moment later, both pending when a third node relays them
// in one batch, keep that order, though the verifying node's events come
// first in key order.
func TestFeedRelayKeepsCausalOrder(t *testing.T) {
	db := memoryStore(t, true)
	ks := rewardtest.Keys(t, true)
	node := func(id string) *reward.Engine {
		return reward.New(db, ks, reward.Options{Now: func() time.Time { return rewardtest.Start }, NoSeenIndex: true, NodeID: id})
	}
	issuer, verifier, relay := node("node-b"), node("node-a"), node("node-c")
	rewardtest.MustApply(t, issuer, rewardtest.CampaignDoc(t, map[string]any{
		"coupon": map[string]any{"title": "gift", "probability": 1, "stock": 10, "valid_days": 30},
	}))
	rewardtest.MustGuide(t, issuer, "G1", "")
	codes := mintCodes(t, issuer, "SKU-1", 3)
	var ids []string
	for _, code := range codes {
		res := rewardtest.MustRedeem(t, issuer, code, "alice")
		if _, err := verifier.VerifyCoupon(res.Coupon.ID, "G1"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Coupon.ID)
	}
	if n, err := relay.RelayFeed(); err != nil || n == 0 {
		t.Fatalf("the relay numbered %d events: %v", n, err)
	}
	at := feedIndex(t, relayedFeed(t, relay), relaySubjects)
	for _, id := range ids {
		if at[reward.FeedCouponIssued+" "+id] > at[reward.FeedCouponVerified+" "+id] {
			t.Errorf("coupon %s is verified (event %d) before it is issued (event %d)", id, at[reward.FeedCouponVerified+" "+id]+1, at[reward.FeedCouponIssued+" "+id]+1)
		}
	}
	rewardtest.MustAudit(t, relay)
}

// dyingDB is a node's store that dies in the middle of the relay's next
// batch, once killed: the batch's decision runs and is never committed.
type dyingDB struct {
	store.DB
	mu     sync.Mutex
	killed bool
}

var errKilled = errors.New("the node was killed")

func (d *dyingDB) Update(fn func(store.Tx) error) error {
	return d.DB.Update(func(tx store.Tx) error {
		var keys []string
		if err := fn(recordingTx{tx, &keys}); err != nil {
			return err
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.killed && slices.Contains(keys, "meta/feed-head") {
			return errKilled
		}
		return nil
	})
}

// TestFeedRelayNodeDies: the relay's node dies in the middle of a batch.
// Until its lease runs out the other nodes wait (never two relays); then
// one takes over and numbers every event, none twice. A relay that stops
// cleanly gives the lease up: another node relays at once.
func TestFeedRelayNodeDies(t *testing.T) {
	mem := memoryStore(t, true)
	dying := &dyingDB{DB: mem}
	var clockMu sync.Mutex
	now := rewardtest.Start
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	nodes := nodeEngines(t, []store.DB{dying, mem, mem}, rewardtest.Keys(t, true), clock)
	relay, second, third := nodes[0], nodes[1], nodes[2]
	rewardtest.MustApply(t, second, rewardtest.CampaignDoc(t, map[string]any{"points": 10}))
	codes := mintCodes(t, second, "SKU-1", 8)
	rewardtest.MustRedeem(t, second, codes[0], "alice")
	rewardtest.MustRedeem(t, third, codes[1], "bob")
	if n, err := relay.RelayFeed(); err != nil || n == 0 {
		t.Fatalf("the relay numbered %d events: %v", n, err)
	}
	rewardtest.MustRedeem(t, second, codes[2], "alice")
	rewardtest.MustRedeem(t, third, codes[3], "bob")
	dying.mu.Lock()
	dying.killed = true
	dying.mu.Unlock()
	if _, err := relay.RelayFeed(); !errors.Is(err, errKilled) {
		t.Fatalf("the dying relay's batch: %v, want it killed", err)
	}
	_, head, err := second.FeedBounds()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := second.RelayFeed(); err != nil || n != 0 {
		t.Fatalf("another node numbered %d events (%v) while the dead relay's lease lasts", n, err)
	}
	clockMu.Lock()
	now = now.Add(11 * time.Second)
	clockMu.Unlock()
	if n, err := second.RelayFeed(); err != nil || n == 0 {
		t.Fatalf("after the lease ran out, node 2 numbered %d events: %v", n, err)
	}
	events := relayedFeed(t, third)
	at := feedIndex(t, events, relaySubjects)
	for _, code := range codes[:4] {
		if _, ok := at[reward.FeedCodeRedeemed+" "+code]; !ok {
			t.Errorf("the redemption of %s is lost", code)
		}
	}
	if uint64(len(events)) <= head {
		t.Errorf("the feed stayed at %d events after the takeover", len(events))
	}
	rewardtest.MustAudit(t, third)

	// A clean stop hands over at once, without waiting out the lease.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { second.RunFeedRelay(ctx); close(done) }()
	rewardtest.MustRedeem(t, second, codes[4], "alice")
	relayedFeed(t, second)
	cancel()
	<-done
	rewardtest.MustRedeem(t, second, codes[5], "carol")
	if n, err := third.RelayFeed(); err != nil || n == 0 {
		t.Fatalf("after node 2 stopped relaying, node 3 numbered %d events (%v); want it to take over at once", n, err)
	}
	feedIndex(t, relayedFeed(t, third), relaySubjects)
	rewardtest.MustAudit(t, third)
}

// TestFeedExportNamesItsLastEvent: an export on a shared database opened
// while another node's events are pending names a Seq that covers them:
// the events of what it holds are at or before Seq, those of later
// decisions after it.
func TestFeedExportNamesItsLastEvent(t *testing.T) {
	_, nodes := startNodes(t, "memory", 2)
	rewardtest.MustApply(t, nodes[0], rewardtest.CampaignDoc(t, map[string]any{"points": 10}))
	codes := mintCodes(t, nodes[0], "SKU-1", 3)
	rewardtest.MustRedeem(t, nodes[0], codes[0], "alice")
	rewardtest.MustRedeem(t, nodes[0], codes[1], "bob")
	x, err := nodes[1].OpenExport(reward.ExportQuery{Kind: reward.ExportRedemptions, Format: reward.FormatNDJSON})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rewardtest.MustRedeem(t, nodes[0], codes[2], "carol")
	if x.Records != 2 {
		t.Fatalf("the export holds %d redemptions, want 2", x.Records)
	}
	at := feedIndex(t, relayedFeed(t, nodes[1]), relaySubjects)
	for i, code := range codes {
		seq := uint64(at[reward.FeedCodeRedeemed+" "+code] + 1)
		if in := i < 2; in != (seq <= x.Seq) {
			t.Errorf("the redemption of %s (in the export: %v) is event %d, the export's Seq %d", code, in, seq, x.Seq)
		}
	}
}
