package reward_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

// TestConcurrentExpiryAndScans runs several expiries at once beside scans
// and spends of the same members, once their first month's points are
// due: every member's due points expire exactly once (one expiry entry,
// for what the lot still held), no balance goes below zero, the reports
// add up to the ledger, and the audit replays every lot. It runs on both
// backends (YIMA_TEST_STORE).
func TestConcurrentExpiryAndScans(t *testing.T) {
	const (
		members  = 8
		early    = 20 // scans per member in May
		late     = 30 // scans per member during the expiries
		points   = 10
		expirers = 4
		spenders = 4
	)
	f := newFixture(t, members*(early+late), points)
	rule := reward.ExpiryRule{Unit: reward.ExpiryMonth, After: 0} // at the end of the month earned
	if _, err := f.eng.SetBrand(reward.BrandChange{PointsExpiry: &rule}); err != nil {
		t.Fatal(err)
	}
	serial := uint32(0)
	next := func() string { serial++; return f.signer.Code(serial) }
	for m := range members {
		for range early {
			mustRedeem(t, f, next(), fmt.Sprintf("m%d", m))
		}
	}
	f.now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) // May's lots are due
	var lateCodes []string
	for range members * late {
		lateCodes = append(lateCodes, next())
	}

	var wg sync.WaitGroup
	var reported, spent atomic.Int64
	for range expirers {
		wg.Go(func() {
			for range 3 {
				rep, err := f.eng.ExpirePoints(false)
				if err != nil {
					t.Error(err)
					return
				}
				reported.Add(rep.Points)
			}
		})
	}
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(lateCodes); i += 4 {
				if _, err := f.scan(lateCodes[i], fmt.Sprintf("m%d", i%members)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for w := range spenders {
		wg.Go(func() {
			for i := range 40 {
				m := fmt.Sprintf("m%d", (w+i)%members)
				_, err := f.eng.Spend(m, reward.SpendRequest{Points: 7, Reason: "tea", RequestID: fmt.Sprintf("s%d-%d", w, i)})
				switch reward.ErrorCode(err) {
				case "":
					spent.Add(7)
				case reward.CodeInsufficientPoints:
				default:
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	// Nothing is left to expire, and a run now expires nothing.
	rep, err := f.eng.ExpirePoints(false)
	if err != nil || rep.Members != 0 {
		t.Fatalf("a run after the expiries: %+v %v", rep, err)
	}
	var expired, balances int64
	for m := range members {
		id := fmt.Sprintf("m%d", m)
		var n int
		for _, en := range rewardtest.Ledger(t, f.db, "l/", id) {
			if en.Reason == reward.ReasonExpiry {
				n++
				expired -= en.Delta
				if en.Through != "202605" {
					t.Errorf("%s: expiry through %s", id, en.Through)
				}
			}
			if en.Balance < 0 {
				t.Errorf("%s: balance %d after entry %d", id, en.Balance, en.Seq)
			}
		}
		if n != 1 {
			t.Errorf("%s has %d expiry entries, want 1", id, n)
		}
		v, err := f.eng.Member(id, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range v.Lots {
			if l.Month == "202605" {
				t.Errorf("%s still holds %d points of May", id, l.Amount)
			}
		}
		balances += v.Points
	}
	if expired != reported.Load() {
		t.Errorf("the reports expired %d points, the ledgers %d", reported.Load(), expired)
	}
	if earned := int64(members * (early + late) * points); balances != earned-spent.Load()-expired {
		t.Errorf("balances %d, earned %d - spent %d - expired %d", balances, earned, spent.Load(), expired)
	}
	if expired == 0 || spent.Load() == 0 {
		t.Errorf("the test exercised nothing: expired %d, spent %d", expired, spent.Load())
	}
	mustAudit(t, f)
}

// TestConcurrentPrizeStock scans a campaign whose every scan wins a prize
// of stock 3 from many goroutines: exactly three prize coupons, the stock
// never below zero, and the audit counts them.
func TestConcurrentPrizeStock(t *testing.T) {
	const codes, stock = 120, 3
	f := newFixture(t, codes, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"prizes": []map[string]any{{"name": "一等奖", "title": "Hamper", "probability": 1, "stock": stock, "valid_days": 30}},
	}))
	all := allCodes(f, codes)
	var won atomic.Int64
	rewardtest.Workers(8, codes, func(j int) {
		s := j + 1
		res, err := f.scan(all[s], fmt.Sprintf("m%d", s%17))
		if err != nil {
			t.Error(err)
			return
		}
		if res.Coupon != nil {
			won.Add(1)
		}
	})
	v, err := f.eng.Campaign("promo")
	if err != nil {
		t.Fatal(err)
	}
	if won.Load() != stock || v.PrizesIssued["一等奖"] != stock || v.Counters.CouponsIssued != stock {
		t.Fatalf("%d won, %d issued by the prize's count, %d coupons; want %d", won.Load(), v.PrizesIssued["一等奖"], v.Counters.CouponsIssued, stock)
	}
	mustAudit(t, f)
}
