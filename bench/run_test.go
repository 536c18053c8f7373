package bench_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/bench"
)

// TestRunSmoke runs the real thing briefly: an in-process server, the
// ceiling, the scans and the audit. It asserts correctness, never speed.
func TestRunSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and loads it for a few seconds")
	}
	rep, err := bench.Run(context.Background(), bench.Config{Duration: 1500 * time.Millisecond, Conns: 8, Members: 50})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Audit.Passed {
		t.Fatalf("audit: %+v", rep.Audit)
	}
	counts := map[int]int64{}
	for _, r := range rep.Scans.Results {
		counts[r.Status] += r.Count
	}
	if counts[200] == 0 || counts[409] == 0 || counts[400] == 0 {
		t.Fatalf("want some 200s, 409s and 400s; got %v", rep.Scans.Results)
	}
	if rep.Ceiling == nil || rep.Ceiling.Requests == 0 || rep.CeilingRatio <= 0 {
		t.Fatalf("no ceiling: %+v", rep.Ceiling)
	}
	if !rep.Server.CPUKnown || !rep.Server.GroupsKnown || rep.Server.Commits == 0 {
		t.Fatalf("server usage not read: %+v", rep.Server)
	}
	if rep.Audit.Contested == 0 || rep.Audit.Members != 50 {
		t.Fatalf("audit checked %d contested codes and %d members", rep.Audit.Contested, rep.Audit.Members)
	}
}

// memTarget is an in-memory Target. Honest, it redeems each code once;
// with doublePay, every duplicate scan wins too.
type memTarget struct {
	doublePay bool
	n         int
	mu        sync.Mutex
	owner     map[string]string
	points    map[string]int64
	ledger    map[string][]string
	ops       atomic.Int64
}

func newMemTarget() *memTarget {
	return &memTarget{owner: map[string]string{}, points: map[string]int64{}, ledger: map[string][]string{}}
}

type numbered int

func (n numbered) Len() int          { return int(n) }
func (n numbered) Code(i int) string { return "CODE" + strconv.Itoa(i) + "X" }

func (m *memTarget) Name() string { return "memory" }
func (m *memTarget) Prepare(_ context.Context, n int) (bench.Codes, error) {
	m.n = n
	return numbered(n), nil
}
func (m *memTarget) Stats(context.Context) (bench.Stats, error) {
	return bench.Stats{CPUSeconds: 1, GroupSum: 1, GroupCount: 1}, nil
}
func (m *memTarget) Close() error { return nil }

func (m *memTarget) Do(op *bench.Op) bench.Outcome {
	m.ops.Add(1)
	if op.Kind == bench.Health {
		return bench.Outcome{Status: 200}
	}
	if op.Code[len(op.Code)-1] != 'X' {
		return bench.Outcome{Status: 400, Code: "invalid_code"}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, taken := m.owner[op.Code]; taken && !(m.doublePay && op.Kind == bench.Duplicate) {
		return bench.Outcome{Status: 409, Code: "already_redeemed"}
	}
	m.owner[op.Code] = op.Member
	m.points[op.Member] += 10
	m.ledger[op.Member] = append(m.ledger[op.Member], op.Code)
	return bench.Outcome{Status: 200, Points: 10}
}

func (m *memTarget) CodeRedeemed(_ context.Context, code string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.owner[code]
	return ok, nil
}

func (m *memTarget) Member(_ context.Context, id string) (bench.MemberState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.ledger[id]) == 0 {
		return bench.MemberState{}, nil
	}
	return bench.MemberState{Found: true, Points: m.points[id], Codes: append([]string(nil), m.ledger[id]...)}, nil
}

func TestRunRequestsAgainstAFakeTarget(t *testing.T) {
	mt := newMemTarget()
	rep, err := bench.Run(context.Background(), bench.Config{Target: mt, Requests: 20_000, Conns: 4, Members: 20, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	// The budget is claimed per operation; a contested one may overshoot
	// by its contenders.
	if n := rep.Scans.Requests; n < 20_000 || n > 20_000+4*4 {
		t.Fatalf("%d scan requests, want 20,000", n)
	}
	if rep.Ceiling == nil || rep.Ceiling.Requests < 20_000 {
		t.Fatalf("ceiling %+v", rep.Ceiling)
	}
	if !rep.Audit.Passed || rep.Audit.Winners == 0 {
		t.Fatalf("%+v", rep.Audit)
	}
	byKind := map[bench.Kind]int64{}
	for _, k := range rep.Scans.Kinds {
		byKind[k.Kind] = k.Requests
	}
	if byKind[bench.Duplicate] == 0 || byKind[bench.Contested] == 0 || byKind[bench.Forged] == 0 {
		t.Fatalf("kinds %v", byKind)
	}
}

func TestRunAuditFailsLoudly(t *testing.T) {
	mt := newMemTarget()
	mt.doublePay = true
	rep, err := bench.Run(context.Background(), bench.Config{Target: mt, Requests: 5_000, Conns: 4, Members: 10, NoCeiling: true})
	if !errors.Is(err, bench.ErrAuditFailed) {
		t.Fatalf("err = %v, want ErrAuditFailed", err)
	}
	if rep == nil || rep.Audit.Passed || rep.Audit.ViolationCount == 0 {
		t.Fatalf("report %+v", rep)
	}
}

func TestRunOpenLoopKeepsToTheSchedule(t *testing.T) {
	mt := newMemTarget()
	const rate, secs = 2000.0, 1.0
	rep, err := bench.Run(context.Background(), bench.Config{Target: mt, Rate: rate, Duration: time.Duration(secs * float64(time.Second)), Conns: 4, NoCeiling: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Loop != "open" {
		t.Fatalf("loop %q", rep.Loop)
	}
	// Never more than offered (plus one contested operation per
	// connection); fewer only if this machine is too slow, so no lower
	// bound beyond "some".
	if n := rep.Scans.Requests; n == 0 || float64(n) > rate*secs+4*4 {
		t.Fatalf("%d requests at %g/s for %gs", n, rate, secs)
	}
}
