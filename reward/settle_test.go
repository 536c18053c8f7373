package reward_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// shanghai is the brand's zone of the settlement tests: months begin at
// 16:00 UTC on the day before, so a test that read them in UTC would fail.
var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// settleFixture is an engine in the Asia/Shanghai zone whose clock the
// test moves (safely from many goroutines), with a campaign paying guides
// 3 a scan and guides G1 and G2 at store-a, G3 at store-b.
type settleFixture struct {
	db     store.DB
	eng    *reward.Engine
	signer *codegen.Signer
	clock  atomic.Int64 // unix nanoseconds
}

func (f *settleFixture) set(t time.Time) { f.clock.Store(t.UnixNano()) }

func newSettleFixture(t *testing.T, codes uint32) *settleFixture {
	t.Helper()
	f := &settleFixture{}
	f.set(time.Date(2026, 11, 3, 10, 0, 0, 0, shanghai))
	f.db, f.eng = newEngine(t, reward.Options{Zone: shanghai, Now: func() time.Time { return time.Unix(0, f.clock.Load()) }})
	_, f.signer = rewardtest.MustMint(t, f.eng, reward.BatchSpec{Product: "SKU-1", Count: codes, Activate: true})
	rewardtest.MustApply(t, f.eng, campaignDoc(t, map[string]any{"guide_commission": map[string]any{"per_scan": 3}}))
	rewardtest.MustStore(t, f.eng, "store-a")
	rewardtest.MustStore(t, f.eng, "store-b")
	for _, g := range []reward.Guide{{ID: "G1", Store: "store-a", Name: "王芳"}, {ID: "G2", Store: "store-a"}, {ID: "G3", Store: "store-b"}} {
		rewardtest.MustStore(t, f.eng, g.Store)
		if _, _, err := f.eng.AddGuide(g); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// redeem scans code serial for member, recruited by guide.
func (f *settleFixture) redeem(t *testing.T, serial uint32, member, guide string) {
	t.Helper()
	if _, err := f.eng.Scan(reward.ScanRequest{Code: f.signer.Code(serial), Member: member, Guide: guide}); err != nil {
		t.Fatalf("scan %d by %s: %v", serial, member, err)
	}
}

func lineOf(v *reward.SettlementView, guide string) *reward.GuideSettlement {
	for i := range v.Lines {
		if v.Lines[i].Guide == guide {
			return &v.Lines[i]
		}
	}
	return nil
}

func TestSettleAMonth(t *testing.T) {
	f := newSettleFixture(t, 20)
	// October, late: 23:30 on the 31st in Shanghai is still October there
	// (15:30 UTC), and is settled with November as the first settlement
	// takes everything before its end.
	f.set(time.Date(2026, 10, 31, 23, 30, 0, 0, shanghai))
	f.redeem(t, 1, "m1", "G1")
	// November: G1 earns twice, G3 once; G2 nothing.
	f.set(time.Date(2026, 11, 3, 10, 0, 0, 0, shanghai))
	f.redeem(t, 2, "m1", "")
	f.redeem(t, 3, "m3", "G3")
	// 00:10 on 1 December in Shanghai is 16:10 UTC on 30 November: it is
	// December's.
	f.set(time.Date(2026, 12, 1, 0, 10, 0, 0, shanghai))
	f.redeem(t, 4, "m1", "")

	v, err := f.eng.Settle("2026-11")
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != reward.SettlementSettled || v.Repeated || v.Guides != 2 || v.Entries != 3 || v.Commission != 9 {
		t.Fatalf("settlement: %+v", v.Settlement)
	}
	if !v.Start.Equal(time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC)) || !v.End.Equal(time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)) || v.TimeZone != "Asia/Shanghai" {
		t.Fatalf("bounds %s..%s in %s", v.Start, v.End, v.TimeZone)
	}
	g1, g3 := lineOf(v, "G1"), lineOf(v, "G3")
	if g1 == nil || g1.Commission != 6 || g1.Entries != 2 || g1.FromSeq != 1 || g1.ToSeq != 2 || g1.Store != "store-a" || g1.Name != "王芳" {
		t.Fatalf("G1's line: %+v", g1)
	}
	if g3 == nil || g3.Commission != 3 || lineOf(v, "G2") != nil {
		t.Fatalf("lines: %+v", v.Lines)
	}
	if got := v.Stores(); !slices.Equal(got, []string{"store-a", "store-b"}) {
		t.Fatalf("stores %v", got)
	}

	// Again: nothing changes, not even the feed.
	head := feedHead(t, f.eng)
	again, err := f.eng.Settle("2026-11")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Repeated || again.Commission != 9 || len(again.Lines) != 2 || !again.SettledAt.Equal(v.SettledAt) {
		t.Fatalf("settled again: %+v", again)
	}
	if feedHead(t, f.eng) != head {
		t.Fatal("settling a month again wrote events")
	}
	if got, err := f.eng.SettlementOf("2026-11"); err != nil || got.Commission != 9 || len(got.Lines) != 2 {
		t.Fatalf("SettlementOf: %+v %v", got, err)
	}

	// One commission.settled event per line, with the line as its body.
	settled := eventData[reward.GuideSettlement](t, f.eng, reward.FeedCommissionSettled)
	if len(settled) != 2 || settled[0].Guide != "G1" || settled[0].Commission != 6 || settled[1].Guide != "G3" {
		t.Fatalf("commission.settled events: %+v", settled)
	}
	mustAuditEngine(t, f.eng)
	rewardtest.MustReplay(t, f.eng)
}

