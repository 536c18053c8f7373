package bench_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/bench"
	"github.com/yima-dev/yima/reward"
)

// TestRunSmoke runs the real thing briefly: an in-process server, the
// ceiling, the landing page, the scans, the durable floor and the audit. It
// asserts correctness, never speed: each phase runs a count of requests,
// not a time, so that a slow machine sends as many of each kind (a timed
// run of a loaded machine sent some hundred, and drew no forgery or no
// verification now and then).
func TestRunSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and loads it for a few seconds")
	}
	rep := mustRun(t, bench.Config{Requests: 1000, Conns: 8, Members: 50})
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
	// The landing page ran on genuine codes, each answered with the page.
	if rep.Landing == nil || rep.Landing.Requests == 0 || rep.LandingRatio <= 0 {
		t.Fatalf("no landing phase: %+v", rep.Landing)
	}
	for _, r := range rep.Landing.Results {
		if r.Status != 200 {
			t.Fatalf("landing answers: %v, want only 200s", rep.Landing.Results)
		}
	}
	// The durable floor ran too, and every one of its commits was answered.
	if rep.Floor == nil || rep.Floor.Requests == 0 || rep.FloorRatio <= 0 {
		t.Fatalf("no floor: %+v", rep.Floor)
	}
	if rep.FloorCPUPerRequest <= 0 {
		t.Errorf("floor CPU per request not measured: %v", rep.FloorCPUPerRequest)
	}
	for _, r := range rep.Floor.Results {
		if r.Status != 200 {
			t.Fatalf("floor answers: %v, want only 200s", rep.Floor.Results)
		}
	}
	if !rep.Server.CPUKnown || !rep.Server.GroupsKnown || rep.Server.Commits == 0 {
		t.Fatalf("server usage not read: %+v", rep.Server)
	}
	if rep.Audit.Contested == 0 || rep.Audit.Members != 50 {
		t.Fatalf("audit checked %d contested codes and %d members", rep.Audit.Contested, rep.Audit.Members)
	}
	// The campaign workload: coupons verified by guides, points spent,
	// and the audit's campaign checks and the server's own audit ran.
	answers := results(rep)
	if answers["verify 200"] == 0 || answers["spend 200"] == 0 {
		t.Fatalf("no verifications or spends accepted: %v", answers)
	}
	if a := rep.Audit; !a.Campaign || a.Guides == 0 || a.Coupons == 0 || a.ServerAudit != "clean" {
		t.Fatalf("audit %+v", a)
	}
}

// memTarget is an in-memory Target with yima's rules in miniature: each
// code redeemed once for a point, with a campaign a coupon for every
// tenth code and commissions for bound members' guides, coupons verified
// once, spends never below zero. Honest unless told otherwise: doublePay
// lets every duplicate scan win too, doubleVerify lets a used coupon be
// verified again.
type memTarget struct {
	doublePay, doubleVerify bool
	n                       int
	mu                      sync.Mutex
	campaign                *reward.Campaign
	bound                   map[string]string
	owner                   map[string]string
	points                  map[string]int64
	ledger                  map[string][]string
	spends                  map[string][]string
	coupons                 map[string]string // id → status
	guides                  map[string]*bench.GuideState
	counters                bench.CampaignState
	ops                     atomic.Int64
}

func newMemTarget() *memTarget {
	return &memTarget{owner: map[string]string{}, points: map[string]int64{}, ledger: map[string][]string{},
		spends: map[string][]string{}, coupons: map[string]string{}, guides: map[string]*bench.GuideState{}, bound: map[string]string{}}
}

type numbered int

func (n numbered) Len() int          { return int(n) }
func (n numbered) Code(i int) string { return "CODE" + strconv.Itoa(i) + "X" }

func (m *memTarget) Name() string { return "memory" }
func (m *memTarget) Prepare(_ context.Context, s *bench.Setup) (bench.Codes, error) {
	m.n = s.Codes
	m.campaign = s.Campaign
	for _, g := range s.Guides {
		m.guides[g] = &bench.GuideState{Found: true}
	}
	for _, b := range s.Bindings {
		m.bound[b.Member] = b.Guide
	}
	return numbered(s.Codes), nil
}
func (m *memTarget) Stats(context.Context) (bench.Stats, error) {
	return bench.Stats{CPUSeconds: 1, GroupSum: 1, GroupCount: 1}, nil
}
func (m *memTarget) Close() error { return nil }

