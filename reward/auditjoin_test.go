package reward_test

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
)

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
