package reward_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/storetest"
)

// mustReplay replays the feed and fails on any violation: the events alone
// must rebuild what the records hold.
func mustReplay(tb testing.TB, eng *reward.Engine) *reward.ReplayReport {
	tb.Helper()
	return rewardtest.MustReplay(tb, eng)
}

// feedEvent is an event as a consumer decodes it.
type feedEvent struct {
	Seq     uint64          `json:"seq"`
	Type    string          `json:"type"`
	At      time.Time       `json:"at"`
	Version int             `json:"version"`
	Data    json.RawMessage `json:"data"`
}

// readAll pages through the whole feed, limit events at a time.
func readAll(tb testing.TB, eng *reward.Engine, limit int, types ...string) []feedEvent {
	tb.Helper()
	return readAfter(tb, eng, 0, limit, types...)
}

// readAfter pages through the feed's events after the sequence after.
func readAfter(tb testing.TB, eng *reward.Engine, after uint64, limit int, types ...string) []feedEvent {
	tb.Helper()
	var out []feedEvent
	for {
		page, err := eng.Feed(context.Background(), reward.FeedQuery{After: after, Limit: limit, Types: types})
		if err != nil {
			tb.Fatal(err)
		}
		for _, raw := range page.Events {
			var ev feedEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				tb.Fatal(err)
			}
			out = append(out, ev)
		}
		if page.Next == after {
			return out
		}
		after = page.Next
	}
}

