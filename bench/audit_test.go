package bench_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/bench"
)

// fakeChecker is a server's state as the audit reads it.
type fakeChecker struct {
	mu        sync.Mutex
	redeemed  map[string]bool
	members   map[string]bench.MemberState
	campaign  bench.CampaignState
	guides    map[string]bench.GuideState
	coupons   map[string]bench.CouponState
	serverBad []string
	err       error
}

func (f *fakeChecker) Campaign(_ context.Context, id string) (bench.CampaignState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.campaign, f.err
}

// lookup reads one record of the fake server under its lock, with the
// error every read answers.
func lookup[V any](f *fakeChecker, records map[string]V, key string) (V, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return records[key], f.err
}

func (f *fakeChecker) Guide(_ context.Context, id string) (bench.GuideState, error) {
	return lookup(f, f.guides, id)
}

func (f *fakeChecker) Coupon(_ context.Context, id string) (bench.CouponState, error) {
	return lookup(f, f.coupons, id)
}

func (f *fakeChecker) ServerAudit(context.Context) ([]string, error) { return f.serverBad, f.err }

func (f *fakeChecker) CodeRedeemed(_ context.Context, code string) (bool, error) {
	return lookup(f, f.redeemed, code)
}

func (f *fakeChecker) Member(_ context.Context, m string) (bench.MemberState, error) {
	return lookup(f, f.members, m)
}

// consistent returns observations and a server that agrees with them: a
// campaign run in which alice (bound to guide g1) won two codes, one with a
// coupon that g2 verified, then spent 5 points; bob won a contested code
// and its coupon, which nobody verified yet.
func consistent() (*bench.Observations, *fakeChecker) {
	obs := &bench.Observations{
		Members:  []string{"alice", "bob", "carol"},
		Guides:   []string{"g1", "g2"},
		Campaign: bench.BenchCampaign("t", 1000, 10, time.Now()),
		Wins: []bench.Win{
			{Code: "C1", Member: "alice", Points: 10, Kind: bench.Fresh, Guide: "g1", Commission: 2},
			{Code: "C2", Member: "alice", Points: 10, Kind: bench.Fresh, Guide: "g1", Commission: 2, Coupon: "K1"},
			{Code: "C3", Member: "bob", Points: 10, Kind: bench.Contested, Coupon: "K2"},
		},
		Contests: []bench.Contest{{Code: "C3", Contenders: 3, Wins: 1, Refused: 2, Lost: 2}},
		Verifies: []bench.Verification{
			{Coupon: "K1", Guide: "g2", Status: 200, Commission: 10},
			{Coupon: "K1", Guide: "g1", Status: 409, Code: "already_used", Repeat: true},
		},
		Spends: []bench.Spending{{Member: "alice", RequestID: "S1", Points: 5}},
	}
	chk := &fakeChecker{
		redeemed: map[string]bool{"C1": true, "C2": true, "C3": true},
		members: map[string]bench.MemberState{
			"alice": {Found: true, Points: 15, Codes: []string{"C2", "C1"}, Spends: []string{"S1"}},
			"bob":   {Found: true, Points: 10, Codes: []string{"C3"}},
		},
		campaign: bench.CampaignState{Found: true, PointsPaid: 30, RewardedScans: 3, CouponsIssued: 2, CouponsUsed: 1, Commission: 14},
		guides: map[string]bench.GuideState{
			"g1": {Found: true, Commission: 4},
			"g2": {Found: true, Commission: 10, Verified: 1},
		},
		coupons: map[string]bench.CouponState{"K1": {Found: true, Status: "used"}, "K2": {Found: true, Status: "issued"}},
	}
	return obs, chk
}

func audit(obs *bench.Observations, chk bench.Checker) bench.AuditReport {
	return bench.Audit(context.Background(), obs, chk, bench.AuditOptions{Conns: 4, MaxCodes: 1000, Seed: 1})
}

