package bench_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/yima-dev/yima/bench"
)

// fakeChecker is a server's state as the audit reads it.
type fakeChecker struct {
	mu       sync.Mutex
	redeemed map[string]bool
	members  map[string]bench.MemberState
	err      error
}

func (f *fakeChecker) CodeRedeemed(_ context.Context, code string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.redeemed[code], f.err
}

func (f *fakeChecker) Member(_ context.Context, m string) (bench.MemberState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.members[m], f.err
}

// consistent returns observations and a server that agrees with them.
func consistent() (*bench.Observations, *fakeChecker) {
	obs := &bench.Observations{
		Members: []string{"alice", "bob", "carol"},
		Wins: []bench.Win{
			{Code: "C1", Member: "alice", Points: 10, Kind: bench.Fresh},
			{Code: "C2", Member: "alice", Points: 10, Kind: bench.Fresh},
			{Code: "C3", Member: "bob", Points: 10, Kind: bench.Contested},
		},
		Contests: []bench.Contest{{Code: "C3", Contenders: 3, Wins: 1, Refused: 2}},
	}
	chk := &fakeChecker{
		redeemed: map[string]bool{"C1": true, "C2": true, "C3": true},
		members: map[string]bench.MemberState{
			"alice": {Found: true, Points: 20, Codes: []string{"C2", "C1"}},
			"bob":   {Found: true, Points: 10, Codes: []string{"C3"}},
		},
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
		}, []string{"code C1 has 2 winners"}},
		{"missing redemption", func(o *bench.Observations, c *fakeChecker) {
			c.redeemed["C2"] = false
		}, []string{"code C2 was answered 200 (for alice) but the server does not record it redeemed"}},
		{"points short", func(o *bench.Observations, c *fakeChecker) {
			c.members["alice"] = bench.MemberState{Found: true, Points: 10, Codes: []string{"C2", "C1"}}
		}, []string{"member alice has 10 points on the server; its 200s promised 20"}},
		{"ledger misses a code", func(o *bench.Observations, c *fakeChecker) {
			c.members["alice"] = bench.MemberState{Found: true, Points: 20, Codes: []string{"C1", "C1"}}
		}, []string{"pays code C1 2 times", "member alice won code C2 but the ledger has no entry"}},
		{"member unknown", func(o *bench.Observations, c *fakeChecker) {
			delete(c.members, "bob")
		}, []string{"member bob won 1 codes (10 points) but has no account"}},
		{"unpromised payout", func(o *bench.Observations, c *fakeChecker) {
			c.members["carol"] = bench.MemberState{Found: true, Points: 10, Codes: []string{"C9"}}
		}, []string{"member carol has 10 points on the server; its 200s promised 0"}},
		{"two contest winners", func(o *bench.Observations, c *fakeChecker) {
			o.Contests[0] = bench.Contest{Code: "C3", Contenders: 3, Wins: 2, Refused: 1}
			o.Wins = append(o.Wins, bench.Win{Code: "C3", Member: "carol", Points: 10, Kind: bench.Contested})
			c.members["carol"] = bench.MemberState{Found: true, Points: 10, Codes: []string{"C3"}}
		}, []string{"contested code C3: 2 of 3 contenders won", "code C3 has 2 winners"}},
		{"contest without winner", func(o *bench.Observations, c *fakeChecker) {
			o.Contests = append(o.Contests, bench.Contest{Code: "C4", Contenders: 3, Refused: 3})
		}, []string{"contested code C4: all 3 contenders were refused and none won"}},
		{"forgery redeemed", func(o *bench.Observations, c *fakeChecker) {
			o.Wins = append(o.Wins, bench.Win{Code: "F1", Member: "carol", Points: 10, Kind: bench.Forged})
			c.redeemed["F1"] = true
			c.members["carol"] = bench.MemberState{Found: true, Points: 10, Codes: []string{"F1"}}
		}, []string{"forged code F1 was redeemed for carol"}},
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

// A member whose scan got no answer may have been paid for it: the audit
// allows that much, and no more.
func TestAuditUncertain(t *testing.T) {
	obs, chk := consistent()
	obs.Uncertain = map[string]int{"carol": 1}
	obs.Contests = append(obs.Contests, bench.Contest{Code: "C5", Contenders: 2, Refused: 1, Uncertain: 1})
	chk.members["carol"] = bench.MemberState{Found: true, Points: 10, Codes: []string{"C5"}}
	a := audit(obs, chk)
	if !a.Passed || a.Inconclusive != 1 {
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