// eventData decodes the bodies of the feed's events of the given types, in
// the feed's order.
func eventData[T any](tb testing.TB, eng *reward.Engine, types ...string) []T {
	tb.Helper()
	var out []T
	for _, ev := range readAll(tb, eng, 1000, types...) {
		var v T
		if err := json.Unmarshal(ev.Data, &v); err != nil {
			tb.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// story runs every kind of change the feed tells of, with concurrent scans
// in the middle, and returns the fixture.
func story(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, 300, 0)
	mustApply(t, f, springMilk)
	mustGuide(t, f, "G1", "")
	mustGuide(t, f, "G2", "")
	mustGuide(t, f, "G3", "")
	for i := range 6 {
		if _, err := f.eng.Bind(fmt.Sprintf("m%d", i), fmt.Sprintf("G%d", 1+i%2), false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.eng.LinkAlias("m0", "m0-phone"); err != nil {
		t.Fatal(err)
	}
	codes := allCodes(f, 200)
	storetest.Concurrently(t, 8, 40, func(w, i int) error {
		// Contested codes: most scans of one are refused. Which member
		// wins a code is the race's, so one may win more than the
		// campaign's 20 rewarded scans a day: refused too.
		serial := uint32(1 + (w*7+i*3)%200)
		member := fmt.Sprintf("m%d", (w+i)%10)
		_, err := f.eng.Scan(reward.ScanRequest{Code: codes[serial], Member: member, Guide: "G3", RequestID: fmt.Sprintf("r%d-%d", w, i)})
		if code(err) == reward.CodeAlreadyRedeemed || code(err) == reward.CodeDailyLimit {
			return nil
		}
		return err
	})
	// Spends, coupon verifications and voids, a guide leaving.
	for i := range 10 {
		if _, err := f.eng.Spend(fmt.Sprintf("m%d", i), reward.SpendRequest{Points: 3, Reason: "gift", RequestID: fmt.Sprintf("s%d", i)}); err != nil && code(err) != reward.CodeNotFound {
			t.Fatal(err)
		}
	}
	coupons := couponsOf(t, f)
	if len(coupons) < 4 {
		t.Fatalf("only %d coupons issued; the story needs 4", len(coupons))
	}
	if _, err := f.eng.VerifyCoupon(coupons[0], "G1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.VerifyCoupon(coupons[1], "G2"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.VoidCoupon(coupons[1], "returned"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.VoidCoupon(coupons[2], "mistake"); err != nil {
		t.Fatal(err)
	}
	voided := false
	for s := uint32(1); s <= 200 && !voided; s++ {
		if _, err := f.eng.VoidRedemption(f.signer.Code(s), "fraud"); err == nil {
			voided = true
		} else if c := code(err); c != reward.CodeNotFound && c != reward.CodeInsufficientPoints {
			t.Fatal(err)
		}
	}
	if !voided {
		t.Fatal("no redemption could be voided")
	}
	if _, err := f.eng.GuideLeaves("G1", "G2"); err != nil {
		t.Fatal(err)
	}
	return f
}

// couponsOf lists the coupons the fixture's codes won.
func couponsOf(t *testing.T, f *fixture) []string {
	var out []string
	err := f.db.Scan([]byte("r/"), nil, func(_, v []byte) bool {
		var r reward.Redemption
		if err := json.Unmarshal(v, &r); err != nil {
			t.Fatal(err)
		}
		if r.Coupon != "" {
			out = append(out, r.Coupon)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFeedReplayMatchesAudit is the feed's proof: after a story with every
// kind of change, concurrent scans and refusals among them, the events,
// read page by page, are numbered 1, 2, 3... with no gap, and replaying
// them rebuilds every balance, coupon and redemption the audit checks. It
// runs on every backend, the in-memory one running each decision twice.
func TestFeedReplayMatchesAudit(t *testing.T) {
	onBackends(t, []string{"pebble", "memory"}, func(t *testing.T, _ string) {
		f := story(t)
		mustAudit(t, f)
		rep := mustReplay(t, f.eng)
		events := readAll(t, f.eng, 7)
		if len(events) != rep.Events || len(events) == 0 {
			t.Fatalf("read %d events page by page, the replay read %d", len(events), rep.Events)
		}
		types := map[string]int{}
		for i, ev := range events {
			if ev.Seq != uint64(i+1) {
				t.Fatalf("event %d has seq %d: the sequence has a gap or a repeat", i+1, ev.Seq)
			}
			if ev.Version != reward.FeedVersion || ev.At.IsZero() || len(ev.Data) == 0 {
				t.Fatalf("event %d lacks its version, time or body: %+v", ev.Seq, ev)
			}
			types[ev.Type]++
		}
		for _, want := range []string{reward.FeedCodeRedeemed, reward.FeedPointsEarned, reward.FeedPointsSpent, reward.FeedPointsVoided,
			reward.FeedGrowthEarned, reward.FeedCommissionEarned, reward.FeedCommissionVoided, reward.FeedCouponIssued, reward.FeedCouponVerified,
			reward.FeedCouponVoided, reward.FeedMemberCreated, reward.FeedMemberBound, reward.FeedMemberAliasLinked, reward.FeedGuideCreated,
			reward.FeedGuideLeft, reward.FeedCampaignChanged, reward.FeedRedemptionVoided} {
			if types[want] == 0 {
				t.Errorf("the story wrote no %s event (types seen: %v)", want, types)
			}
		}
		// A filter keeps only its types, in order.
		only := readAll(t, f.eng, 5, reward.FeedCouponIssued, reward.FeedCouponVoided)
		if len(only) != types[reward.FeedCouponIssued]+types[reward.FeedCouponVoided] {
			t.Fatalf("filtered read: %d events, want %d", len(only), types[reward.FeedCouponIssued]+types[reward.FeedCouponVoided])
		}
		if !slices.IsSortedFunc(only, func(a, b feedEvent) int { return int(a.Seq) - int(b.Seq) }) {
			t.Fatal("filtered events out of order")
		}
	})
}

// TestFeedReplayFindsMissingEvents shows the replay can fail: a change
// without its event, or an event without its change, is named.
func TestFeedReplayFindsMissingEvents(t *testing.T) {
	for name, c := range map[string]struct {
		forge func(tx store.Tx, f *fixture)
		want  string
	}{
		"an event lost": {func(tx store.Tx, _ *fixture) { tx.Delete(binary.BigEndian.AppendUint64([]byte("ev/"), 3)) }, "jumps from event 2 to 4"},
		"a balance changed without its event": {func(tx store.Tx, f *fixture) {
			m := reward.Member{ID: "alice", Points: 999, Seq: 1, Redemptions: 1, Created: f.now}
			raw, _ := json.Marshal(m)
			tx.Put([]byte("m/alice"), raw)
		}, "alice: points balance 999, the feed says"},
		"a record without its creation": {func(tx store.Tx, f *fixture) {
			raw, _ := json.Marshal(reward.Member{ID: "ghost", Created: f.now})
			tx.Put([]byte("m/ghost"), raw)
		}, "member ghost has a record but the feed never created it"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, 10, 5)
			for i, m := range []string{"alice", "bob", "carol"} {
				if _, err := f.scan(f.signer.Code(uint32(i+1)), m); err != nil {
					t.Fatal(err)
				}
			}
			mustReplay(t, f.eng)
			if err := f.db.Update(func(tx store.Tx) error { c.forge(tx, f); return nil }); err != nil {
				t.Fatal(err)
			}
			rep, err := f.eng.ReplayFeed()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(rep.Violations, func(v string) bool { return strings.Contains(v, c.want) }) {
				t.Fatalf("violations %q do not say %q", rep.Violations, c.want)
			}
		})
	}
}

// TestFeedWaitsForTheNextEvent: a reader at the head waits, and is woken
// by the next durable event rather than by its timeout.
func TestFeedWaitsForTheNextEvent(t *testing.T) {
	f := newFixture(t, 10, 5)
	if _, err := f.scan(f.signer.Code(1), "alice"); err != nil {
		t.Fatal(err)
	}
	_, head, err := f.eng.FeedBounds()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	page, err := f.eng.Feed(context.Background(), reward.FeedQuery{After: head, Wait: 100 * time.Millisecond})
	if err != nil || len(page.Events) != 0 || page.Next != head {
		t.Fatalf("waiting at the head with nothing new: %+v, %v", page, err)
	}
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Fatalf("returned after %v, before the wait was over", took)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		if _, err := f.scan(f.signer.Code(2), "bob"); err != nil {
			t.Error(err)
		}
	}()
	start = time.Now()
	page, err = f.eng.Feed(context.Background(), reward.FeedQuery{After: head, Wait: 20 * time.Second, Types: []string{reward.FeedCodeRedeemed}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 || time.Since(start) > 10*time.Second {
		t.Fatalf("after %v: %d events, want the one redemption", time.Since(start), len(page.Events))
	}
	var ev feedEvent
	if err := json.Unmarshal(page.Events[0], &ev); err != nil || ev.Type != reward.FeedCodeRedeemed || ev.Seq <= head {
		t.Fatalf("woke with %s, %v", page.Events[0], err)
	}
}

// TestFeedCompaction: events older than the retention go, the floor
// moves, and a reader behind it is told the first sequence held.
func TestFeedCompaction(t *testing.T) {
	f := newFixture(t, 20, 5)
	for i := range 5 {
		if _, err := f.scan(f.signer.Code(uint32(i+1)), fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	_, oldHead, _ := f.eng.FeedBounds()
	f.now = f.now.Add(31 * 24 * time.Hour)
	for i := 5; i < 8; i++ {
		if _, err := f.scan(f.signer.Code(uint32(i+1)), fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := f.eng.CompactFeed(context.Background(), 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(n) != oldHead {
		t.Fatalf("compacted %d events, want the %d older than the retention", n, oldHead)
	}
	first, _, err := f.eng.FeedBounds()
	if err != nil || first != oldHead+1 {
		t.Fatalf("first held %d (%v), want %d", first, err, oldHead+1)
	}
	_, err = f.eng.Feed(context.Background(), reward.FeedQuery{After: 0})
	var re *reward.Error
	if code(err) != reward.CodeEventsCompacted || !errorsAs(err, &re) || re.Details["first_seq"] != first {
		t.Fatalf("reading compacted events: %v, want %s with first_seq %d", err, reward.CodeEventsCompacted, first)
	}
	page, err := f.eng.Feed(context.Background(), reward.FeedQuery{After: first - 1})
	if err != nil || len(page.Events) == 0 {
		t.Fatalf("reading from the floor: %v, %v", page, err)
	}
	rep, err := f.eng.ReplayFeed()
	if err != nil || !slices.ContainsFunc(rep.Violations, func(v string) bool { return strings.Contains(v, "compacted") }) {
		t.Fatalf("a compacted feed replays without a word: %v %v", rep, err)
	}
	// Nothing left to compact: a second pass deletes nothing.
	if n, err := f.eng.CompactFeed(context.Background(), 30*24*time.Hour); err != nil || n != 0 {
		t.Fatalf("second compaction: %d, %v", n, err)
	}
}

func errorsAs(err error, target **reward.Error) bool { return errors.As(err, target) }

// feedShown reads every event the feed shows a reader now.
func feedShown(tb testing.TB, eng *reward.Engine) map[uint64]string {
	out := map[uint64]string{}
	for _, ev := range readAll(tb, eng, 1000) {
		raw, _ := json.Marshal(ev)
		out[ev.Seq] = string(raw)
	}
	return out
}

// checkShown reports events shown before a crash that the recovered store
// lost or changed.
func checkShown(tb testing.TB, db store.Reader, shown map[uint64]string) []string {
	var problems []string
	held := map[uint64]string{}
	err := reward.ReadFeed(db, func(ev reward.FeedEvent) error {
		raw, _ := json.Marshal(feedEvent{Seq: ev.Seq, Type: ev.Type, At: ev.At, Version: ev.Version, Data: ev.Data})
		held[ev.Seq] = string(raw)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	for seq, raw := range shown {
		if held[seq] != raw {
			problems = append(problems, fmt.Sprintf("event %d was shown before the crash as %s; after it the store holds %q", seq, raw, held[seq]))
		}
	}
	return problems
}

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