// settledNovember redeems two codes for m1 in November, one brought by
// G1, and settles November at the time at.
func settledNovember(t *testing.T, at time.Time) (*settleFixture, *reward.SettlementView) {
	t.Helper()
	f := newSettleFixture(t, 20)
	f.redeem(t, 1, "m1", "G1")
	f.redeem(t, 2, "m1", "")
	f.set(at)
	nov, err := f.eng.Settle("2026-11")
	if err != nil {
		t.Fatal(err)
	}
	return f, nov
}

func TestVoidAfterSettlementGoesToTheNextMonth(t *testing.T) {
	f, nov := settledNovember(t, time.Date(2026, 12, 2, 9, 0, 0, 0, shanghai))
	if l := lineOf(nov, "G1"); l == nil || l.Commission != 6 {
		t.Fatalf("November: %+v", nov.Lines)
	}
	// A November sale is voided in December: the correction is December's.
	if _, err := f.eng.VoidRedemption(f.signer.Code(1), "returned"); err != nil {
		t.Fatal(err)
	}
	f.redeem(t, 3, "m1", "")
	if got, _ := f.eng.SettlementOf("2026-11"); got.Commission != 6 || lineOf(got, "G1").Commission != 6 {
		t.Fatalf("the void rewrote November: %+v", got)
	}
	f.set(time.Date(2027, 1, 1, 0, 0, 0, 0, shanghai))
	dec, err := f.eng.Settle("2026-12")
	if err != nil {
		t.Fatal(err)
	}
	if l := lineOf(dec, "G1"); l == nil || l.Commission != 0 || l.Entries != 2 || l.FromSeq != 3 || l.ToSeq != 4 {
		t.Fatalf("December's G1 line (void -3, scan +3): %+v", l)
	}
	mustAuditEngine(t, f.eng)
}

