package bench_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/bench"
)

// TestRunPreload runs on a store preloaded with 10,000 redeemed codes: the
// preload is reported, the restarted server serves, its memory is read,
// the scans are audited (the server's own audit over the preloaded store
// included), and the growth table and plot show the run.
func TestRunPreload(t *testing.T) {
	if testing.Short() {
		t.Skip("preloads a store and loads it for a second")
	}
	rep := mustRun(t, bench.Config{Preload: 10_000, FixedPoints: true, Duration: time.Second, Conns: 4, Members: 20,
		NoCeiling: true, NoFloor: true, NoLanding: true})
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
	// Scans of preloaded codes were refused as already redeemed, and only.
	answers := rep.Scans.Answers()
	if answers["preloaded 409 already_redeemed"] == 0 {
		t.Errorf("no preloaded code was scanned and refused: %v", answers)
	}
	for k := range answers {
		if strings.HasPrefix(k, "preloaded ") && k != "preloaded 409 already_redeemed" {
			t.Errorf("a preloaded code was answered %s: %v", k, answers)
		}
	}
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
		NoCeiling: true, NoFloor: true, NoLanding: true})
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