func (m *memTarget) Do(op *bench.Op) bench.Outcome {
	m.ops.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	switch op.Kind {
	case bench.Health:
		return bench.Outcome{Status: 200}
	case bench.Verify:
		st, ok := m.coupons[op.Coupon]
		switch {
		case !ok:
			return bench.Outcome{Status: 404, Code: "not_found"}
		case st == "used" && !m.doubleVerify:
			return bench.Outcome{Status: 409, Code: "already_used"}
		}
		m.coupons[op.Coupon] = "used"
		g := m.guides[op.Guide]
		g.Commission += 10
		g.Verified++
		m.counters.CouponsUsed++
		m.counters.Commission += 10
		return bench.Outcome{Status: 200, Commission: 10}
	case bench.Spend:
		if len(m.ledger[op.Member]) == 0 {
			return bench.Outcome{Status: 404, Code: "not_found"}
		}
		if m.points[op.Member] < op.Points {
			return bench.Outcome{Status: 409, Code: "insufficient_points"}
		}
		m.points[op.Member] -= op.Points
		m.spends[op.Member] = append(m.spends[op.Member], op.RequestID)
		return bench.Outcome{Status: 200, Points: op.Points}
	}
	if op.Code[len(op.Code)-1] != 'X' {
		return bench.Outcome{Status: 400, Code: "invalid_code"}
	}
	if _, taken := m.owner[op.Code]; taken && !(m.doublePay && op.Kind == bench.Duplicate) {
		return bench.Outcome{Status: 409, Code: "already_redeemed"}
	}
	m.owner[op.Code] = op.Member
	m.points[op.Member]++
	m.ledger[op.Member] = append(m.ledger[op.Member], op.Code)
	o := bench.Outcome{Status: 200, Points: 1}
	if m.campaign != nil {
		m.counters.PointsPaid++
		m.counters.RewardedScans++
		if n, _ := strconv.Atoi(op.Code[4 : len(op.Code)-1]); n%10 == 0 {
			o.Coupon = "CP" + op.Code
			m.coupons[o.Coupon] = "issued"
			m.counters.CouponsIssued++
		}
		if g := m.bound[op.Member]; g != "" {
			o.Guide, o.Commission = g, 2
			m.guides[g].Commission += 2
			m.counters.Commission += 2
		}
	}
	return o
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
	return bench.MemberState{Found: true, Points: m.points[id], Codes: append([]string(nil), m.ledger[id]...), Spends: append([]string(nil), m.spends[id]...)}, nil
}

func (m *memTarget) Campaign(_ context.Context, id string) (bench.CampaignState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counters
	c.Found = m.campaign != nil && m.campaign.ID == id
	return c, nil
}

func (m *memTarget) Guide(_ context.Context, id string) (bench.GuideState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g := m.guides[id]; g != nil {
		return *g, nil
	}
	return bench.GuideState{}, nil
}

func (m *memTarget) Coupon(_ context.Context, id string) (bench.CouponState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.coupons[id]
	return bench.CouponState{Found: ok, Status: st}, nil
}

func (m *memTarget) ServerAudit(context.Context) ([]string, error) { return nil, nil }

func TestRunRequestsAgainstAFakeTarget(t *testing.T) {
	mt := newMemTarget()
	rep := mustRun(t, bench.Config{Target: mt, Requests: 20_000, Conns: 4, Members: 20, Seed: 5})
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
	for _, k := range []bench.Kind{bench.Fresh, bench.Duplicate, bench.Contested, bench.Forged, bench.Verify, bench.Spend} {
		if byKind[k] == 0 {
			t.Fatalf("no %v requests: %v", k, byKind)
		}
	}
	// Verifications: first ones 200, repeats 409 already_used; spends
	// accepted or refused for want of points.
	answers := results(rep)
	for _, want := range []string{"verify 200", "verify 409 already_used", "spend 200", "spend 409 insufficient_points"} {
		if answers[want] == 0 {
			t.Errorf("no %q answers: %v", want, answers)
		}
	}
	a := rep.Audit
	if a.Coupons == 0 || a.Verified == 0 || a.Spends == 0 || a.Guides != 4 || !a.Campaign || !a.Exact || a.ServerAudit != "clean" {
		t.Fatalf("the audit skipped the campaign's checks: %+v", a)
	}
	if rep.Campaign == nil || rep.Guides != 4 || rep.Bound == 0 {
		t.Fatalf("campaign %+v, %d guides, %d bound", rep.Campaign, rep.Guides, rep.Bound)
	}
}