func TestAuditPasses(t *testing.T) {
	obs, chk := consistent()
	a := audit(obs, chk)
	if !a.Passed || a.Winners != 3 || a.CodesChecked != 3 || a.Members != 3 || a.Contested != 1 {
		t.Fatalf("%+v", a)
	}
	if a.Coupons != 2 || a.Verified != 1 || a.CouponsChecked != 2 || a.Guides != 2 || a.Spends != 1 || !a.Campaign || !a.Exact || a.ServerAudit != "clean" {
		t.Fatalf("campaign checks: %+v", a)
	}
}

func TestAuditViolations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(*bench.Observations, *fakeChecker)
		want  []string
	}{
		{"double winner", func(o *bench.Observations, c *fakeChecker) {
			o.Wins = append(o.Wins, bench.Win{Code: "C1", Member: "bob", Points: 10, Kind: bench.Duplicate})
			c.members["bob"] = bench.MemberState{Found: true, Points: 20, Codes: []string{"C3", "C1"}}
		}, []string{"code C1 has 2 winners", "campaign bench-t counts 30 points paid; the 200s promised 40"}},
		{"missing redemption", func(o *bench.Observations, c *fakeChecker) {
			c.redeemed["C2"] = false
		}, []string{"code C2 was answered 200 (for alice) but the server does not record it redeemed"}},
		{"points short", func(o *bench.Observations, c *fakeChecker) {
			c.members["alice"] = bench.MemberState{Found: true, Points: 10, Codes: []string{"C2", "C1"}, Spends: []string{"S1"}}
		}, []string{"member alice has 10 points on the server; its 200s promised 15 (20 earned, 5 spent)"}},
		{"ledger misses a code", func(o *bench.Observations, c *fakeChecker) {
			c.members["alice"] = bench.MemberState{Found: true, Points: 15, Codes: []string{"C1", "C1"}, Spends: []string{"S1"}}
		}, []string{"pays code C1 2 times", "member alice won code C2 but the ledger has no entry"}},
		{"spend lost", func(o *bench.Observations, c *fakeChecker) {
			c.members["alice"] = bench.MemberState{Found: true, Points: 20, Codes: []string{"C2", "C1"}}
		}, []string{"member alice: spend S1 (5 points) was answered 200 but the ledger records it 0 times", "member alice has 20 points on the server; its 200s promised 15"}},
		{"spend twice", func(o *bench.Observations, c *fakeChecker) {
			c.members["alice"] = bench.MemberState{Found: true, Points: 10, Codes: []string{"C2", "C1"}, Spends: []string{"S1", "S1"}}
		}, []string{"spend S1 (5 points) was answered 200 but the ledger records it 2 times"}},
		{"coupon verified twice", func(o *bench.Observations, c *fakeChecker) {
			o.Verifies[1] = bench.Verification{Coupon: "K1", Guide: "g1", Status: 200, Commission: 10, Repeat: true}
			c.guides["g1"] = bench.GuideState{Found: true, Commission: 14, Verified: 1}
			c.campaign.CouponsUsed, c.campaign.Commission = 2, 24
		}, []string{"coupon K1 was verified 2 times"}},
		{"first verification refused", func(o *bench.Observations, c *fakeChecker) {
			o.Verifies = append(o.Verifies, bench.Verification{Coupon: "K2", Guide: "g1", Status: 409, Code: "already_used"})
		}, []string{"coupon K2 was refused as already used 1 times, but no verification of it succeeded"}},
		{"coupon unknown at the counter", func(o *bench.Observations, c *fakeChecker) {
			o.Verifies = append(o.Verifies, bench.Verification{Coupon: "K2", Guide: "g1", Status: 404, Code: "not_found"})
		}, []string{"coupon K2, issued by a 200 for code C3, is unknown to the server"}},
		{"coupon not recorded used", func(o *bench.Observations, c *fakeChecker) {
			c.coupons["K1"] = bench.CouponState{Found: true, Status: "issued"}
		}, []string{"coupon K1 was verified (200) but the server says it is issued"}},
		{"coupon lost", func(o *bench.Observations, c *fakeChecker) {
			delete(c.coupons, "K2")
		}, []string{"coupon K2 was issued by a 200 for code C3 but the server does not know it"}},
		{"coupon issued twice", func(o *bench.Observations, c *fakeChecker) {
			o.Wins[0].Coupon = "K2"
		}, []string{"coupon K2 was issued twice"}},
		{"guide commission short", func(o *bench.Observations, c *fakeChecker) {
			c.guides["g1"] = bench.GuideState{Found: true, Commission: 2}
		}, []string{"guide g1 has 2 commission on the server; the 200s promised 4"}},
		{"guide verifications", func(o *bench.Observations, c *fakeChecker) {
			c.guides["g2"] = bench.GuideState{Found: true, Commission: 10, Verified: 2}
		}, []string{"guide g2 verified 2 coupons on the server; the client saw 1 200s"}},
		{"budget overspent", func(o *bench.Observations, c *fakeChecker) {
			o.Campaign.PointsBudget = 25
		}, []string{"campaign bench-t paid 30 points, over its budget of 25"}},
		{"stock overspent", func(o *bench.Observations, c *fakeChecker) {
			o.Campaign.Coupon.Stock = 1
		}, []string{"campaign bench-t issued 2 coupons, over its stock of 1"}},
		{"counters off", func(o *bench.Observations, c *fakeChecker) {
			c.campaign.CouponsIssued, c.campaign.Commission = 3, 12
		}, []string{"campaign bench-t counts 3 coupons issued; the 200s promised 2", "counts 12 commission; the 200s promised 14"}},
		{"server audit", func(o *bench.Observations, c *fakeChecker) {
			c.serverBad = []string{"member x: balance 5, ledger says 3"}
		}, []string{"server audit: member x: balance 5, ledger says 3"}},
		{"member unknown", func(o *bench.Observations, c *fakeChecker) {
			delete(c.members, "bob")
		}, []string{"member bob won 1 codes (10 points) but has no account"}},
		{"unpromised payout", func(o *bench.Observations, c *fakeChecker) {
			c.members["carol"] = bench.MemberState{Found: true, Points: 10, Codes: []string{"C9"}}
		}, []string{"member carol has 10 points on the server; its 200s promised 0"}},
		{"two contest winners", func(o *bench.Observations, c *fakeChecker) {
			o.Contests[0] = bench.Contest{Code: "C3", Contenders: 3, Wins: 2, Refused: 1, Lost: 1}
			o.Wins = append(o.Wins, bench.Win{Code: "C3", Member: "carol", Points: 10, Kind: bench.Contested})
			c.members["carol"] = bench.MemberState{Found: true, Points: 10, Codes: []string{"C3"}}
		}, []string{"contested code C3: 2 of 3 contenders won", "code C3 has 2 winners"}},
		{"contest without winner", func(o *bench.Observations, c *fakeChecker) {
			o.Contests = append(o.Contests, bench.Contest{Code: "C4", Contenders: 3, Refused: 3, Lost: 2})
		}, []string{"contested code C4: 2 of 3 contenders were told it was already redeemed, and none won"}},
		{"forgery redeemed", func(o *bench.Observations, c *fakeChecker) {
			o.Wins = append(o.Wins, bench.Win{Code: "F1", Member: "carol", Points: 10, Kind: bench.Forged})
			c.redeemed["F1"] = true
			c.members["carol"] = bench.MemberState{Found: true, Points: 10, Codes: []string{"F1"}}
		}, []string{"forged code F1 was redeemed for carol"}},
		{"preloaded code paid again", func(o *bench.Observations, c *fakeChecker) {
			o.Wins = append(o.Wins, bench.Win{Code: "P1", Member: "carol", Points: 10, Kind: bench.Preloaded})
			c.redeemed["P1"] = true
			c.members["carol"] = bench.MemberState{Found: true, Points: 10, Codes: []string{"P1"}}
		}, []string{"preloaded code P1, redeemed before the run, was paid again to carol"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs, chk := consistent()
			tc.spoil(obs, chk)
			a := audit(obs, chk)
			if a.Passed {
				t.Fatalf("audit passed: %+v", a)
			}
			all := strings.Join(a.Violations, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("violations lack %q:\n%s", w, all)
				}
			}
			var b strings.Builder
			r := &bench.Report{Audit: a}
			r.WriteText(&b)
			if !strings.Contains(b.String(), "AUDIT FAILED") {
				t.Errorf("the report does not say AUDIT FAILED:\n%s", b.String())
			}
		})
	}
}

