package bench

import (
	"encoding/xml"
	"math"
	"strings"
	"testing"
	"time"
)

// TestLatencyPercentiles records a known distribution through the shards
// and reads it back: 1..10,000 µs once each, across several shards.
func TestLatencyPercentiles(t *testing.T) {
	p := &phase{name: "scans"}
	for range 3 {
		p.shards = append(p.shards, &shard{results: map[resultKey]int64{}})
	}
	for us := 1; us <= 10_000; us++ {
		o := Outcome{Status: 200}
		if us%10 == 0 {
			o = Outcome{Status: 409, Code: "already_redeemed"}
		}
		p.shards[us%3].record(Fresh, o, time.Duration(us)*time.Microsecond)
	}
	p.shards[0].record(Forged, Outcome{Status: 400, Code: "invalid_code"}, 20*time.Millisecond+123*time.Nanosecond)
	p.shards[1].record(Fresh, Outcome{Code: "timeout"}, 3*time.Second)
	ph := p.summarize(2 * time.Second)

	if ph.Requests != 10_002 || math.Abs(ph.Rate-5001) > 1e-9 {
		t.Fatalf("requests %d at %g/s, want 10002 at 5001/s", ph.Requests, ph.Rate)
	}
	if len(ph.Kinds) != 2 || ph.Kinds[0].Kind != Fresh || ph.Kinds[1].Kind != Forged {
		t.Fatalf("kinds %+v, want fresh then forged", ph.Kinds)
	}
	fresh := ph.Kinds[0].Latency
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"p50", fresh.P50, 5.0},
		{"p90", fresh.P90, 9.0},
		{"p99", fresh.P99, 9.9},
		{"p99.9", fresh.P999, 9.99},
		{"mean", fresh.Mean, 5.0005 + 3000.0/10_001},
	} {
		// Three significant digits: within 0.1%, plus one microsecond.
		if math.Abs(c.got-c.want) > c.want*0.001+0.001 {
			t.Errorf("fresh %s = %g ms, want %g", c.name, c.got, c.want)
		}
	}
	if fresh.Max != 3000 {
		t.Errorf("fresh max = %g ms, want exactly 3000", fresh.Max)
	}
	if got := ph.Kinds[1].Latency.Max; got != 20.000123 {
		t.Errorf("forged max = %g ms, want the exact 20.000123", got)
	}
	if ph.Latency.Max != 3000 || ph.Latency.Count != 10_002 {
		t.Errorf("overall %+v", ph.Latency)
	}

	want := []Result{{200, "", 9000}, {409, "already_redeemed", 1000}, {0, "timeout", 1}, {400, "invalid_code", 1}}
	if len(ph.Results) != len(want) {
		t.Fatalf("results %v, want %v", ph.Results, want)
	}
	for i := range want {
		if ph.Results[i] != want[i] {
			t.Errorf("result %d = %v, want %v", i, ph.Results[i], want[i])
		}
	}

	r := &Report{Target: "test", Conns: 3, Duration: 2, Scans: ph, Audit: AuditReport{Passed: true}, Mix: DefaultMix, Contenders: 4}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"409 already_redeemed: 1,000", "no answer (timeout): 1", "audit: PASSED", "p99.9"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, b.String())
		}
	}
}

func TestLatencyClamped(t *testing.T) {
	s := &shard{results: map[resultKey]int64{}}
	s.record(Health, Outcome{Status: 200}, 0)
	s.record(Health, Outcome{Status: 200}, 2000*time.Second)
	l := summarizeLatency(s.hist[Health], s.max[Health])
	if l.Count != 2 || l.Max != 2_000_000 || l.P50 > 0.002 {
		t.Fatalf("%+v: want 2 values, an exact max of 2,000,000 ms and p50 near 1 µs", l)
	}
}

