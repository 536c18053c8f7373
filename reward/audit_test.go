package reward_test

import (
	"encoding/binary"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/segmentio/ksuid"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
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

// TestAuditFindsBrokenJoins forges, past the engine, each kind of damage
// the audit finds by joining records kept in different orders
// (auditjoin.go): a redemption and its ledger entries and coupon, a
// member and the redemptions that count to it, a verified coupon and its
// commission, an entry id written twice, an entry filed under one
// member's ledger that names another. Each must be named by the audit,
// and nothing else the store holds may be: the joins compare sums, and
// the message must come from reading the damaged records again.
func TestAuditFindsBrokenJoins(t *testing.T) {
	type state struct {
		f            *fixture
		red, other   reward.Redemption // m's first and second redemptions
		m, b         reward.Member
		ledger       []reward.Entry // m's
		unverified   reward.Coupon  // issued by other, not used
		unredeemed   string         // a code never scanned
		entryKey     func(member string, seq uint64) string
		redemptionOf func(code string) string
	}
	cases := []struct {
		name  string
		forge func(s state) map[string]any
		want  string
	}{
		{"a redemption lists an entry that does not exist", func(s state) map[string]any {
			s.red.Ledger = append(s.red.Ledger, "nowhere")
			return map[string]any{s.redemptionOf(s.red.Code): s.red}
		}, "lists ledger entry nowhere, which does not exist"},
		{"a redemption lists another code's entry", func(s state) map[string]any {
			s.red.Ledger = append(slices.Clone(s.red.Ledger), s.other.Ledger[0])
			return map[string]any{s.redemptionOf(s.red.Code): s.red}
		}, "which is for code " + s0Other},
		{"a redemption names another member than its entries", func(s state) map[string]any {
			s.red.Member = "stranger"
			return map[string]any{s.redemptionOf(s.red.Code): s.red}
		}, "by stranger lists an entry of member m"},
		{"a redemption promises other points than its entries credit", func(s state) map[string]any {
			s.red.Points++
			return map[string]any{s.redemptionOf(s.red.Code): s.red}
		}, "its entries credit"},
		{"a payout entry of no redemption", func(s state) map[string]any {
			s.m.Seq++
			s.m.Points += 20
			last := s.ledger[len(s.ledger)-1]
			en := reward.Entry{ID: "forged-payout", Seq: s.m.Seq, Member: "m", Account: reward.AccountPoints, Delta: 20,
				Balance: s.m.Points, Reason: "scan", Code: s.unredeemed, At: last.At, Month: last.Month}
			return map[string]any{s.entryKey("m", s.m.Seq): en, "m/m": s.m}
		}, "(scan for " + s0Unredeemed + ") belongs to no redemption"},
		{"a redemption names a coupon that is not its own", func(s state) map[string]any {
			s.red.Coupon = s.unverified.ID
			return map[string]any{s.redemptionOf(s.red.Code): s.red}
		}, "names coupon"},
		{"a member counts other redemptions than its records", func(s state) map[string]any {
			s.m.Redemptions++
			return map[string]any{"m/m": s.m}
		}, "member m counts 3 redemptions, the records show 2"},
		{"a verified coupon's commission is missing", func(s state) map[string]any {
			s.unverified.Status, s.unverified.UsedBy, s.unverified.Commission = reward.CouponUsed, "G1", 5
			return map[string]any{"cpn/" + s.unverified.ID: s.unverified}
		}, "0 commission entries for its verification, want 1"},
		{"an entry id written twice", func(s state) map[string]any {
			s.m.Seq++
			last := s.ledger[len(s.ledger)-1]
			en := last
			en.Seq, en.Delta, en.Reason, en.Code, en.Campaign = s.m.Seq, 0, reward.ReasonAdjust+": copy", "", ""
			return map[string]any{s.entryKey("m", s.m.Seq): en, "m/m": s.m}
		}, "appears twice"},
		{"an entry filed in one member's ledger names another", func(s state) map[string]any {
			// Filed last in m's ledger, which m's record does not count,
			// it is b's: b's ledger holds one entry more than b counts.
			last := s.ledger[len(s.ledger)-1]
			en := last
			en.ID, en.Seq, en.Member, en.Delta, en.Balance, en.Reason, en.Code = "filed-astray", s.b.Seq+1, "b", 0, s.b.Points, reward.ReasonAdjust+": astray", ""
			return map[string]any{s.entryKey("m", s.m.Seq+1): en}
		}, "member b has " + s0BSeqPlus1 + " ledger entries but its record counts " + s0BSeq},
		{"a member merged into one that has no account", func(s state) map[string]any {
			b := reward.Member{ID: "gone", MergedInto: "nobody"}
			return map[string]any{"m/gone": b}
		}, "member gone was merged into nobody, which has no account"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, 10, 0)
			mustApply(t, f, campaignDoc(t, map[string]any{
				"points":           20,
				"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 10, "valid_days": 30},
				"guide_commission": map[string]any{"per_scan": 2, "per_coupon": 5},
			}))
			mustGuide(t, f, "G1", "")
			for s, member := range map[uint32]string{1: "m", 2: "m", 3: "b"} {
				if _, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(s), Member: member, Guide: "G1"}); err != nil {
					t.Fatal(err)
				}
			}
			mustAudit(t, f)
			mv := mustMember(t, f, "m")
			third := redemptionOf(t, f, f.signer.Code(3))
			cp, err := f.eng.CouponByID(third.Coupon)
			if err != nil {
				t.Fatal(err)
			}
			s := state{
				f: f, red: redemptionOf(t, f, f.signer.Code(1)), other: redemptionOf(t, f, f.signer.Code(2)),
				m: mv.Member, b: mustMember(t, f, "b").Member, ledger: ledgerOf(t, f.db, "l/", "m"), unverified: *cp, unredeemed: f.signer.Code(9),
				entryKey: func(member string, seq uint64) string {
					return string(binary.BigEndian.AppendUint64([]byte("l/"+member+"\x00"), seq))
				},
				redemptionOf: func(code string) string { return "r/" + code },
			}
			want := strings.NewReplacer(s0Other, s.other.Code, s0Unredeemed, s.unredeemed,
				s0BSeq, strconv.FormatUint(s.b.Seq, 10), s0BSeqPlus1, strconv.FormatUint(s.b.Seq+1, 10)).Replace(c.want)
			putRecords(t, f.db, c.forge(s))
			mustAuditSay(t, f.eng, want)
		})
	}
}

