package bench

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/yima-dev/yima/reward"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Report is what a run measured and what its audit found. It marshals to
// the JSON that --json writes; WriteText prints it for people.
type Report struct {
	Target     string    `json:"target"`
	Started    time.Time `json:"started"`
	Loop       string    `json:"loop"` // "closed" or "open"
	Conns      int       `json:"conns"`
	Duration   float64   `json:"duration_s,omitempty"`
	Requests   int64     `json:"requests,omitempty"`
	Rate       float64   `json:"offered_rate,omitempty"`
	Mix        []Share   `json:"mix"`
	Contenders int       `json:"contenders"`
	Members    int       `json:"members"`
	Seed       uint64    `json:"seed"`
	// Campaign is the campaign the run applied (nil: fixed points);
	// Guides how many guides it created and Bound how many members it
	// bound to them.
	Campaign *reward.Campaign `json:"campaign,omitempty"`
	Guides   int              `json:"guides,omitempty"`
	Bound    int              `json:"bound_members,omitempty"`
	// Codes is how many fresh codes the run minted; CodesUsed how many it
	// scanned.
	Codes     int   `json:"codes_minted"`
	CodesUsed int64 `json:"codes_used"`

	// Preload is the store's filling before the run and the restart
	// after it (--preload).
	Preload *PreloadReport `json:"preload,omitempty"`
	// Ceiling is the same load against /healthz, run just before Scans.
	Ceiling *Phase `json:"ceiling,omitempty"`
	Scans   Phase  `json:"scans"`
	// CeilingRatio is the scan rate over the ceiling's rate.
	CeilingRatio float64 `json:"ceiling_ratio,omitempty"`
	// Landing is the same load against GET /C/{code} of genuine codes
	// (the consumer's landing page, Chinese, no cookie), run after the
	// ceiling; LandingRatio is its rate over the ceiling's.
	Landing      *Phase  `json:"landing,omitempty"`
	LandingRatio float64 `json:"landing_ratio,omitempty"`
	// Floor is the same load against the in-process target's floor
	// handler (one synced key per request through the same store, no
	// rule), run after the ceiling; FloorRatio is its rate over the
	// ceiling's.
	Floor      *Phase  `json:"floor,omitempty"`
	FloorRatio float64 `json:"floor_ratio,omitempty"`
	// FloorCPUPerRequest is the process's CPU microseconds per floor
	// request, the load generator's included (the floor is in-process).
	FloorCPUPerRequest float64 `json:"floor_cpu_us_per_request,omitempty"`
	// FloorRecords is how many records each floor request committed.
	FloorRecords int `json:"floor_records,omitempty"`

	// Webhook is the slow webhook endpoint of a run with WebhookSlow.
	Webhook *WebhookRun `json:"webhook,omitempty"`

	Server ServerUsage `json:"server"`
	// ResidentMemory is the in-process server's resident memory (VmRSS)
	// after the scans, in bytes, the load generator's included.
	ResidentMemory int64       `json:"rss_after_scans,omitempty"`
	Audit          AuditReport `json:"audit"`
	Notes          []string    `json:"notes,omitempty"`
}

// Phase is one measured load.
type Phase struct {
	Name     string  `json:"name"`
	Elapsed  float64 `json:"elapsed_s"`
	Requests int64   `json:"requests"`
	// Rate is answered (or failed) requests per second of Elapsed.
	Rate    float64 `json:"rate"`
	Latency Latency `json:"latency"`
	// Results counts answers by status and error code, all kinds together.
	Results []Result    `json:"results"`
	Kinds   []KindStats `json:"kinds"`
	// Timeline is the phase second by second: what --plot draws.
	Timeline []Second `json:"timeline,omitempty"`
}