// A contest refused to every contender for want of budget has no winner,
// and that is right: the code stays unredeemed.
func TestAuditContestRefusedToAll(t *testing.T) {
	obs, chk := consistent()
	obs.Contests = append(obs.Contests, bench.Contest{Code: "C8", Contenders: 4, Refused: 4})
	a := audit(obs, chk)
	if !a.Passed || a.Unwon != 1 {
		t.Fatalf("%+v", a)
	}
}

// A spend with no answer may or may not have taken its points: the
// balance may be lower by that much, the ledger may hold one more spend.
func TestAuditUncertainSpend(t *testing.T) {
	obs, chk := consistent()
	obs.Spends = append(obs.Spends, bench.Spending{Member: "bob", RequestID: "S2", Points: 4, Uncertain: true})
	obs.UncertainSpend = map[string]int64{"bob": 4}
	for _, bob := range []bench.MemberState{
		{Found: true, Points: 10, Codes: []string{"C3"}},
		{Found: true, Points: 6, Codes: []string{"C3"}, Spends: []string{"S2"}},
	} {
		chk.members["bob"] = bob
		if a := audit(obs, chk); !a.Passed || a.Exact {
			t.Fatalf("bob %+v: %+v", bob, a)
		}
	}
	chk.members["bob"] = bench.MemberState{Found: true, Points: 5, Codes: []string{"C3"}, Spends: []string{"S2", "S3"}}
	a := audit(obs, chk)
	if a.Passed {
		t.Fatal("two unexplained spends passed with one uncertain")
	}
}

