package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WritePlot draws the scan phase of each report second by second as an SVG:
// requests per second above, p99 latency below, one line per report (yima
// and its baselines after Compare). Seconds with failures (5xx, no answer)
// are marked with a red tick on the axis.
func WritePlot(w io.Writer, reports ...*Report) error {
	const (
		width, height = 960.0, 600.0
		left, right   = 80.0, 220.0
		top, gap      = 50.0, 60.0
		panelH        = (height - top - gap - 50) / 2
		plotW         = width - left - right
	)
	colors := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"}
	var maxT, maxRate, maxP99 float64
	for _, r := range reports {
		for _, s := range r.Scans.Timeline {
			maxT = math.Max(maxT, s.At)
			maxRate = math.Max(maxRate, s.Rate)
			maxP99 = math.Max(maxP99, s.P99)
		}
	}
	if maxT == 0 {
		maxT = 1
	}
	rateTop, rateStep := niceScale(maxRate)
	p99Top, p99Step := niceScale(maxP99)

	var b strings.Builder
	title := "yima bench"
	if len(reports) > 0 {
		r := reports[0]
		title = fmt.Sprintf("yima bench: %d conns, %s loop, seed %d, %s", r.Conns, r.Loop, r.Seed, r.workload())
	}
	svgHead(&b, width, height, left, title)

	x := func(t float64) float64 { return left + t/maxT*plotW }
	panel := func(y0 float64, label string, yTop, yStep float64, value func(Second) float64) {
		y := func(v float64) float64 { return y0 + panelH - v/yTop*panelH }
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-weight="bold">%s</text>`+"\n", left, y0-8, html.EscapeString(label))
		for v := 0.0; v <= yTop+yStep/2; v += yStep {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), left+plotW, y(v))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y(v)+4, axisLabel(v))
		}
		tStep := niceStep(maxT / 10)
		for t := 0.0; t <= maxT+tStep/2; t += tStep {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999"/>`+"\n", x(t), y0+panelH, x(t), y0+panelH+4)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x(t), y0+panelH+16, strconv.FormatFloat(t, 'f', -1, 64))
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", left, y0, plotW, panelH)
		for i, r := range reports {
			var pts []string
			for sec, s := range r.Scans.Timeline {
				if s.Requests == 0 {
					continue
				}
				mid := (float64(sec) + s.At) / 2
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(mid), y(value(s))))
				if s.Failed > 0 {
					fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="red" stroke-width="2"/>`+"\n", x(mid), y0+panelH-6, x(mid), y0+panelH)
				}
			}
			if len(pts) > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colors[i%len(colors)], strings.Join(pts, " "))
			}
		}
	}
	panel(top+10, "requests per second (1 s buckets)", rateTop, rateStep, func(s Second) float64 { return s.Rate })
	panel(top+10+panelH+gap, "p99 latency, ms (1 s buckets)", p99Top, p99Step, func(s Second) float64 { return s.P99 })
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">seconds into the run</text>`+"\n", left+plotW/2, height-12)

	for i, r := range reports {
		ly := top + 20 + float64(i)*40
		c := colors[i%len(colors)]
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", left+plotW+16, ly, left+plotW+40, ly, c)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", left+plotW+46, ly+4, html.EscapeString(shortName(r.Target)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#555">%s req/s, p99 %s ms</text>`+"\n", left+plotW+46, ly+20,
			thousands(int64(math.Round(r.Scans.Rate))), strconv.FormatFloat(r.Scans.Latency.P99, 'g', 3, 64))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceScale returns an axis top at or above v and a step of 1, 2 or 5
// times a power of ten, about five steps to the top.
func niceScale(v float64) (top, step float64) {
	if v <= 0 {
		return 1, 0.2
	}
	step = niceStep(v / 5)
	return math.Ceil(v/step) * step, step
}

func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// axisLabel prints an axis value briefly: 12k, 1.5, 250.
func axisLabel(v float64) string {
	switch {
	case v >= 10_000:
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// WriteGrowthPlot draws growth runs (yima bench --preload N,...) against
// the number of codes preloaded: scans per second, p99 latency and
// resident memory after the scans, one point per run, as an SVG. A run
// without a preload is N = 0, the empty store.
func WriteGrowthPlot(w io.Writer, reports ...*Report) error {
	const (
		width, height = 960.0, 780.0
		left, right   = 90.0, 40.0
		top, gap      = 50.0, 60.0
		panelH        = (height - top - 2*gap - 50) / 3
		plotW         = width - left - right
	)
	n := func(r *Report) float64 {
		if r.Preload == nil {
			return 0
		}
		return float64(r.Preload.Codes)
	}
	rss := func(r *Report) float64 { return float64(r.ResidentMemory) / (1 << 20) }
	var maxN float64
	for _, r := range reports {
		maxN = math.Max(maxN, n(r))
	}
	nTop, nStep := niceScale(maxN)
	var b strings.Builder
	title := "yima bench --preload: the store's size against scans"
	if len(reports) > 0 {
		r := reports[0]
		title += fmt.Sprintf(" (%d conns, %s loop, %s)", r.Conns, r.Loop, r.workload())
	}
	svgHead(&b, width, height, left, title)
	x := func(v float64) float64 { return left + v/nTop*plotW }
	panel := func(y0 float64, label string, value func(*Report) float64, show func(float64) string) {
		var maxV float64
		for _, r := range reports {
			maxV = math.Max(maxV, value(r))
		}
		yTop, yStep := niceScale(maxV)
		y := func(v float64) float64 { return y0 + panelH - v/yTop*panelH }
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-weight="bold">%s</text>`+"\n", left, y0-8, html.EscapeString(label))
		for v := 0.0; v <= yTop+yStep/2; v += yStep {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(v), left+plotW, y(v))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y(v)+4, axisLabel(v))
		}
		for v := 0.0; v <= nTop+nStep/2; v += nStep {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999"/>`+"\n", x(v), y0+panelH, x(v), y0+panelH+4)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x(v), y0+panelH+16, codesLabel(v))
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", left, y0, plotW, panelH)
		var pts []string
		for _, r := range reports {
			px, py := x(n(r)), y(value(r))
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="#1f77b4"/>`+"\n", px, py)
			anchor, dx := "start", 6.0
			if px > left+plotW-80 {
				anchor, dx = "end", -6
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#555" text-anchor="%s">%s</text>`+"\n", px+dx, py-6, anchor, show(value(r)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="%s"/>`+"\n", strings.Join(pts, " "))
	}
	whole := func(v float64) string { return thousands(int64(math.Round(v))) }
	panel(top+10, "scans per second", func(r *Report) float64 { return r.Scans.Rate }, whole)
	panel(top+10+panelH+gap, "p99 latency of scans, ms", func(r *Report) float64 { return r.Scans.Latency.P99 },
		func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) })
	panel(top+10+2*(panelH+gap), "resident memory after the scans, MiB (server and load generator)", rss, whole)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">redeemed codes preloaded (N)</text>`+"\n", left+plotW/2, height-12)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// codesLabel prints a number of codes briefly: 0, 500k, 10M.
func codesLabel(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// WriteGrowth prints growth runs as one table: per N, the scan rate, p99,
// the restart's times and memory.
func WriteGrowth(w io.Writer, reports ...*Report) error {
	var b strings.Builder
	b.WriteString("growth: the same run on stores preloaded with N redeemed codes\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "N\tload s\tstore MB\tready s\tindex s\tscans/s\tvs empty\tp99 ms\tRSS MB\tlanding/healthz\t")
	var empty float64
	for _, r := range reports {
		if r.Preload == nil {
			empty = r.Scans.Rate
		}
	}
	for _, r := range reports {
		p := r.Preload
		if p == nil {
			p = &PreloadReport{}
		}
		vs := "-"
		if empty > 0 {
			vs = fmt.Sprintf("%.0f%%", 100*r.Scans.Rate/empty)
		}
		land := "-"
		if r.LandingRatio > 0 {
			land = fmt.Sprintf("%.0f%%", 100*r.LandingRatio)
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%.2f\t%.2f\t%s\t%s\t%.1f\t%s\t%s\t\n", thousands(int64(p.Codes)), p.LoadSeconds, thousands(p.StoreBytes>>20),
			p.ReadySeconds, p.SeenSeconds, thousands(int64(r.Scans.Rate)), vs, r.Scans.Latency.P99, thousands(r.ResidentMemory>>20), land)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

// svgHead opens a plot's SVG document on a white page, with its title in
// bold at the top left.
func svgHead(b *strings.Builder, width, height, left float64, title string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	fmt.Fprintf(b, `<text x="%.0f" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
}

// workload names the run's workload, as a plot's title says it.
func (r *Report) workload() string {
	if r.Campaign == nil {
		return "fixed points"
	}
	return "campaign workload"
}