func TestSettleRefusals(t *testing.T) {
	f := newSettleFixture(t, 20)
	f.redeem(t, 1, "m1", "G1")
	// 23:59 on 30 November in Shanghai: November has not ended.
	f.set(time.Date(2026, 11, 30, 23, 59, 0, 0, shanghai))
	for _, c := range []struct {
		period string
		want   reward.Code
	}{
		{"2026-11", reward.CodePeriodNotEnded},
		{"2027-01", reward.CodePeriodNotEnded},
		{"2026-13", reward.CodeInvalidRequest},
		{"2026-1", reward.CodeInvalidRequest},
		{"11-2026", reward.CodeInvalidRequest},
		{"2026-11-01", reward.CodeInvalidRequest},
		{"", reward.CodeInvalidRequest},
		{"1999-12", reward.CodeInvalidRequest},
	} {
		if _, err := f.eng.Settle(c.period); code(err) != c.want {
			t.Errorf("Settle(%q): %v, want %s", c.period, err, c.want)
		}
	}
	// Nothing was stored by any of them.
	if n := countPrefix(t, f.db, "sp/") + countPrefix(t, f.db, "sg/") + countPrefix(t, f.db, "gsq/"); n != 0 {
		t.Fatalf("refused settlements stored %d records", n)
	}
	if _, err := f.eng.SettlementOf("2026-11"); code(err) != reward.CodeNotFound {
		t.Fatalf("SettlementOf an unsettled month: %v", err)
	}
	f.set(time.Date(2026, 12, 1, 0, 0, 0, 0, shanghai))
	if _, err := f.eng.Settle("2026-11"); err != nil {
		t.Fatal(err)
	}
	// October was skipped: its commission went with November.
	if _, err := f.eng.Settle("2026-10"); code(err) != reward.CodePeriodClosed {
		t.Fatalf("a month before the last settled: %v", err)
	}
	mustAuditEngine(t, f.eng)
}

