package reward_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/store"
)

// TestCouponExpiredEvents: a coupon whose expiry passes unused gets one
// coupon.expired event from the sweep, however often it runs; a coupon
// used or voided first gets none; the replay accepts the events; and
// coupons issued before the expiry index existed are indexed once.
func TestCouponExpiredEvents(t *testing.T) {
	f := newFixture(t, 10, 5)
	mustApply(t, f, campaignDoc(t, map[string]any{"coupon": map[string]any{"title": "Gift", "probability": 1, "stock": 100, "valid_days": 3}}))
	mustGuide(t, f, "G1", "")
	for s := uint32(1); s <= 5; s++ {
		mustRedeem(t, f, f.signer.Code(s), fmt.Sprintf("m%d", s))
	}
	coupons := couponsOf(t, f)
	if len(coupons) != 5 {
		t.Fatalf("%d coupons, want 5", len(coupons))
	}
	if _, err := f.eng.VerifyCoupon(coupons[0], "G1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.VoidCoupon(coupons[1], "returned"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if n, err := f.eng.ExpireCoupons(ctx); err != nil || n != 0 {
		t.Fatalf("before the expiry: %d recorded, %v", n, err)
	}
	// Issued after the index was complete: its own decision indexes it.
	mustRedeem(t, f, f.signer.Code(6), "m6")
	f.now = f.now.Add(3*24*time.Hour + time.Second)
	if n, err := f.eng.ExpireCoupons(ctx); err != nil || n != 4 {
		t.Fatalf("after the expiry: %d recorded (%v), want the 4 unused", n, err)
	}
	if n, err := f.eng.ExpireCoupons(ctx); err != nil || n != 0 {
		t.Fatalf("a second sweep: %d recorded, %v", n, err)
	}
	expired := map[string]bool{}
	for _, ev := range readAll(t, f.eng, 100, reward.FeedCouponExpired) {
		var c reward.Coupon
		if err := json.Unmarshal(ev.Data, &c); err != nil {
			t.Fatal(err)
		}
		if expired[c.ID] || c.Status != reward.CouponIssued || ev.At.Before(c.Expires) {
			t.Fatalf("event %d: coupon %+v at %s", ev.Seq, c, ev.At)
		}
		expired[c.ID] = true
	}
	if len(expired) != 4 || expired[coupons[0]] || expired[coupons[1]] {
		t.Fatalf("expired %v; want the four neither used nor voided", expired)
	}
	mustReplay(t, f.eng)

	// Data from before the index: an older version wrote coupons with no
	// index key and no mark; the first sweep indexes them, once.
	f = newFixture(t, 10, 5)
	mustApply(t, f, campaignDoc(t, map[string]any{"coupon": map[string]any{"title": "Gift", "probability": 1, "stock": 100, "valid_days": 3}}))
	for s := uint32(1); s <= 2; s++ {
		mustRedeem(t, f, f.signer.Code(s), fmt.Sprintf("m%d", s))
	}
	err := f.db.Update(func(tx store.Tx) error {
		for _, k := range storedKeys(t, f.db, "cx/") {
			tx.Delete([]byte(k))
		}
		tx.Delete([]byte("meta/coupon-expiry-indexed"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(4 * 24 * time.Hour)
	if n, err := f.eng.ExpireCoupons(ctx); err != nil || n != 2 {
		t.Fatalf("after indexing older coupons: %d recorded (%v), want 2", n, err)
	}
	if n, err := f.eng.ExpireCoupons(ctx); err != nil || n != 0 {
		t.Fatalf("a second sweep: %d, %v", n, err)
	}
	mustReplay(t, f.eng)
}
