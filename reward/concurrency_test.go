package reward_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"encoding/json"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

// The tests in this file run the campaign rules under concurrent load:
// budgets, stock, balances and verifications hold whatever the interleaving.

// couponFixture is a campaign that gives every scan a 30-day gift and pays
// guides 5 a verification, with guides G1 and G2 (whose own consumer
// identity is "g2-self").
func couponFixture(t *testing.T, count uint32) *fixture {
	t.Helper()
	return giftFixture(t, count, 1000, map[string]any{"per_coupon": 5})
}

// giftFixture runs a campaign that gives every scan a 30-day gift from a
// stock of stock and pays guides the commission given, with guides G1 and
// G2 (whose own consumer identity is "g2-self").
func giftFixture(t *testing.T, codes uint32, stock int, commission map[string]any) *fixture {
	t.Helper()
	f := newFixture(t, codes, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": stock, "valid_days": 30},
		"guide_commission": commission,
	}))
	mustGuide(t, f, "G1", "")
	mustGuide(t, f, "G2", "g2-self")
	return f
}

func mustCoupon(t *testing.T, f *fixture, serial uint32, member string) string {
	t.Helper()
	res := mustRedeem(t, f, f.signer.Code(serial), member)
	if res.Coupon == nil {
		t.Fatalf("scan %d gave no coupon", serial)
	}
	return res.Coupon.ID
}

// TestConcurrentBurstNeverOverspends fires a promotion-day burst — many
// goroutines, contested codes, many members — at a campaign with a small
// coupon stock and points budget, and checks that nothing is overspent and
// that every answer is what the store recorded.
func TestConcurrentBurstNeverOverspends(t *testing.T) {
	const (
		workers = 64
		codes   = 400
		members = 50
		budget  = 300
		stock   = 7
	)
	f := newFixture(t, codes, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"points":           map[string]any{"min": 5, "max": 20},
		"points_budget":    budget,
		"new_member_bonus": 10,
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": stock, "valid_days": 30},
		"guide_commission": map[string]any{"per_scan": 1},
	}))
	mustGuide(t, f, "G1", "")
	type job struct{ code, member string }
	var jobs []job
	for s := uint32(1); s <= codes; s++ {
		c := f.signer.Code(s)
		for k := range 2 { // every code is contested by two members
			jobs = append(jobs, job{c, fmt.Sprintf("m%d", (int(s)*7+k*13)%members)})
		}
	}
	var (
		mu                                         sync.Mutex
		wins                                       = map[string]int{}
		paid, coupons, outOfStock, partial, refuse int64
	)
	rewardtest.Workers(workers, len(jobs), func(i int) {
		j := jobs[i]
		res, _, err := scanReq(f, reward.ScanRequest{Code: j.code, Member: j.member, Guide: "G1"})
		mu.Lock()
		switch code(err) {
		case "":
			wins[j.code]++
			paid += res.Points
			if res.Coupon != nil {
				coupons++
			}
			if slices.Contains(res.Notes, reward.NoteCouponStockExhausted) {
				outOfStock++
			}
			if slices.Contains(res.Notes, reward.NotePointsBudgetPartial) {
				partial++
			}
		case reward.CodeBudgetExhausted:
			refuse++
		case reward.CodeAlreadyRedeemed:
		default:
			t.Errorf("scan of %s by %s: %v", j.code, j.member, err)
		}
		mu.Unlock()
	})

	v := mustCampaign(t, f, "promo")
	ctr := v.Counters
	if ctr.PointsPaid != budget || paid != budget {
		t.Errorf("paid %d by the counters and %d by the answers, want exactly the budget %d", ctr.PointsPaid, paid, budget)
	}
	if ctr.CouponsIssued != stock || coupons != stock {
		t.Errorf("issued %d coupons by the counters and %d by the answers, want the stock %d", ctr.CouponsIssued, coupons, stock)
	}
	if int64(len(wins)) != ctr.RewardedScans || ctr.Commission != ctr.RewardedScans || outOfStock != ctr.RewardedScans-stock {
		t.Errorf("%d codes won, counters %+v, %d told the stock ran out", len(wins), ctr, outOfStock)
	}
	if partial > 1 || refuse == 0 {
		t.Errorf("%d partial payouts and %d budget refusals; want at most one and some", partial, refuse)
	}
	for s := uint32(1); s <= codes; s++ {
		c := f.signer.Code(s)
		if wins[c] > 1 {
			t.Errorf("code %s redeemed %d times", c, wins[c])
		}
		if isRedeemed(t, f, c) != (wins[c] == 1) {
			t.Errorf("code %s: redeemed %v, but %d answers said so", c, !(wins[c] == 1), wins[c])
		}
	}
	mustAudit(t, f)
}

