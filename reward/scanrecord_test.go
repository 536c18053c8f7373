package reward_test

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

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
