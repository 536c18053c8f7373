package reward_test

import (
	"encoding/binary"
	"testing"

	"github.com/segmentio/ksuid"
	"github.com/yima-dev/yima/reward"
)

// TestAuditFindsCampaignViolations shows that the audit can fail for the
// campaign rules: each case writes what an overspending or double-paying
// bug would leave behind, bypassing the engine, and Audit must name it.
// (TestAuditFindsBrokenRecords covers redemptions and member ledgers.)
func TestAuditFindsCampaignViolations(t *testing.T) {
	type state struct {
		f        *fixture
		ctr      reward.CampaignCounters
		coupon   reward.Coupon // used, verified by G1
		g1       reward.Guide
		unscored string // a redeemed code that issued no coupon
	}
	// commission appends en to G1's ledger as a commission, past the
	// engine, with G1's balance raised to match.
	commission := func(s state, en reward.Entry) map[string]any {
		s.g1.Seq++
		s.g1.Commission += en.Delta
		en.ID, en.Seq, en.Guide, en.Account, en.Balance = ksuid.New().String(), s.g1.Seq, "G1", reward.AccountCommission, s.g1.Commission
		key := string(binary.BigEndian.AppendUint64([]byte("gl/G1\x00"), s.g1.Seq))
		return map[string]any{key: en, "g/G1": s.g1}
	}
	for _, c := range []struct {
		name  string
		forge func(s state) map[string]any
		want  string
	}{ // in a fixed order, so a failure repeats as it was seen
		{"points over the budget",
			func(s state) map[string]any {
				s.ctr.PointsPaid = 101
				return map[string]any{"cc/promo": s.ctr}
			},
			"over a budget of 100",
		},
		{"coupons over the stock",
			func(s state) map[string]any {
				s.ctr.CouponsIssued = 4
				return map[string]any{"cc/promo": s.ctr}
			},
			"coupons from a stock of 3",
		},
		{"counters off their records",
			func(s state) map[string]any {
				s.ctr.Commission++
				return map[string]any{"cc/promo": s.ctr}
			},
			"its records add up to",
		},
		{"counter below zero",
			func(s state) map[string]any {
				s.ctr = reward.CampaignCounters{PointsPaid: -5}
				return map[string]any{"cc/promo": s.ctr}
			},
			"counter below zero",
		},
		{"coupon commission paid twice",
			func(s state) map[string]any {
				return commission(s, reward.Entry{Delta: 5, Reason: "coupon_commission", Coupon: s.coupon.ID, Code: s.coupon.Code})
			},
			"commission entries for its verification, want 1",
		},
		{"scan commission without its redemption",
			func(s state) map[string]any {
				return commission(s, reward.Entry{Delta: 2, Reason: "scan_commission", Code: s.unscored})
			},
			"belongs to no redemption",
		},
		{"guide balance off its ledger",
			func(s state) map[string]any {
				s.g1.Commission++
				return map[string]any{"g/G1": s.g1}
			},
			"its ledger sums to",
		},
		{"coupon no redemption issued",
			func(s state) map[string]any {
				forged := s.coupon
				forged.ID, forged.Code, forged.Status, forged.UsedBy, forged.Commission = ksuid.New().String(), s.unscored, reward.CouponIssued, "", 0
				return map[string]any{"cpn/" + forged.ID: forged}
			},
			"was not issued by the redemption",
		},
		{"used coupon without a verifier",
			func(s state) map[string]any {
				s.coupon.UsedBy = ""
				return map[string]any{"cpn/" + s.coupon.ID: s.coupon}
			},
			"no guide verified it",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, 10, 0)
			mustApply(t, f, campaignDoc(t, map[string]any{
				"points": 20, "points_budget": 100,
				"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 3, "valid_days": 30},
				"guide_commission": map[string]any{"per_scan": 2, "per_coupon": 5},
			}))
			mustGuide(t, f, "G1", "")
			var coupon string
			for s := uint32(1); s <= 4; s++ {
				res, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(s), Member: "m", Guide: "G1"})
				if err != nil {
					t.Fatal(err)
				}
				if s == 1 {
					coupon = res.Coupon.ID
				}
			}
			if _, err := f.eng.VerifyCoupon(coupon, "G1"); err != nil {
				t.Fatal(err)
			}
			mustAudit(t, f)
			cp, _ := f.eng.CouponByID(coupon)
			gv, _ := f.eng.GuideByID("G1", 1)
			s := state{f: f, ctr: mustCampaign(t, f, "promo").Counters, coupon: *cp, g1: gv.Guide, unscored: f.signer.Code(4)}
			forged := c.forge(s)
			putRecords(t, f.db, forged)
			mustAuditSay(t, f.eng, c.want)
		})
	}
}