// Placeholders in a case's message for codes known once the store is made.
const (
	s0Other      = "\x00other"
	s0Unredeemed = "\x00unredeemed"
	s0BSeq       = "\x00b.seq"
	s0BSeqPlus1  = "\x00b.next"
)

// TestAuditCatchesForgedStoresAndEnrolments forges, one at a time, a
// store record, an enrolment, a store's list of guides and a manager's
// grant, each as a damaged or tampered store would hold it; the audit,
// clean before, names each forgery.
func TestAuditCatchesForgedStoresAndEnrolments(t *testing.T) {
	const manager = "tel:+8613900000009"
	for _, c := range []struct {
		name   string
		forge  func(tx store.Tx, s reward.Store, en reward.Enrolment)
		wanted string
	}{
		{"a store filed under another id", func(tx store.Tx, s reward.Store, _ reward.Enrolment) {
			putRaw(t, tx, "stores/S3", s)
		}, `store "S3" holds the record of store "S1"`},
		{"a store without a name", func(tx store.Tx, s reward.Store, _ reward.Enrolment) {
			s.Name = ""
			putRaw(t, tx, "stores/S1", s)
		}, `store "S1" has no name`},
		{"an enrolment of a store with no record", func(tx store.Tx, _ reward.Store, en reward.Enrolment) {
			en.Store = "S-gone"
			putRaw(t, tx, "en/"+en.ID, en)
		}, `names store "S-gone", which has no record`},
		{"an enrolment missing from its store's list", func(tx store.Tx, _ reward.Store, en reward.Enrolment) {
			tx.Delete([]byte("sen/S1\x00" + en.ID))
		}, "is missing from store S1's list"},
		{"an approval that made another person's guide", func(tx store.Tx, _ reward.Store, en reward.Enrolment) {
			en.Member = "tel:+8613800000099"
			putRaw(t, tx, "en/"+en.ID, en)
		}, "but the guide is of"},
		{"a store listing another store's guide", func(tx store.Tx, _ reward.Store, en reward.Enrolment) {
			tx.Put([]byte("stg/S2\x00"+en.Guide), nil)
		}, "who is not its guide"},
		{"a manager's grant the store does not name", func(tx store.Tx, _ reward.Store, _ reward.Enrolment) {
			tx.Put([]byte("smg/tel:+8613700000000\x00S1"), nil)
		}, `grants "tel:+8613700000000" store S1, whose record does not name them`},
		{"a manager the store names without a grant", func(tx store.Tx, _ reward.Store, _ reward.Enrolment) {
			tx.Delete([]byte("smg/" + manager + "\x00S1"))
		}, `store S1 names manager "` + manager + `", who has no grant`},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, q := enrolFixture(t, 10, 5)
			rewardtest.MustStore(t, f.eng, "S2")
			s, _, err := f.eng.PutStore("S1", reward.StoreChange{Managers: &[]string{manager}})
			if err != nil {
				t.Fatal(err)
			}
			en, err := f.eng.Enrol(q.Code, "tel:+8613800000001", "王芳")
			if err != nil {
				t.Fatal(err)
			}
			if en, err = f.eng.DecideEnrolment("S1", en.ID, true, manager); err != nil {
				t.Fatal(err)
			}
			mustAudit(t, f)
			if err := f.db.Update(func(tx store.Tx) error {
				c.forge(tx, *s, *en)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			mustAuditSay(t, f.eng, c.wanted)
		})
	}
}

// putRaw writes v as JSON under key, as the engine files records.
func putRaw(t *testing.T, tx store.Tx, key string, v any) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	tx.Put([]byte(key), raw)
}