func TestConcurrentSpendsNeverGoNegative(t *testing.T) {
	f := newFixture(t, 10, 100)
	mustRedeem(t, f, f.signer.Code(1), "m")
	answers := make([]json.RawMessage, 50)
	ok, short := race(t, 50, reward.CodeInsufficientPoints, func(i int) error {
		raw, err := f.eng.Spend("m", reward.SpendRequest{Points: 7, Reason: "sticker", RequestID: fmt.Sprintf("spend-%d", i)})
		if err == nil {
			answers[i] = raw
		}
		return err
	})
	if ok != 100/7 || short != 50-100/7 {
		t.Fatalf("%d spends succeeded and %d were short, want %d and %d", ok, short, 100/7, 50-100/7)
	}
	if v := mustMember(t, f, "m"); v.Points != 100%7 {
		t.Fatalf("balance %d, want %d", v.Points, 100%7)
	}
	// Retries replay the winners' answers and take nothing more.
	for i, want := range answers {
		raw, err := f.eng.Spend("m", reward.SpendRequest{Points: 7, Reason: "sticker", RequestID: fmt.Sprintf("spend-%d", i)})
		if want != nil && (err != nil || string(raw) != string(want)) {
			t.Fatalf("retry of spend-%d: %s %v, want %s", i, raw, err, want)
		}
		if want == nil && code(err) != reward.CodeInsufficientPoints {
			t.Fatalf("retry of a refused spend-%d: %s %v", i, raw, err)
		}
	}
	mustAudit(t, f)

	// Voids and spends racing for one balance never take it below zero.
	g := newFixture(t, 10, 20)
	for s := uint32(1); s <= 5; s++ {
		mustRedeem(t, g, g.signer.Code(s), "m")
	}
	var voided, spent atomic.Int64
	codes := rewardtest.Codes(g.signer, 5) // a Signer is not for concurrent use
	var wg sync.WaitGroup
	for i := range 15 {
		wg.Go(func() {
			if i < 5 {
				if _, err := g.eng.VoidRedemption(codes[i], "fraud"); err == nil {
					voided.Add(20)
				} else if code(err) != reward.CodeInsufficientPoints {
					t.Errorf("void: %v", err)
				}
				return
			}
			if _, err := g.eng.Spend("m", reward.SpendRequest{Points: 10, Reason: "x", RequestID: fmt.Sprintf("s%d", i)}); err == nil {
				spent.Add(10)
			} else if code(err) != reward.CodeInsufficientPoints {
				t.Errorf("spend: %v", err)
			}
		})
	}
	wg.Wait()
	if v := mustMember(t, g, "m"); v.Points != 100-voided.Load()-spent.Load() || v.Points < 0 {
		t.Fatalf("balance %d after %d voided and %d spent of 100", v.Points, voided.Load(), spent.Load())
	}
	mustAudit(t, g)
}

func TestConcurrentVerificationsOneWinner(t *testing.T) {
	f := couponFixture(t, 10)
	guides := []string{"G1", "G2"}
	for i := 3; i <= 5; i++ {
		g := fmt.Sprintf("G%d", i)
		mustGuide(t, f, g, "")
		guides = append(guides, g)
	}
	for round := uint32(1); round <= 3; round++ {
		id := mustCoupon(t, f, round, fmt.Sprintf("m%d", round))
		var winner atomic.Value
		wins, used := race(t, 50, reward.CodeAlreadyUsed, func(i int) error {
			g := guides[i%len(guides)]
			_, err := f.eng.VerifyCoupon(id, g)
			if err == nil {
				winner.Store(g)
			}
			return err
		})
		if wins != 1 || used != 49 {
			t.Fatalf("coupon %s: %d verifications won, %d already_used; want 1 and 49", id, wins, used)
		}
		if cp, _ := f.eng.CouponByID(id); cp.UsedBy != winner.Load() {
			t.Fatalf("coupon used by %q, the winner was %q", cp.UsedBy, winner.Load())
		}
		mustAudit(t, f)
	}
	var total int64
	for _, g := range guides {
		gv, _ := f.eng.GuideByID(g, 10)
		total += gv.Commission
	}
	if v := mustCampaign(t, f, "promo"); total != 15 || v.Counters.CouponsUsed != 3 || v.Counters.Commission != 15 {
		t.Fatalf("guides earned %d, counters %+v; want 3 verifications of 5", total, v.Counters)
	}
}
