package reward_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// restartable opens engines, one after the other, over one store of the
// backend under test, as a server that starts again would: the same keys,
// its clock now.
type restartable struct {
	db  store.DB
	ks  *codegen.Keyset
	now time.Time
}

func (r *restartable) open(t *testing.T) *reward.Engine {
	t.Helper()
	eng := reward.New(r.db, r.ks, reward.Options{Now: func() time.Time { return r.now }})
	if err := eng.LoadSeen(context.Background()); err != nil {
		t.Fatal(err)
	}
	return eng
}

// wantFeed requires the feed eng serves to be numbered first, first+1, ...
// with no gap and no repeat, and returns its events.
func wantFeed(t *testing.T, eng *reward.Engine, first uint64) []feedEvent {
	t.Helper()
	events := readAfter(t, eng, first-1, 1000)
	for i, ev := range events {
		if ev.Seq != first+uint64(i) {
			t.Fatalf("event %d of the feed is numbered %d, want %d (a gap or a repeat)", i, ev.Seq, first+uint64(i))
		}
	}
	return events
}

// redeemedIn returns the codes the events redeem, in order.
func redeemedIn(t *testing.T, events []feedEvent) []string {
	t.Helper()
	var codes []string
	for _, ev := range events {
		if ev.Type != reward.FeedCodeRedeemed {
			continue
		}
		var red reward.Redemption
		if err := json.Unmarshal(ev.Data, &red); err != nil {
			t.Fatal(err)
		}
		codes = append(codes, red.Code)
	}
	return codes
}

// TestFeedNumberingAcrossRestarts: an engine started again on a store
// numbers the feed's events right after the last one, with no gap and no
// repeat, and so it does when the retention removed every event before
// (the numbers go on from the compacted ones, never from 1 again). On a
// single writer the feed's tail is kept in memory and found again at
// start; on PostgreSQL (lanes) every decision reads the head record.
func TestFeedNumberingAcrossRestarts(t *testing.T) {
	r := &restartable{db: openStore(t, 0), ks: rewardtest.Keys(t, true), now: rewardtest.Start}
	first := r.open(t)
	_, signer := rewardtest.MustMint(t, first, reward.BatchSpec{Product: "SKU-1", Count: 12, Points: new(int64(5)), Activate: true})
	codes := rewardtest.Codes(signer, 12)
	for _, c := range codes[:3] {
		rewardtest.MustRedeem(t, first, c, "alice")
	}
	second := r.open(t)
	for _, c := range codes[3:6] {
		rewardtest.MustRedeem(t, second, c, "bob")
	}
	events := wantFeed(t, second, 1)
	if got := redeemedIn(t, events); !slices.Equal(got, codes[:6]) {
		t.Fatalf("the feed redeems %q, want %q", got, codes[:6])
	}
	head := events[len(events)-1].Seq
	mustReplay(t, second)
	rewardtest.MustAudit(t, second)

	// Every event is past the retention: compacted, none is left.
	r.now = r.now.Add(40 * 24 * time.Hour)
	third := r.open(t)
	if n, err := third.CompactFeed(context.Background(), 30*24*time.Hour); err != nil || uint64(n) != head {
		t.Fatalf("compacted %d events (%v), want all %d", n, err, head)
	}
	fourth := r.open(t)
	rewardtest.MustRedeem(t, fourth, codes[6], "carol")
	after := wantFeed(t, fourth, head+1)
	if got := redeemedIn(t, after); !slices.Equal(got, codes[6:7]) {
		t.Fatalf("after the compaction the feed redeems %q, want %q", got, codes[6:7])
	}
	if firstHeld, last, err := fourth.FeedBounds(); err != nil || firstHeld != head+1 || last != after[len(after)-1].Seq {
		t.Fatalf("feed bounds %d to %d (%v), want %d to %d", firstHeld, last, err, head+1, after[len(after)-1].Seq)
	}
	// The records' audit (a compacted feed cannot be replayed).
	if rep, err := fourth.Audit(); err != nil || len(rep.Violations) > 0 {
		t.Fatalf("audit after the compaction: %v %v", rep, err)
	}
}

// TestSingleWriterScanWritesNoFeedHead: a store's single writer keeps the
// feed's tail in memory, so a fresh fixed-points redemption writes its
// redemption, the member, its ledger entry and its two events, and no
// head record; an engine sharing its store still writes the record.
func TestSingleWriterScanWritesNoFeedHead(t *testing.T) {
	if backend() == "postgres" {
		t.Skip("a store deciding in lanes keeps the head record: its groups run again whole")
	}
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			db := &recordingDB{DB: openStore(t, 0)}
			eng := reward.New(db, rewardtest.Keys(t, true), reward.Options{Now: func() time.Time { return rewardtest.Start }, NoSeenIndex: shared})
			_, signer := rewardtest.MustMint(t, eng, reward.BatchSpec{Product: "SKU-1", Count: 4, Points: new(int64(5)), Activate: true})
			rewardtest.MustRedeem(t, eng, signer.Code(1), "alice")
			db.take()
			rewardtest.MustRedeem(t, eng, signer.Code(2), "alice")
			written := db.take()
			var kinds []string
			slices.Sort(written)
			for _, k := range slices.Compact(written) {
				kinds = append(kinds, k[:strings.IndexByte(k, '/')+1])
			}
			want := []string{"ev/", "ev/", "l/", "m/", "r/"}
			if shared {
				want = []string{"ev/", "ev/", "l/", "m/", "meta/", "r/"}
			}
			if !slices.Equal(kinds, want) {
				t.Errorf("a fresh redemption wrote %q, want keys of %q", written, want)
			}
			rewardtest.MustAudit(t, eng)
			mustReplay(t, eng)
		})
	}
}

// TestFeedNumbersAfterAStaleHead: a store a single writer wrote holds no
// head record, or one behind its last event (it was written by an earlier
// version, or by a single writer, before nodes of a shared database took
// it over: yima migrate). Nodes number their events after the last event,
// never over one.
func TestFeedNumbersAfterAStaleHead(t *testing.T) {
	kind := "memory"
	if backend() == "postgres" {
		kind = "postgres"
	}
	dbs := nodeStores(t, kind, 2)
	ks := rewardtest.Keys(t, true)
	clock := func() time.Time { return rewardtest.Start }
	single := reward.New(dbs[0], ks, reward.Options{Now: clock})
	_, signer := rewardtest.MustMint(t, single, reward.BatchSpec{Product: "SKU-1", Count: 6, Points: new(int64(5)), Activate: true})
	codes := rewardtest.Codes(signer, 6)
	for _, c := range codes[:3] {
		rewardtest.MustRedeem(t, single, c, "alice")
	}
	// As a single writer leaves it: no head record.
	if err := dbs[0].Update(func(tx store.Tx) error { tx.Delete([]byte("meta/feed-head")); return nil }); err != nil {
		t.Fatal(err)
	}
	nodes := nodeEngines(t, dbs, ks, clock)
	rewardtest.MustRedeem(t, nodes[0], codes[3], "bob")
	rewardtest.MustRedeem(t, nodes[1], codes[4], "carol")
	relayedFeed(t, nodes[1])
	got := redeemedIn(t, wantFeed(t, nodes[1], 1))
	slices.Sort(got)
	want := slices.Sorted(slices.Values(codes[:5]))
	if !slices.Equal(got, want) {
		t.Fatalf("the feed redeems %q, want %q, each once", got, want)
	}
	rewardtest.MustAudit(t, nodes[0])
	mustReplay(t, nodes[0])
}