// Second is one second of a phase: the requests that ended in it.
type Second struct {
	// At is the second's end, in seconds from the phase's start (the
	// last may be a partial second).
	At       float64 `json:"t_s"`
	Requests int64   `json:"requests"`
	Rate     float64 `json:"rate"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	// Failed counts 5xx answers and requests with no answer.
	Failed int64 `json:"failed,omitempty"`
}

// Latency summarises a latency distribution, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

// Result is a count of one kind of answer: an HTTP status and the error
// code of its body, or status 0 and a transport failure's class.
type Result struct {
	Status int    `json:"status"`
	Code   string `json:"code,omitempty"`
	Count  int64  `json:"count"`
}

func (r Result) String() string {
	switch {
	case r.Status == 0:
		return "no answer (" + r.Code + ")"
	case r.Code == "":
		return strconv.Itoa(r.Status)
	}
	return strconv.Itoa(r.Status) + " " + r.Code
}

// Answers counts the phase's answers by kind and result, keyed
// "kind result" ("fresh 200", "duplicate 409 already_redeemed").
func (p *Phase) Answers() map[string]int64 {
	out := map[string]int64{}
	for _, k := range p.Kinds {
		for _, r := range k.Results {
			out[k.Kind.String()+" "+r.String()] += r.Count
		}
	}
	return out
}

// KindStats is one kind of request's share of a phase.
type KindStats struct {
	Kind     Kind     `json:"kind"`
	Requests int64    `json:"requests"`
	Latency  Latency  `json:"latency"`
	Results  []Result `json:"results"`
}

// ServerUsage is what the server spent on the scan phase. Figures the
// target cannot know are omitted (zero, with the Known flag false).
type ServerUsage struct {
	CPUKnown   bool    `json:"cpu_known"`
	CPUSeconds float64 `json:"cpu_s,omitempty"`
	// CPUIncludesClient is true for the in-process server, whose process
	// is also the load generator's.
	CPUIncludesClient bool `json:"cpu_includes_client,omitempty"`
	// CPUPerRequest is CPU microseconds per request of the phase.
	CPUPerRequest float64 `json:"cpu_us_per_request,omitempty"`
	// ClientCPUSeconds is the load generator's CPU, when it runs apart
	// from the server.
	ClientCPUSeconds float64 `json:"client_cpu_s,omitempty"`

	GroupsKnown bool `json:"groups_known"`
	// Commits is how many commits (fsyncs shared by a group) the phase
	// made; MeanGroupSize how many decisions shared one on average.
	Commits          int64   `json:"commits,omitempty"`
	CommitsPerSecond float64 `json:"commits_per_s,omitempty"`
	MeanGroupSize    float64 `json:"mean_group_size,omitempty"`
}

func usage(before, after Stats, clientCPU float64, ph *Phase) ServerUsage {
	var u ServerUsage
	if d := after.CPUSeconds - before.CPUSeconds; !math.IsNaN(d) {
		u.CPUKnown, u.CPUSeconds, u.CPUIncludesClient = true, d, after.CPUIncludesClient
		if ph.Requests > 0 {
			u.CPUPerRequest = d / float64(ph.Requests) * 1e6
		}
	}
	if !after.CPUIncludesClient && !math.IsNaN(clientCPU) {
		u.ClientCPUSeconds = clientCPU
	}
	if n := after.GroupCount - before.GroupCount; !math.IsNaN(n) {
		u.GroupsKnown, u.Commits = true, int64(n)
		if ph.Elapsed > 0 {
			u.CommitsPerSecond = n / ph.Elapsed
		}
		if n > 0 {
			u.MeanGroupSize = (after.GroupSum - before.GroupSum) / n
		}
	}
	return u
}

// summarize merges the shards into the phase's figures.
func (p *phase) summarize(elapsed time.Duration) Phase {
	ph := Phase{Name: p.name, Elapsed: elapsed.Seconds()}
	all := newHist()
	var allMax time.Duration
	byKind := map[Kind]*KindStats{}
	results := map[resultKey]int64{}
	for k := Kind(1); int(k) < numKinds; k++ {
		h := newHist()
		var max time.Duration
		for _, s := range p.shards {
			if s.hist[k] != nil {
				h.Merge(s.hist[k])
				max = maxDur(max, s.max[k])
			}
		}
		if h.TotalCount() == 0 {
			continue
		}
		all.Merge(h)
		allMax = maxDur(allMax, max)
		byKind[k] = &KindStats{Kind: k, Requests: h.TotalCount(), Latency: summarizeLatency(h, max)}
	}
	for _, s := range p.shards {
		for key, n := range s.results {
			results[key] += n
		}
	}
	overall := map[resultKey]int64{}
	for key, n := range results {
		overall[resultKey{0, key.status, key.code}] += n
		byKind[key.kind].Results = append(byKind[key.kind].Results, Result{key.status, key.code, n})
	}
	for key, n := range overall {
		ph.Results = append(ph.Results, Result{key.status, key.code, n})
	}
	sortResults(ph.Results)
	for k := Kind(1); int(k) < numKinds; k++ {
		if ks := byKind[k]; ks != nil {
			sortResults(ks.Results)
			ph.Kinds = append(ph.Kinds, *ks)
		}
	}
	ph.Requests = all.TotalCount()
	ph.Latency = summarizeLatency(all, allMax)
	ph.Timeline = p.timeline(elapsed)
	if ph.Elapsed > 0 {
		ph.Rate = float64(ph.Requests) / ph.Elapsed
	}
	return ph
}

// timeline merges the shards' seconds. A last partial second (the drain
// of the requests in flight at the stop) is folded into the one before, so
// that a sliver of a second does not plot as a spike.
func (p *phase) timeline(elapsed time.Duration) []Second {
	n := 0
	for _, s := range p.shards {
		n = max(n, len(s.timeline))
	}
	hists := make([]*hdrhistogram.Histogram, n)
	failed := make([]int64, n)
	for sec := range n {
		hists[sec] = newTimelineHist()
		for _, s := range p.shards {
			if sec < len(s.timeline) && s.timeline[sec] != nil {
				hists[sec].Merge(s.timeline[sec])
				failed[sec] += s.tlFailed[sec]
			}
		}
	}
	widths := make([]float64, n)
	for sec := range n {
		widths[sec] = math.Max(math.Min(1, elapsed.Seconds()-float64(sec)), 1e-3)
	}
	if n >= 2 && widths[n-1] < 1 {
		hists[n-2].Merge(hists[n-1])
		failed[n-2] += failed[n-1]
		widths[n-2] += widths[n-1]
		n--
	}
	out := make([]Second, 0, n)
	for sec := range n {
		h := hists[sec]
		pt := Second{At: float64(sec) + widths[sec], Requests: h.TotalCount(), Failed: failed[sec]}
		pt.Rate = float64(pt.Requests) / widths[sec]
		if pt.Requests > 0 {
			pt.P50 = float64(h.ValueAtPercentile(50)) / 1000
			pt.P99 = float64(h.ValueAtPercentile(99)) / 1000
		}
		out = append(out, pt)
	}
	return out
}

func maxDur(a, b time.Duration) time.Duration {
	if b > a {
		return b
	}
	return a
}

func sortResults(rs []Result) {
	slices.SortFunc(rs, func(a, b Result) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Status, b.Status), cmp.Compare(a.Code, b.Code))
	})
}

// summarizeLatency reads the percentiles of h (microseconds). max is the
// exact largest latency; the histogram's own is rounded to its precision.
func summarizeLatency(h *hdrhistogram.Histogram, max time.Duration) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	l := Latency{
		Count: h.TotalCount(),
		Mean:  h.Mean() / 1000,
		P50:   ms(h.ValueAtPercentile(50)),
		P90:   ms(h.ValueAtPercentile(90)),
		P99:   ms(h.ValueAtPercentile(99)),
		P999:  ms(h.ValueAtPercentile(99.9)),
		Max:   float64(max) / float64(time.Millisecond),
	}
	if max == 0 {
		l.Max = ms(h.Max())
	}
	// A percentile is its bucket's highest equivalent value, which can lie
	// above the exact max.
	for _, v := range []*float64{&l.P50, &l.P90, &l.P99, &l.P999} {
		*v = math.Min(*v, l.Max)
	}
	return l
}

// Failed reports whether the audit found a violation.
func (r *Report) Failed() bool { return !r.Audit.Passed }

// WriteText prints the report as tables for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	loop := "closed loop"
	if r.Loop == "open" {
		loop = fmt.Sprintf("open loop at %s req/s offered", thousands(int64(r.Rate)))
	}
	amount := fmt.Sprintf("%gs", r.Duration)
	if r.Requests > 0 {
		amount = thousands(r.Requests) + " requests"
	}
	fmt.Fprintf(&b, "yima bench: %s\n", r.Target)
	fmt.Fprintf(&b, "load: %d conns, %s, %s; %d members; seed %d\n", r.Conns, loop, amount, r.Members, r.Seed)
	mix, _ := NewMix(r.Mix, r.Contenders)
	if mix != nil {
		fmt.Fprintf(&b, "mix:  %s\n", mix)
	}
	if c := r.Campaign; c != nil {
		fmt.Fprintf(&b, "campaign %s: points %d–%d, new-member bonus %d, budget %s", c.ID, c.Points.Min, c.Points.Max, c.NewMemberBonus, thousands(c.PointsBudget))
		if c.Coupon != nil {
			fmt.Fprintf(&b, ", coupon %.0f%% of scans (stock %s)", c.Coupon.Probability*100, thousands(c.Coupon.Stock))
		}
		fmt.Fprintf(&b, ", commission %d a scan and %d a coupon", c.GuideCommission.PerScan, c.GuideCommission.PerCoupon)
		for _, t := range c.Tiers {
			fmt.Fprintf(&b, ", tier %s ×%g from growth %d", t.Name, t.Multiplier, t.MinGrowth)
		}
		fmt.Fprintf(&b, "; %d guides, %d members bound\n", r.Guides, r.Bound)
	} else {
		b.WriteString("no campaign: every scan earns the batch's fixed points\n")
	}
	if p := r.Preload; p != nil {
		fmt.Fprintf(&b, "preload: %s redeemed codes (%s members, %s records, %s MB of records, %s MB on disk) bulk-loaded in %.1f s\n",
			thousands(int64(p.Codes)), thousands(int64(p.Members)), thousands(p.Records), thousands(p.Bytes>>20), thousands(p.StoreBytes>>20), p.LoadSeconds)
		switch {
		case p.Reused:
			fmt.Fprintf(&b, "preload reused: the store kept in %s, filled %s by an earlier run\n", p.Kept, p.Filled.Format("2006-01-02 15:04 MST"))
		case p.Kept != "":
			fmt.Fprintf(&b, "preload kept in %s: a later run with the same --preload-dir and size reuses it\n", p.Kept)
		}
		fmt.Fprintf(&b, "restart: listening after %.2f s, /healthz answered after %.2f s, index of scanned codes loaded after %.2f s; resident memory then %s MiB\n",
			p.OpenSeconds, p.ReadySeconds, p.SeenSeconds, thousands(p.RSSAfterRestart>>20))
	}
	b.WriteString("\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase      \trequests\treq/s\tmean\tp50\tp90\tp99\tp99.9\tmax\t")
	phases := []*Phase{}
	if r.Ceiling != nil {
		phases = append(phases, r.Ceiling)
	}
	if r.Landing != nil {
		phases = append(phases, r.Landing)
	}
	if r.Floor != nil {
		phases = append(phases, r.Floor)
	}
	phases = append(phases, &r.Scans)
	for _, ph := range phases {
		fmt.Fprintf(tw, "%-11s\t%s\t%s\t%s\n", ph.Name, thousands(ph.Requests), thousands(int64(math.Round(ph.Rate))), latencyCells(ph.Latency))
	}
	for _, k := range r.Scans.Kinds {
		fmt.Fprintf(tw, "  %-9v\t%s\t\t%s\n", k.Kind, thousands(k.Requests), latencyCells(k.Latency))
	}
	tw.Flush()
	b.WriteString("latencies in ms")
	if r.Loop == "open" {
		b.WriteString(", from each request's scheduled start")
	}
	b.WriteString("\n")
	if r.Ceiling != nil && r.Ceiling.Rate > 0 {
		fmt.Fprintf(&b, "scans / ceiling: %.0f%% (%s of %s req/s)\n", 100*r.CeilingRatio, thousands(int64(r.Scans.Rate)), thousands(int64(r.Ceiling.Rate)))
	}
	if r.LandingRatio > 0 {
		fmt.Fprintf(&b, "landing / ceiling: %.0f%% (GET /C/{code} of genuine codes, Chinese, no cookie; target ≥ 50%%)\n", 100*r.LandingRatio)
	}
	if r.Floor != nil && r.Floor.Rate > 0 {
		if r.FloorRatio > 0 {
			what := "one synced key per request"
			if r.FloorRecords > 1 {
				what = fmt.Sprintf("%d synced records per request (a redemption, its member, ledger entries)", r.FloorRecords)
			}
			fmt.Fprintf(&b, "floor / ceiling: %.0f%% (durability alone: %s through the same store, no rule)\n", 100*r.FloorRatio, what)
		}
		fmt.Fprintf(&b, "scans / floor: %.0f%% (what the rules and records leave of the durable floor)\n", 100*r.Scans.Rate/r.Floor.Rate)
		if r.FloorCPUPerRequest > 0 {
			fmt.Fprintf(&b, "floor cpu: %.1f µs per request (the load generator's included)\n", r.FloorCPUPerRequest)
		}
	}

	if wh := r.Webhook; wh != nil {
		fmt.Fprintf(&b, "webhook: one endpoint for every event, answering each delivery after %gs; it took %s deliveries meanwhile (one at a time, in order)\n", wh.Slow, thousands(wh.Received))
	}

	b.WriteString("\nanswers\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, k := range r.Scans.Kinds {
		cells := make([]string, len(k.Results))
		for i, res := range k.Results {
			cells[i] = fmt.Sprintf("%s: %s", res, thousands(res.Count))
		}
		fmt.Fprintf(tw, "  %v\t%s\n", k.Kind, strings.Join(cells, ", "))
	}
	tw.Flush()

	b.WriteString("\nserver\n")
	u := r.Server
	if u.CPUKnown {
		who := ""
		if u.CPUIncludesClient {
			who = " (the load generator's included: they share the process)"
		}
		fmt.Fprintf(&b, "  cpu: %.2f s in %.2f s = %.2f cores, %.1f µs per request%s\n", u.CPUSeconds, r.Scans.Elapsed, u.CPUSeconds/r.Scans.Elapsed, u.CPUPerRequest, who)
	} else {
		b.WriteString("  cpu: unknown (no process_cpu_seconds_total)\n")
	}
	if u.ClientCPUSeconds > 0 {
		fmt.Fprintf(&b, "  load generator cpu: %.2f s\n", u.ClientCPUSeconds)
	}
	if r.ResidentMemory > 0 {
		fmt.Fprintf(&b, "  resident memory after the scans: %s MiB (the load generator's included)\n", thousands(r.ResidentMemory>>20))
	}
	if u.GroupsKnown {
		fmt.Fprintf(&b, "  commits: %s (%s/s), mean group %.1f decisions per commit\n", thousands(u.Commits), thousands(int64(u.CommitsPerSecond)), u.MeanGroupSize)
	} else {
		b.WriteString("  commits: unknown (no yima_commit_group_size)\n")
	}

	b.WriteString("\n")
	r.Audit.write(&b)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func latencyCells(l Latency) string {
	f := func(v float64) string {
		switch {
		case v >= 100:
			return strconv.FormatFloat(v, 'f', 0, 64)
		case v >= 10:
			return strconv.FormatFloat(v, 'f', 1, 64)
		}
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strings.Join([]string{f(l.Mean), f(l.P50), f(l.P90), f(l.P99), f(l.P999), f(l.Max)}, "\t") + "\t"
}

// thousands formats n with separators: 1,234,567.
func thousands(n int64) string { return numbers.Sprintf("%d", n) }

var numbers = message.NewPrinter(language.English)
