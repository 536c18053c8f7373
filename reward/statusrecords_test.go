package reward_test

import (
	"encoding/binary"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// statusOf is the status of serial of f's batch as eng tells it.
func statusOf(t *testing.T, eng *reward.Engine, f *fixture, serial uint32) *reward.CodeStatus {
	t.Helper()
	st, err := eng.Status(f.signer.Code(serial))
	if err != nil || !st.Valid {
		t.Fatalf("status of serial %d: %+v %v", serial, st, err)
	}
	return st
}

// TestStatusSeesBatchChanges: Status keeps the batches it decoded, yet on
// a database several nodes share (each engine with NoSeenIndex, or with a
// NodeID) a batch changed by another node shows on the next status, as one
// changed by this node does.
func TestStatusSeesBatchChanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(node string) reward.Options
	}{
		{"NoSeenIndex", func(string) reward.Options { return reward.Options{NoSeenIndex: true} }},
		{"NodeID", func(node string) reward.Options { return reward.Options{NodeID: node} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := openFixture(t, 10, 5, fixtureOptions{sharedKeys: true})
			node := func(name string) *reward.Engine {
				o := tc.opts(name)
				o.Now = func() time.Time { return f.now }
				return reward.New(f.db, rewardtest.Keys(t, true), o)
			}
			this, other := node("node1"), node("node2")
			if s := statusOf(t, this, f, 3).State; s != string(reward.Active) {
				t.Fatalf("serial 3 before: %s", s)
			}
			if _, err := other.SetRange(f.batch.ID, reward.Range{From: 3, To: 3, State: reward.Revoked}); err != nil {
				t.Fatal(err)
			}
			if s := statusOf(t, this, f, 3).State; s != string(reward.Revoked) {
				t.Errorf("serial 3 after another node revoked it: %s", s)
			}
			if _, err := this.SetRange(f.batch.ID, reward.Range{From: 4, To: 4, State: reward.Revoked}); err != nil {
				t.Fatal(err)
			}
			if s := statusOf(t, this, f, 4).State; s != string(reward.Revoked) {
				t.Errorf("serial 4 after this node revoked it: %s", s)
			}
			if s := statusOf(t, this, f, 5).State; s != string(reward.Active) {
				t.Errorf("serial 5, never changed: %s", s)
			}
			// The product's campaigns, too: another node's new campaign
			// shows at once.
			if p := statusOf(t, this, f, 5).Promotion; p != "" {
				t.Fatalf("promotion before any campaign: %q", p)
			}
			rewardtest.MustApply(t, other, campaignDoc(t, nil))
			if p := statusOf(t, this, f, 5).Promotion; p != "live" {
				t.Errorf("promotion after another node started a campaign: %q, want live", p)
			}
		})
	}
}

// TestStatusSeesOwnChanges: the store's single writer keeps a code's
// batch, its product's campaign list and its campaigns in memory between
// statuses, and every decision that writes one of them makes the next
// status read it again: revoking serials, a new campaign
// for the product, a campaign moved to a later start.
func TestStatusSeesOwnChanges(t *testing.T) {
	f := newFixture(t, 10, 5)
	st := statusOf(t, f.eng, f, 3)
	if st.State != string(reward.Active) || st.Promotion != "" {
		t.Fatalf("before: state %s promotion %q", st.State, st.Promotion)
	}
	if _, err := f.eng.SetRange(f.batch.ID, reward.Range{From: 3, To: 3, State: reward.Revoked}); err != nil {
		t.Fatal(err)
	}
	if s := statusOf(t, f.eng, f, 3).State; s != string(reward.Revoked) {
		t.Errorf("after revoking serial 3: %s", s)
	}
	statusOf(t, f.eng, f, 4)
	if _, err := f.eng.SetRange(f.batch.ID, reward.Range{From: 4, To: 4, State: reward.Revoked}); err != nil {
		t.Fatal(err)
	}
	if s := statusOf(t, f.eng, f, 4).State; s != string(reward.Revoked) {
		t.Errorf("after revoking serial 4: %s", s)
	}
	mustApply(t, f, campaignDoc(t, map[string]any{"starts_at": "2029-01-01T00:00:00Z"}))
	if p := statusOf(t, f.eng, f, 3).Promotion; p != "scheduled" {
		t.Errorf("after a campaign for the product: %q, want scheduled", p)
	}
	mustApply(t, f, campaignDoc(t, nil))
	if p := statusOf(t, f.eng, f, 3).Promotion; p != "live" {
		t.Errorf("after the campaign started earlier: %q, want live", p)
	}
}

// TestStatusKeepsRecords: the single writer does answer from memory. A
// batch record written behind the engine's back (no decision of its own)
// is not seen, so TestStatusSeesOwnChanges tests the kept records, not
// fresh reads.
func TestStatusKeepsRecords(t *testing.T) {
	f := newFixture(t, 10, 5)
	statusOf(t, f.eng, f, 3)
	b := *f.batch
	b.Product = "SKU-ELSEWHERE"
	raw, err := json.Marshal(&b)
	if err != nil {
		t.Fatal(err)
	}
	key := binary.BigEndian.AppendUint32([]byte("b/"), b.ID)
	putBytes(t, f.db, key, raw)
	if p := statusOf(t, f.eng, f, 3).Product; p != f.batch.Product {
		t.Errorf("product %q: the batch was read again, not kept", p)
	}
}

// TestStatusDuringChanges: statuses asked while the batch changes never
// keep a record older than a change already acknowledged. Readers spin on
// Status over the batch's codes while its serials are revoked one by one;
// after each revocation returns, the next status must show it.
func TestStatusDuringChanges(t *testing.T) {
	const n = 60
	f := newFixture(t, n, 5)
	var codes []string // a signer is not for several goroutines at once
	for serial := uint32(1); serial <= n; serial++ {
		codes = append(codes, f.signer.Code(serial))
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for r := range 3 {
		wg.Go(func() {
			for i := r; !stop.Load(); i++ {
				if _, err := f.eng.Status(codes[i%n]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()
	for serial := uint32(1); serial <= n; serial++ {
		if _, err := f.eng.SetRange(f.batch.ID, reward.Range{From: serial, To: serial, State: reward.Revoked}); err != nil {
			t.Fatal(err)
		}
		if st, err := f.eng.Status(codes[serial-1]); err != nil || st.State != string(reward.Revoked) {
			t.Fatalf("serial %d: status %+v, %v after it was revoked", serial, st, err)
		}
	}
}

// Page views of a code, which its status shows (visits.go).

// countingDB counts the decisions (durable, synced writes) run on a store.
type countingDB struct {
	store.DB
	updates atomic.Int64
}

func (c *countingDB) Serial() bool { return store.IsSerial(c.DB) }

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