// results counts a report's answers as "kind status code".
// mustRun runs the bench with cfg and fails t on an error.
func mustRun(t *testing.T, cfg bench.Config) *bench.Report {
	t.Helper()
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func results(rep *bench.Report) map[string]int64 { return rep.Scans.Answers() }

// Without a campaign the run is the first benchmark's: scans only, fixed
// points, no coupons or guides to check.
func TestRunFixedPoints(t *testing.T) {
	mt := newMemTarget()
	rep := mustRun(t, bench.Config{Target: mt, FixedPoints: true, Requests: 5_000, Conns: 4, Members: 20, NoCeiling: true})
	for _, k := range rep.Scans.Kinds {
		if k.Kind == bench.Verify || k.Kind == bench.Spend {
			t.Fatalf("a fixed-points run sent %v requests", k.Kind)
		}
	}
	if rep.Campaign != nil || rep.Audit.Campaign || rep.Audit.Guides != 0 || !rep.Audit.Passed {
		t.Fatalf("report %+v", rep.Audit)
	}
	_, err := bench.Run(context.Background(), bench.Config{Target: newMemTarget(), FixedPoints: true, Requests: 100,
		Mix: []bench.Share{{Kind: bench.Verify, Fraction: 0.1}}})
	if err == nil || !strings.Contains(err.Error(), "campaign") {
		t.Fatalf("verifications without a campaign: err = %v", err)
	}
}

func TestRunAuditCatchesDoubleVerification(t *testing.T) {
	mt := newMemTarget()
	mt.doubleVerify = true
	rep, err := bench.Run(context.Background(), bench.Config{Target: mt, Requests: 20_000, Conns: 4, Members: 10, NoCeiling: true, Seed: 9})
	if !errors.Is(err, bench.ErrAuditFailed) {
		t.Fatalf("err = %v, want ErrAuditFailed", err)
	}
	if !strings.Contains(strings.Join(rep.Audit.Violations, "\n"), "verified 2 times") {
		t.Fatalf("violations %v", rep.Audit.Violations)
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
	rep := mustRun(t, bench.Config{Target: mt, Rate: rate, Duration: time.Duration(secs * float64(time.Second)), Conns: 4, NoCeiling: true})
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

// TestRunWithASlowWebhook: a run with a webhook endpoint that answers
// slowly registers it, the server delivers to it during the scans, and
// the run audits clean. The rate is the bench's to measure, not this
// test's (docs/performance.md has the figures).
func TestRunWithASlowWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and loads it for a few seconds")
	}
	rep := mustRun(t, bench.Config{Duration: 1500 * time.Millisecond, Conns: 8, Members: 50,
		NoCeiling: true, NoFloor: true, WebhookSlow: 200 * time.Millisecond})
	if rep.Webhook == nil || rep.Webhook.Slow != 0.2 || rep.Webhook.Received == 0 {
		t.Fatalf("webhook run: %+v; want deliveries to the slow endpoint", rep.Webhook)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "answering each delivery after 0.2s") {
		t.Fatalf("the report does not name the slow endpoint (%v):\n%s", err, text.String())
	}
	// A target without webhooks says so rather than measuring nothing.
	if _, err := bench.Run(context.Background(), bench.Config{Target: newMemTarget(), Requests: 10, NoCeiling: true, WebhookSlow: time.Second}); err == nil || !strings.Contains(err.Error(), "--webhook-slow") {
		t.Fatalf("a fake target with --webhook-slow: %v", err)
	}
}

// checkPreloadedRefused holds a run's scans of preloaded codes: some were
// sent, and each was refused as already redeemed, and only that. store
// names the store for the messages.
func checkPreloadedRefused(t *testing.T, rep *bench.Report, store string) {
	t.Helper()
	answers := rep.Scans.Answers()
	if answers["preloaded 409 already_redeemed"] == 0 {
		t.Errorf("no preloaded code of %s was scanned and refused: %v", store, answers)
	}
	for k := range answers {
		if strings.HasPrefix(k, "preloaded ") && k != "preloaded 409 already_redeemed" {
			t.Errorf("a preloaded code of %s was answered %s: %v", store, k, answers)
		}
	}
}

// TestRunPreload runs on a store preloaded with 10,000 redeemed codes: the
// preload is reported, the restarted server serves, its memory is read,
// the scans are audited (the server's own audit over the preloaded store
// included), and the growth table and plot show the run.
func TestRunPreload(t *testing.T) {
	if testing.Short() {
		t.Skip("preloads a store and loads it for a second")
	}
	// A fifth of the requests scan a preloaded code: at the default 5%, a
	// loaded machine's one-second run of some sixty requests drew none
	// about one time in twenty.
	rep := mustRun(t, bench.Config{Preload: 10_000, FixedPoints: true, Duration: time.Second, Conns: 4, Members: 20,
		NoCeiling: true, NoFloor: true, NoLanding: true, PreloadedScans: 0.2})
	p := rep.Preload
	if p == nil || p.Codes != 10_000 || p.Members != 1_000 || p.Records < 40_000 || p.StoreBytes == 0 {
		t.Fatalf("preload report %+v", p)
	}
	if p.ReadySeconds <= 0 || p.SeenSeconds < p.ReadySeconds || p.RSSAfterRestart <= 0 || rep.ResidentMemory <= 0 {
		t.Fatalf("restart not measured: %+v, rss %d", p, rep.ResidentMemory)
	}
	if !rep.Audit.Passed || rep.Audit.ServerAudit != "clean" || rep.Audit.Winners == 0 {
		t.Fatalf("audit after the preload: %+v", rep.Audit)
	}
	checkPreloadedRefused(t, rep, "the preloaded store")
	var text, table, plot bytes.Buffer
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "preload: 10,000 redeemed codes") {
		t.Errorf("the report does not tell of the preload:\n%s", text.String())
	}
	if err := bench.WriteGrowth(&table, rep); err != nil || !strings.Contains(table.String(), "10,000") {
		t.Errorf("growth table (%v):\n%s", err, table.String())
	}
	if err := bench.WriteGrowthPlot(&plot, rep); err != nil || strings.Count(plot.String(), "<circle") != 3 || !strings.HasSuffix(plot.String(), "</svg>\n") {
		t.Errorf("growth plot (%v):\n%s", err, plot.String())
	}
}