func TestParseMetrics(t *testing.T) {
	const text = `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
# HELP yima_commit_group_size Decisions that shared one commit and one fsync.
# TYPE yima_commit_group_size histogram
yima_commit_group_size_bucket{le="1"} 3
yima_commit_group_size_bucket{le="2"} 5
yima_commit_group_size_bucket{le="+Inf"} 10
yima_commit_group_size_sum 42
yima_commit_group_size_count 10
# TYPE yima_scans_total counter
yima_scans_total{result="redeemed"} 40
`
	st, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if st.CPUSeconds != 12.5 || st.GroupSum != 42 || st.GroupCount != 10 {
		t.Fatalf("%+v", st)
	}
	st, err = parseMetrics(strings.NewReader("other_metric 1\n"))
	if err != nil || !math.IsNaN(st.CPUSeconds) || !math.IsNaN(st.GroupCount) {
		t.Fatalf("missing series: %+v, %v; want NaN and no error", st, err)
	}
	u := usage(Stats{CPUSeconds: 1, GroupSum: 10, GroupCount: 5}, Stats{CPUSeconds: 3, GroupSum: 110, GroupCount: 15}, nan, &Phase{Requests: 1000, Elapsed: 2})
	if !u.CPUKnown || u.CPUSeconds != 2 || u.CPUPerRequest != 2000 || u.Commits != 10 || u.MeanGroupSize != 10 || u.CommitsPerSecond != 5 {
		t.Fatalf("%+v", u)
	}
}

func TestResponseParsing(t *testing.T) {
	if got := errorCode([]byte(`{"error":{"code":"already_redeemed","message":"x"}}`)); got != "already_redeemed" {
		t.Errorf("errorCode = %q", got)
	}
	if got := errorCode([]byte(`not json`)); got != "" {
		t.Errorf("errorCode of junk = %q", got)
	}
	if got := jsonInt([]byte(`{"result":"redeemed","points":25,"balance":50}`), `"points":`); got != 25 {
		t.Errorf("points = %d", got)
	}
}

// TestTimeline records requests into known seconds of a phase and reads
// them back second by second; a last partial second folds into the one
// before.
func TestTimeline(t *testing.T) {
	p := &phase{name: "scans"}
	start := time.Now().Add(-2500 * time.Millisecond)
	for range 2 {
		p.shards = append(p.shards, &shard{results: map[resultKey]int64{}, start: start})
	}
	// Pretend the requests ended at chosen moments by moving each shard's
	// start instead of waiting.
	at := func(s *shard, since time.Duration, o Outcome, lat time.Duration) {
		s.start = time.Now().Add(-since)
		s.record(Fresh, o, lat)
	}
	for i := range 100 {
		at(p.shards[i%2], 200*time.Millisecond, Outcome{Status: 200}, time.Millisecond)
	}
	for i := range 50 {
		at(p.shards[i%2], 1200*time.Millisecond, Outcome{Status: 200}, 10*time.Millisecond)
	}
	at(p.shards[0], 1300*time.Millisecond, Outcome{Code: "timeout"}, 20*time.Millisecond)
	for i := range 10 {
		at(p.shards[i%2], 2200*time.Millisecond, Outcome{Status: 200}, time.Millisecond)
	}
	tl := p.timeline(2500 * time.Millisecond)
	if len(tl) != 2 {
		t.Fatalf("timeline %+v, want 2 seconds (the half second folded in)", tl)
	}
	if tl[0].Requests != 100 || tl[0].Rate != 100 || tl[0].P99 < 0.99 || tl[0].P99 > 1.01 || tl[0].Failed != 0 {
		t.Errorf("second 1: %+v", tl[0])
	}
	if tl[1].Requests != 61 || math.Abs(tl[1].Rate-61/1.5) > 1e-9 || tl[1].At != 2.5 || tl[1].Failed != 1 {
		t.Errorf("seconds 2 and 3: %+v", tl[1])
	}

	var b strings.Builder
	r := &Report{Target: "in-process yima on 127.0.0.1:1 (x)", Conns: 4, Loop: "closed", Scans: Phase{Timeline: tl, Rate: 64}}
	if err := WritePlot(&b, r, &Report{Target: "Redis 7 (y) behind a front", Scans: Phase{Timeline: tl}}); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("not XML: %v\n%s", err, svg)
	}
	for _, want := range []string{"<polyline", "in-process yima", "Redis 7", "p99 latency", `stroke="red"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("the plot lacks %q", want)
		}
	}
}
