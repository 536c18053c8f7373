package baseline

import (
	"strings"
	"testing"

	"github.com/yima-dev/yima/bench"
)

// The baselines' own audit catches what it is there for.
func TestLedgerAudit(t *testing.T) {
	r := &rules{campaign: "c", budget: 100, stock: 1}
	for _, tc := range []struct {
		name string
		feed func(a *ledgerAudit)
		want string
	}{
		{"clean", func(a *ledgerAudit) {
			a.member("alice", 15, []ledgerEntry{{"points", "scan", "C1", 10}, {"points", "new_member_bonus", "C1", 10}, {"points", "spend", "S1", -5}, {"growth", "scan", "C1", 10}})
			a.guide("g", 2, 2)
			a.redemption("C1", "alice")
			a.campaign(bench.CampaignState{Found: true, PointsPaid: 20, CouponsIssued: 1, Commission: 2}, 1, 0)
		}, ""},
		{"balance off", func(a *ledgerAudit) {
			a.member("alice", 16, []ledgerEntry{{"points", "scan", "C1", 10}})
			a.redemption("C1", "alice")
		}, "member alice has a balance of 16; its ledger sums to 10"},
		{"negative", func(a *ledgerAudit) {
			a.member("alice", -1, []ledgerEntry{{"points", "spend", "S1", -1}})
		}, "negative balance"},
		{"paid twice", func(a *ledgerAudit) {
			a.member("alice", 10, []ledgerEntry{{"points", "scan", "C1", 10}})
			a.member("bob", 10, []ledgerEntry{{"points", "scan", "C1", 10}})
			a.redemption("C1", "alice")
		}, "code C1 is paid twice"},
		{"no redemption", func(a *ledgerAudit) {
			a.member("alice", 10, []ledgerEntry{{"points", "scan", "C1", 10}})
		}, "code C1 is paid to alice but has no redemption"},
		{"guide off", func(a *ledgerAudit) { a.guide("g", 4, 2) }, "guide g has 4 commission; its ledger sums to 2"},
		{"overspent", func(a *ledgerAudit) {
			a.member("alice", 110, []ledgerEntry{{"points", "scan", "C1", 110}})
			a.redemption("C1", "alice")
			a.campaign(bench.CampaignState{Found: true, PointsPaid: 110, CouponsIssued: 2}, 2, 0)
		}, "paid 110 points, over its budget of 100"},
		{"stock", func(a *ledgerAudit) {
			a.campaign(bench.CampaignState{Found: true, CouponsIssued: 2}, 2, 0)
		}, "issued 2 coupons, over its stock of 1"},
		{"counters", func(a *ledgerAudit) {
			a.campaign(bench.CampaignState{Found: true, CouponsIssued: 1, CouponsUsed: 1}, 1, 0)
		}, "counts 1 coupons used; the ledgers and coupons say 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a ledgerAudit
			a.init(r)
			tc.feed(&a)
			out := strings.Join(a.finish(), "\n")
			if tc.want == "" && out != "" || !strings.Contains(out, tc.want) {
				t.Fatalf("violations %q, want %q", out, tc.want)
			}
		})
	}
}
