package reward_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

// TestDecisionsAreSafeToRetry runs the rules whose decisions once changed
// engine memory, or an answer, before their commit on a backend that runs
// every decision twice: statistics summed by a discarded run, and tokens
// listed as revoked by both runs, showed there. The whole package runs on
// that backend with YIMA_TEST_STORE=memory (make test does).
func TestDecisionsAreSafeToRetry(t *testing.T) {
	if backend() == "memory" {
		t.Skip("every test of the package runs on the retrying backend")
	}
	useBackend(t, "memory")
	for _, c := range []struct {
		name string
		test func(*testing.T)
	}{ // in a fixed order, so a failure repeats as it was seen
		{"Stats", TestStats},
		{"StatsZone", TestStatsZone},
		{"GuideLeavesWithASuccessor", TestGuideLeavesWithASuccessor},
		{"EquivalenceGrouping", TestEquivalenceGrouping},
		{"HundredConcurrentScansOneWinner", TestHundredConcurrentScansOneWinner},
	} {
		t.Run(c.name, c.test)
	}
}

func TestHundredConcurrentScansOneWinner(t *testing.T) {
	f := newFixture(t, 10, 7)
	c := f.signer.Code(3)
	wins, dups := race(t, 100, reward.CodeAlreadyRedeemed, func(i int) error {
		_, err := f.scan(c, fmt.Sprintf("m%d", i))
		return err
	})
	if wins != 1 || dups != 99 {
		t.Fatalf("%d redeemed and %d already_redeemed, want 1 and 99", wins, dups)
	}
	st, _ := f.eng.Status(c)
	// Distinct scanners are counted exactly up to 64, then floored there:
	// the display only needs "many people".
	if st.Scans != 100 || st.Scanners != 64 || !st.Redeemed {
		t.Fatalf("status %+v, want 100 scans, 64 (the floor of 100) scanners, redeemed", st)
	}
}