// TestRunPreloadCampaign preloads under the example campaign: the server's
// own audit over the preloaded store is clean (members, ledgers, coupons
// and the preload campaign's counters agree), and the run's campaign
// scans beside it.
func TestRunPreloadCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("preloads a store and loads it for a second")
	}
	rep := mustRun(t, bench.Config{Preload: 3_000, Duration: time.Second, Conns: 4, Members: 20,
		NoCeiling: true, NoFloor: true, NoLanding: true, PreloadedScans: 0.2}) // as in TestRunPreload
	if p := rep.Preload; p == nil || p.Codes != 3_000 || p.Members != 300 || p.Records < 5*3_000 {
		t.Fatalf("preload report %+v", p)
	}
	if !rep.Audit.Passed || rep.Audit.ServerAudit != "clean" || rep.Audit.Winners == 0 {
		t.Fatalf("audit after the preload: %+v", rep.Audit)
	}
	if answers := rep.Scans.Answers(); answers["preloaded 409 already_redeemed"] == 0 {
		t.Errorf("no preloaded code was scanned and refused: %v", answers)
	}
}

// TestPreloadNeedsTheInProcessServer: a preload fills a store the bench
// opened itself, never a running server's.
func TestPreloadNeedsTheInProcessServer(t *testing.T) {
	_, err := bench.Run(context.Background(), bench.Config{Preload: 10, TargetURL: "http://127.0.0.1:1", Token: "x"})
	if err == nil || !strings.Contains(err.Error(), "in-process") {
		t.Fatalf("--preload with --target: %v", err)
	}
}
