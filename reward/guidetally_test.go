package reward_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// TestGuideCommissionWritesNoSharedRecord: on nodes of a shared store, a
// scan that pays a bound member's guide a commission, and a verification
// of a coupon at a guide's counter, write neither the guide's record, nor
// its ledger's next seq, nor the campaign's counters: every node's scans
// of a guide's members rewrote those, and the nodes' groups took turns on
// them (docs/cluster.md, "Hot rows"). Each leaves a pending item of the
// guide instead; the guide's page numbers them, and shows what a single
// engine shows. The audit is clean with the items pending and once they
// are numbered. A single engine (no node id) writes the guide at once, as
// always, and no pending item.
func TestGuideCommissionWritesNoSharedRecord(t *testing.T) {
	db, nodes, ks, clock := recordedNodes(t)
	doc := rewardtest.CampaignDoc(t, map[string]any{
		"points_budget":    100000,
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 1000, "valid_days": 30},
		"guide_commission": map[string]any{"per_scan": 2, "per_coupon": 10},
	})
	rewardtest.MustApply(t, nodes[0], doc)
	rewardtest.MustGuide(t, nodes[0], "g1", "")
	codes := mintCodes(t, nodes[0], "SKU-1", 6)
	for i, n := range nodes {
		if _, err := n.Bind(fmt.Sprintf("m%d", i), "g1", false); err != nil {
			t.Fatal(err)
		}
		rewardtest.MustRedeem(t, n, codes[i], "warm") // the node's slice
	}
	db.take()
	shared := func(k string) bool {
		return k == "g/g1" || strings.HasPrefix(k, "gl/") || k == "cc/promo"
	}
	for i, n := range nodes {
		res := rewardtest.MustRedeem(t, n, codes[2+i], fmt.Sprintf("m%d", i))
		if res.Commission != 2 || res.Guide != "g1" || res.Coupon == nil {
			t.Fatalf("scan by a bound member on node %d: %+v, want a commission of 2 to g1 and a coupon", i+1, res)
		}
		written := db.take()
		if k := slices.IndexFunc(written, shared); k >= 0 {
			t.Errorf("a scan paying a commission on node %d wrote the shared %q (all: %q)", i+1, written[k], written)
		}
		if !slices.ContainsFunc(written, func(k string) bool { return strings.HasPrefix(k, "gp/g1\x00") }) {
			t.Errorf("a scan paying a commission on node %d left no pending item of g1 (all: %q)", i+1, written)
		}
		// Verified on the other node, at the guide's counter.
		other := nodes[1-i]
		if _, err := other.VerifyCoupon(res.Coupon.ID, "g1"); err != nil {
			t.Fatal(err)
		}
		written = db.take()
		if k := slices.IndexFunc(written, shared); k >= 0 {
			t.Errorf("a verification on node %d wrote the shared %q (all: %q)", 2-i, written[k], written)
		}
	}
	rewardtest.MustAudit(t, nodes[0])
	if v := rewardtest.MustCampaign(t, nodes[1], "promo"); v.Counters.CouponsUsed != 2 || v.Counters.Commission != 2*2+2*10 {
		t.Errorf("the campaign counts %d coupons used and %d commission, want 2 and 24", v.Counters.CouponsUsed, v.Counters.Commission)
	}
	v, err := nodes[1].GuideByID("g1", 50)
	if err != nil {
		t.Fatal(err)
	}
	if keys := storedKeys(t, db, "gp/"); len(keys) > 0 {
		t.Errorf("the guide's page left pending items %q", keys)
	}
	rewardtest.MustAudit(t, nodes[0])
	rewardtest.MustReplay(t, nodes[0])

	// One engine alone: the same requests, written at once.
	alone := memoryStore(t, false)
	single := reward.New(alone, ks, reward.Options{Now: clock})
	rewardtest.MustApply(t, single, doc)
	rewardtest.MustGuide(t, single, "g1", "")
	one := mintCodes(t, single, "SKU-1", 2)
	for i := range 2 {
		if _, err := single.Bind(fmt.Sprintf("m%d", i), "g1", false); err != nil {
			t.Fatal(err)
		}
		res := rewardtest.MustRedeem(t, single, one[i], fmt.Sprintf("m%d", i))
		if _, err := single.VerifyCoupon(res.Coupon.ID, "g1"); err != nil {
			t.Fatal(err)
		}
	}
	if keys := storedKeys(t, alone, "gp/"); len(keys) > 0 {
		t.Errorf("a single engine wrote pending items %q", keys)
	}
	w, err := single.GuideByID("g1", 50)
	if err != nil {
		t.Fatal(err)
	}
	if v.Commission != w.Commission || v.Verified != w.Verified || v.Members != w.Members || v.Seq != w.Seq || len(v.Ledger) != len(w.Ledger) {
		t.Errorf("on two nodes g1 has commission %d, %d verified, %d members, seq %d, %d entries; alone %d, %d, %d, %d, %d",
			v.Commission, v.Verified, v.Members, v.Seq, len(v.Ledger), w.Commission, w.Verified, w.Members, w.Seq, len(w.Ledger))
	}
	if w.Commission != 24 || w.Verified != 2 || w.Members != 2 || w.Seq != 4 {
		t.Errorf("g1 alone: commission %d, %d verified, %d members, seq %d; want 24, 2, 2, 4", w.Commission, w.Verified, w.Members, w.Seq)
	}
	for i, en := range v.Ledger {
		if en.Seq != uint64(len(v.Ledger)-i) || en.Balance == 0 {
			t.Errorf("entry %d of g1's page on two nodes: seq %d, balance %d; want numbered", i, en.Seq, en.Balance)
		}
	}
}

// TestGuidePendingWithoutGuide: pending items of a guide with no record
// (a damaged store) are left, and the audit names them; reading the
// guide answers not_found rather than folding the same items forever.
func TestGuidePendingWithoutGuide(t *testing.T) {
	db, nodes, _, _ := recordedNodes(t)
	err := db.Update(func(tx store.Tx) error {
		for i := range 300 {
			k := binary.BigEndian.AppendUint64([]byte("gp/ghost\x00"), uint64(i))
			tx.Put(append(k, fmt.Sprintf("id%d", i)...), []byte(`{"verified":1}`))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := nodes[0].GuideByID("ghost", 10); done <- err }()
	select {
	case err := <-done:
		if reward.ErrorCode(err) != reward.CodeNotFound {
			t.Errorf("the page of a guide with no record but pending items: %v, want not_found", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the page of a guide with no record but pending items did not answer")
	}
	if keys := storedKeys(t, db, "gp/"); len(keys) != 300 {
		t.Errorf("%d pending items left, want the 300", len(keys))
	}
	rep, err := nodes[0].Audit()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Violations, func(v string) bool { return strings.Contains(v, "guide ghost has pending items but no record") }) {
		t.Errorf("the audit did not name the pending items of a guide with no record: %q", rep.Violations)
	}
}