// A member whose scan got no answer may have been paid for it: the audit
// allows that much, and no more.
func TestAuditUncertain(t *testing.T) {
	obs, chk := consistent()
	obs.Uncertain = map[string]int{"carol": 1}
	obs.Contests = append(obs.Contests, bench.Contest{Code: "C5", Contenders: 2, Refused: 1, Uncertain: 1})
	chk.members["carol"] = bench.MemberState{Found: true, Points: 10, Codes: []string{"C5"}}
	chk.campaign.PointsPaid += 10 // the uncertain scan paid after all
	a := audit(obs, chk)
	if !a.Passed || a.Inconclusive != 1 || a.Exact {
		t.Fatalf("%+v", a)
	}
	chk.members["carol"] = bench.MemberState{Found: true, Points: 20, Codes: []string{"C5", "C6"}}
	if a := audit(obs, chk); a.Passed {
		t.Fatal("two unexplained payouts passed with one uncertain scan")
	}
}

// A 200 that promised no points leaves no ledger entry, and that is fine.
func TestAuditZeroPoints(t *testing.T) {
	obs, chk := consistent()
	obs.Wins = append(obs.Wins, bench.Win{Code: "C7", Member: "carol", Points: 0, Kind: bench.Fresh})
	chk.redeemed["C7"] = true
	chk.members["carol"] = bench.MemberState{Found: true}
	chk.campaign.RewardedScans++
	if a := audit(obs, chk); !a.Passed {
		t.Fatalf("%+v", a)
	}
}

func TestAuditLookupFails(t *testing.T) {
	obs, chk := consistent()
	chk.err = errors.New("connection refused")
	a := audit(obs, chk)
	if a.Passed || len(a.Errors) == 0 {
		t.Fatalf("a failed lookup passed the audit: %+v", a)
	}
}

func TestAuditSamples(t *testing.T) {
	obs, chk := consistent()
	a := bench.Audit(context.Background(), obs, chk, bench.AuditOptions{Conns: 2, MaxCodes: 2, Seed: 3})
	if !a.Passed || !a.Sampled || a.CodesChecked != 2 {
		t.Fatalf("%+v", a)
	}
}
