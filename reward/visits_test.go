package reward_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// countingDB counts the decisions (durable, synced writes) run on a store.
type countingDB struct {
	store.DB
	updates atomic.Int64
}

func (c *countingDB) Update(fn func(store.Tx) error) error {
	c.updates.Add(1)
	return c.DB.Update(fn)
}

// TestPageViewsAreWrittenTogether: every landing-page view of a genuine
// code was a decision of its own, a synced write: 18,818 in 5 s from one
// code. Views now collect in memory and are written in one decision at
// most a second after the first; the code's status shows them meanwhile.
func TestPageViewsAreWrittenTogether(t *testing.T) {
	db := &countingDB{DB: openStore(t, 0)}
	f := rewardtest.Open(t, db, rewardtest.Options{Count: 2})
	eng, signer := f.Eng, f.Signer
	code := signer.Code(1)
	start := db.updates.Load()
	const views = 1000
	for i := range views {
		scanner := ""
		if i%2 == 0 {
			scanner = "web:browser-1"
		}
		if err := eng.CountVisit(code, scanner); err != nil {
			t.Fatal(err)
		}
	}
	if n := db.updates.Load() - start; n != 0 {
		t.Fatalf("%d views within a second made %d writes, want none yet", views, n)
	}
	if st, err := eng.Status(code); err != nil || st.Scans != views || st.Scanners != 1 {
		t.Fatalf("status before the write: %+v, %v; want %d scans by 1 scanner", st, err, views)
	}
	f.Now = f.Now.Add(time.Second)
	if err := eng.CountVisit(code, ""); err != nil {
		t.Fatal(err)
	}
	if n := db.updates.Load() - start; n != 1 {
		t.Fatalf("a second later: %d writes, want 1 for all the views", n)
	}
	if st, err := eng.Status(code); err != nil || st.Scans != views+1 || st.Scanners != 1 {
		t.Fatalf("status after the write: %+v, %v", st, err)
	}
	// Views still in memory are written when the engine flushes, as a
	// server does before it closes.
	if err := eng.CountVisit(signer.Code(2), "web:browser-2"); err != nil {
		t.Fatal(err)
	}
	if err := eng.FlushStats(); err != nil {
		t.Fatal(err)
	}
	eng2 := reward.New(db, eng.Keys(), reward.Options{Now: func() time.Time { return f.Now }})
	if st, err := eng2.Status(signer.Code(2)); err != nil || st.Scans != 1 || st.Scanners != 1 {
		t.Fatalf("a flushed view, read by a fresh engine: %+v, %v", st, err)
	}
}

// TestViewsRaiseNoFlagOnTheirOwn: three views could flag a code
// many_scanners and show its buyer a warning on a genuine product. Views
// count scanners but raise no flag; the next claim or API scan of a code
// that views brought to three people does.
func TestViewsRaiseNoFlagOnTheirOwn(t *testing.T) {
	f := newFixture(t, 5, 10)
	code := f.signer.Code(1)
	for _, b := range []string{"web:a", "web:b", "web:c", "web:d"} {
		if err := f.eng.CountVisit(code, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.eng.FlushStats(); err != nil {
		t.Fatal(err)
	}
	if page, err := f.eng.Flags(reward.FlagQuery{}); err != nil || len(page.Flags) != 0 {
		t.Fatalf("flags after views alone: %+v %v", page, err)
	}
	if st, err := f.eng.Status(code); err != nil || st.Scanners != 4 {
		t.Fatalf("status: %+v %v; want 4 scanners", st, err)
	}
	mustRedeem(t, f, code, "web:a")
	page, err := f.eng.Flags(reward.FlagQuery{})
	if err != nil || len(page.Flags) != 1 || page.Flags[0].Kind != reward.FlagManyScanners || page.Flags[0].Code != code {
		t.Fatalf("flags after a claim of a code four people viewed: %+v %v", page, err)
	}
	wantRefused(t, f, code, "web:e", reward.CodeAlreadyRedeemed)
	if page, err := f.eng.Flags(reward.FlagQuery{}); err != nil || len(page.Flags) != 1 {
		t.Fatalf("a code is flagged once: %+v %v", page, err)
	}
}