// TestSettlementResumes stops a settlement after its first decisions, as
// a crash would, and checks that settling the month again finishes it and
// that no other month is settled meanwhile.
func TestSettlementResumes(t *testing.T) {
	f := newSettleFixture(t, 20)
	f.redeem(t, 1, "m1", "G1")
	f.redeem(t, 2, "m3", "G3")
	f.set(time.Date(2026, 12, 5, 0, 0, 0, 0, shanghai))
	// What Settle's first decision writes: the month, settling.
	st := reward.Settlement{Period: "2026-11", Status: reward.SettlementSettling,
		Start: time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC), TimeZone: "Asia/Shanghai"}
	raw, _ := json.Marshal(st)
	if err := f.db.Update(func(tx store.Tx) error {
		tx.Put([]byte("sp/2026-11"), raw)
		tx.Put([]byte("meta/settled-through"), []byte("2026-11"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f.set(time.Date(2027, 1, 5, 0, 0, 0, 0, shanghai))
	if _, err := f.eng.Settle("2026-12"); code(err) != reward.CodeSettlementUnfinished {
		t.Fatalf("another month while one is unfinished: %v", err)
	}
	v, err := f.eng.Settle("2026-11")
	if err != nil {
		t.Fatal(err)
	}
	if v.Repeated || v.Status != reward.SettlementSettled || v.Commission != 6 || v.Guides != 2 {
		t.Fatalf("resumed: %+v", v.Settlement)
	}
	mustAuditEngine(t, f.eng)
}

// TestAuditCatchesForgedSettlements changes settled records behind the
// engine's back, one at a time, and checks that the audit names each.
func TestAuditCatchesForgedSettlements(t *testing.T) {
	for _, c := range []struct {
		name   string
		forge  func(l *reward.GuideSettlement, st *reward.Settlement)
		wanted string
	}{
		{"line pays more than its entries", func(l *reward.GuideSettlement, _ *reward.Settlement) { l.Commission += 100 }, "the ledger holds"},
		{"month total differs from its lines", func(_ *reward.GuideSettlement, st *reward.Settlement) { st.Commission += 100 }, "its lines add up to"},
		{"line covers an entry twice", func(l *reward.GuideSettlement, _ *reward.Settlement) { l.FromSeq = 2 }, "starts at entry"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, v := settledNovember(t, time.Date(2026, 12, 2, 0, 0, 0, 0, shanghai))
			mustAuditEngine(t, f.eng)
			l, st := *lineOf(v, "G1"), v.Settlement
			c.forge(&l, &st)
			lraw, _ := json.Marshal(l)
			sraw, _ := json.Marshal(st)
			if err := f.db.Update(func(tx store.Tx) error {
				tx.Put(append([]byte("sg/2026-11\x00"), "G1"...), lraw)
				tx.Put([]byte("sp/2026-11"), sraw)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			mustAuditSay(t, f.eng, c.wanted)
		})
	}
}

// TestSettlementWhileCommissionsAreEarned settles November while scans go
// on across the month's end, and then December: every commission entry is
// settled in exactly one month, and the two months together pay exactly
// what the guides earned.
func TestSettlementWhileCommissionsAreEarned(t *testing.T) {
	const (
		workers = 8
		perWork = 25
	)
	f := newSettleFixture(t, workers*perWork)
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, shanghai)
	f.set(end.Add(-time.Duration(workers*perWork/2) * time.Millisecond))
	// A signer is not safe for concurrent use: the codes are made first.
	codes := append([]string{""}, rewardtest.Codes(f.signer, workers*perWork)...) // by serial
	var wg sync.WaitGroup
	var settleErr error
	var nov *reward.SettlementView
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range perWork {
				serial := uint32(w*perWork + i + 1)
				// Each scan moves the clock a millisecond: half the scans
				// are November's, half December's, and the settlement
				// starts as soon as November has ended.
				f.clock.Add(int64(time.Millisecond))
				if _, err := f.eng.Scan(reward.ScanRequest{Code: codes[serial], Member: fmt.Sprintf("m%d", serial), Guide: []string{"G1", "G2", "G3"}[serial%3]}); err != nil {
					t.Errorf("scan %d: %v", serial, err)
				}
			}
		})
	}
	wg.Go(func() {
		<-start
		for {
			v, err := f.eng.Settle("2026-11")
			if code(err) == reward.CodePeriodNotEnded {
				time.Sleep(100 * time.Microsecond)
				continue
			}
			nov, settleErr = v, err
			return
		}
	})
	close(start)
	wg.Wait()
	if settleErr != nil {
		t.Fatal(settleErr)
	}
	f.set(time.Date(2027, 1, 1, 0, 0, 0, 0, shanghai))
	dec, err := f.eng.Settle("2026-12")
	if err != nil {
		t.Fatal(err)
	}
	var earned int64
	for _, id := range []string{"G1", "G2", "G3"} {
		g, err := f.eng.GuideByID(id, 1)
		if err != nil {
			t.Fatal(err)
		}
		earned += g.Commission
		for _, en := range ledgerOf(t, f.db, "gl/", id) {
			inNov := en.At.Before(nov.End)
			l := lineOf(nov, id)
			if !inNov {
				l = lineOf(dec, id)
			}
			if l == nil || en.Seq < l.FromSeq || en.Seq > l.ToSeq {
				t.Errorf("%s's entry #%d at %s is not in the line of its month (%+v)", id, en.Seq, en.At, l)
			}
		}
	}
	if earned != workers*perWork*3 || nov.Commission+dec.Commission != earned {
		t.Fatalf("earned %d, settled %d in November and %d in December", earned, nov.Commission, dec.Commission)
	}
	if nov.Commission == 0 || dec.Commission == 0 {
		t.Fatalf("the scans did not straddle the month's end: %d and %d", nov.Commission, dec.Commission)
	}
	mustAuditEngine(t, f.eng)
}

func feedHead(t *testing.T, eng *reward.Engine) uint64 {
	t.Helper()
	var last uint64
	for _, ev := range readAll(t, eng, 1000) {
		last = ev.Seq
	}
	return last
}

func countPrefix(t *testing.T, db store.Reader, prefix string) int {
	t.Helper()
	n := 0
	if err := db.Scan([]byte(prefix), nil, func(_, _ []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

func mustAuditEngine(t *testing.T, eng *reward.Engine) {
	t.Helper()
	rep, err := eng.Audit()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Violations) > 0 {
		t.Fatalf("audit: %v", rep.Violations)
	}
}