// TestTwoMembersRaceOnManyCodes has two members scan the same codes at the
// same time: every code pays exactly one of them, once, and each balance is
// what its answers promised. Which member wins how many codes is up to the
// scheduler: a member may lose every race (the other ran through all the
// codes first), and then has no account at all.
func TestTwoMembersRaceOnManyCodes(t *testing.T) {
	const n = 300
	f := newFixture(t, n, 5)
	codes := allCodes(f, n)
	members := []string{"alice", "bob"}
	won := map[string]int64{} // points each member's answers promised
	wins := map[string]int{}  // redeemed answers per code
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{}) // both begin together, so they contend
	for _, m := range members {
		wg.Go(func() {
			<-start
			for s := uint32(1); s <= n; s++ {
				res, err := f.scan(codes[s], m)
				if err == nil {
					mu.Lock()
					won[m] += res.Points
					wins[codes[s]]++
					mu.Unlock()
				} else if code(err) != reward.CodeAlreadyRedeemed {
					t.Errorf("scan: %v", err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for s := uint32(1); s <= n; s++ {
		if wins[codes[s]] != 1 {
			t.Errorf("code %d: %d redeemed answers, want exactly one", s, wins[codes[s]])
		}
		if !isRedeemed(t, f, codes[s]) {
			t.Errorf("code %d is not redeemed", s)
		}
	}
	var total int64
	for _, m := range members {
		v, err := f.eng.Member(m, "", 10)
		var balance int64
		switch {
		case err == nil:
			balance = v.Points
		case code(err) == reward.CodeNotFound && won[m] == 0:
			// Lost every race: no redemption, so no account.
		default:
			t.Fatalf("%s (promised %d points): %v", m, won[m], err)
		}
		if balance != won[m] {
			t.Errorf("%s: balance %d, but the answers promised %d", m, balance, won[m])
		}
		total += balance
	}
	if total != 5*n {
		t.Errorf("the members hold %d points, want %d: each of %d codes paid once", total, 5*n, n)
	}
	mustAudit(t, f)
}

func TestScanRefusals(t *testing.T) {
	f := newFixture(t, 10, 5)
	_, is := mustMint(t, f, reward.BatchSpec{Product: "SKU-2", Count: 10})
	if _, err := f.eng.SetRange(f.batch.ID, reward.Range{From: 5, To: 6, State: reward.Revoked}); err != nil {
		t.Fatal(err)
	}
	good := f.signer.Code(1)
	bad := []byte(good)
	bad[len(bad)-1] ^= 1
	for name, c := range map[string]struct {
		code   string
		member string
		want   reward.Code
	}{
		"forged":        {string(bad), "m", reward.CodeInvalidCode},
		"truncated":     {good[:20], "m", reward.CodeInvalidCode},
		"inactive":      {is.Code(1), "m", reward.CodeBatchInactive},
		"revoked":       {f.signer.Code(5), "m", reward.CodeBatchRevoked},
		"serial beyond": {f.signer.Code(11), "m", reward.CodeUnknownBatch},
		"no member":     {good, "", reward.CodeInvalidRequest},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := f.scan(c.code, c.member); code(err) != c.want {
				t.Fatalf("scan: %v, want %s", err, c.want)
			}
		})
	}
	if st, _ := f.eng.Status(good); st.Redeemed || st.Scans != 0 {
		t.Fatalf("refused scans touched another code: %+v", st)
	}
}

func TestRequestIDReplaysTheStoredAnswer(t *testing.T) {
	f := newFixture(t, 10, 5)
	req := reward.ScanRequest{Code: f.signer.Code(1), Member: "m", RequestID: "r1"}
	first, err := f.eng.Scan(req)
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Hour)
	req.Code = "  " + string(append([]byte(nil), req.Code...)) // same code, another spelling
	again, err := f.eng.Scan(req)
	if err != nil || string(again) != string(first) {
		t.Fatalf("retry: %s %v, want the stored answer %s", again, err, first)
	}
	v, _ := f.eng.Member("m", "", 10)
	if v.Points != 5 || len(v.Ledger) != 1 {
		t.Fatalf("after a retry the member has %d points and %d entries, want 5 and 1", v.Points, len(v.Ledger))
	}
	req.Member = "other"
	if _, err := f.eng.Scan(req); code(err) != reward.CodeIdempotencyReused {
		t.Fatalf("same request_id, other body: %v, want %s", err, reward.CodeIdempotencyReused)
	}
}

func TestStorageFailureIsUnavailable(t *testing.T) {
	f := newFixture(t, 10, 5)
	f.db.Close()
	_, err := f.scan(f.signer.Code(1), "m")
	if code(err) != reward.CodeUnavailable {
		t.Fatalf("scan on a closed store: %v, want %s", err, reward.CodeUnavailable)
	}
	var re *reward.Error
	if !errors.As(err, &re) {
		t.Fatal("not a coded error")
	}
}

// A code's first scan that redeems it writes its redemption and no scan
// record: the redemption implies that scan. Everything that reads scan
// counts must see it all the same.

// mustStatus returns the code's status or fails.
func mustStatus(t *testing.T, eng *reward.Engine, code string) *reward.CodeStatus {
	t.Helper()
	st, err := eng.Status(code)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// wantCounts fails unless the code shows scans and scanners, first scanned
// at first.
func wantCounts(t *testing.T, eng *reward.Engine, code string, scans, scanners uint64, first time.Time) {
	t.Helper()
	st := mustStatus(t, eng, code)
	if !st.Redeemed || st.Scans != scans || st.Scanners != scanners || st.FirstScan == nil || !st.FirstScan.Equal(first) {
		t.Errorf("code %s: redeemed %v, %d scans by %d scanners, first %v; want redeemed, %d by %d, first %v",
			code, st.Redeemed, st.Scans, st.Scanners, st.FirstScan, scans, scanners, first)
	}
}

// scanRecord reads the code's scan record as stored.
func scanRecord(t *testing.T, f *fixture, code string) (reward.ScanStats, bool) {
	t.Helper()
	raw, found, err := f.db.Get([]byte("sc/" + code))
	if err != nil {
		t.Fatal(err)
	}
	var st reward.ScanStats
	if found {
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
	}
	return st, found
}

func TestRedemptionImpliesTheFirstScan(t *testing.T) {
	f := newFixture(t, 10, 5)
	first := f.now
	code := f.signer.Code(1)
	if _, err := f.scan(code, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, found := scanRecord(t, f, code); found {
		t.Error("the scan that redeemed a code wrote a scan record its redemption implies")
	}
	rewardtest.Redemption(t, f.db, code)
	wantCounts(t, f.eng, code, 1, 1, first)

	// A second scan, by someone else, counts on top of the implied one
	// and writes the record.
	f.now = f.now.Add(time.Minute)
	if _, err := f.scan(code, "bob"); reward.ErrorCode(err) != reward.CodeAlreadyRedeemed {
		t.Fatalf("second scan: %v, want %s", err, reward.CodeAlreadyRedeemed)
	}
	wantCounts(t, f.eng, code, 2, 2, first)
	if st, found := scanRecord(t, f, code); !found || st.Scans != 2 || st.Scanners != 2 || !st.First.Equal(first) || !st.Last.Equal(f.now) {
		t.Errorf("scan record after a duplicate: %+v (found %v), want 2 scans by 2 scanners from %v to %v", st, found, first, f.now)
	}

	// Views of a code redeemed by its first scan count on top of it; the
	// member who redeemed it is no second scanner.
	viewed := f.signer.Code(2)
	if _, err := f.scan(viewed, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"alice", ""} {
		if err := f.eng.CountVisit(viewed, who); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, f.eng, viewed, 3, 1, f.now) // views waiting in memory
	if err := f.eng.FlushVisits(); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, f.eng, viewed, 3, 1, f.now)

	// The third person to scan it flags it, counting the redeemer.
	flagged := f.signer.Code(3)
	for i, who := range []string{"alice", "bob", "carol"} {
		if _, err := f.scan(flagged, who); (i == 0) != (err == nil) {
			t.Fatalf("scan by %s: %v", who, err)
		}
	}
	page, err := f.eng.Flags(reward.FlagQuery{Kind: reward.FlagManyScanners})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Flags) != 1 || page.Flags[0].Code != flagged || page.Flags[0].Scanners != 3 {
		t.Errorf("flags %+v, want one of %s by 3 scanners", page.Flags, flagged)
	}
	rewardtest.MustAudit(t, f.eng)
}

// TestRestartSeesCodesRedeemedByTheirFirstScan: the index of scanned codes
// a restarted engine rebuilds must count a code that has a redemption and
// no scan record, or the code would pay again.
func TestRestartSeesCodesRedeemedByTheirFirstScan(t *testing.T) {
	f := newFixture(t, 10, 5)
	codes := []string{f.signer.Code(1), f.signer.Code(2)}
	for _, c := range codes {
		if _, err := f.scan(c, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	eng := reward.New(f.db, f.eng.Keys(), reward.Options{Now: func() time.Time { return f.now }})
	if err := eng.LoadSeen(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		if _, err := eng.Scan(reward.ScanRequest{Code: c, Member: "bob"}); reward.ErrorCode(err) != reward.CodeAlreadyRedeemed {
			t.Errorf("after a restart, scanning redeemed %s again: %v, want %s", c, err, reward.CodeAlreadyRedeemed)
		}
		wantCounts(t, eng, c, 2, 2, rewardtest.Start)
	}
	if v, err := eng.Member("bob", "", 1); reward.ErrorCode(err) != reward.CodeNotFound {
		t.Errorf("bob, who scanned only redeemed codes: %+v, %v; want no account", v, err)
	}
}

// TestScanRecordsOfEarlierVersions: a store written before redemptions
// implied the first scan holds a scan record for every redeemed code. Such
// a record is what counts, and later scans add to it.
func TestScanRecordsOfEarlierVersions(t *testing.T) {
	f := newFixture(t, 10, 5)
	code := f.signer.Code(1)
	if _, err := f.scan(code, "alice"); err != nil {
		t.Fatal(err)
	}
	// The records as an earlier version wrote them: its scan record, here
	// of a code viewed by two people before alice redeemed it.
	earlier := rewardtest.Start.Add(-time.Hour)
	seen := func(who string) uint32 {
		h := fnv.New32a()
		h.Write([]byte(who))
		return h.Sum32()
	}
	old, err := json.Marshal(map[string]any{"scans": 4, "scanners": 2, "first": earlier, "last": rewardtest.Start,
		"seen": []uint32{seen("viewer"), seen("alice")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.Update(func(tx reward.Tx) error { tx.Put([]byte("sc/"+code), old); return nil }); err != nil {
		t.Fatal(err)
	}
	eng := reward.New(f.db, f.eng.Keys(), reward.Options{Now: func() time.Time { return f.now }})
	if err := eng.LoadSeen(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, eng, code, 4, 2, earlier)
	for _, who := range []string{"alice", "bob"} {
		if _, err := eng.Scan(reward.ScanRequest{Code: code, Member: who}); reward.ErrorCode(err) != reward.CodeAlreadyRedeemed {
			t.Fatalf("scan by %s: %v, want %s", who, err, reward.CodeAlreadyRedeemed)
		}
	}
	wantCounts(t, eng, code, 6, 3, earlier)
	rewardtest.MustAudit(t, eng)
}
