package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// A Baseline is "what users build instead" of yima, for Compare: another
// Target that takes the same load and is audited the same way. Package
// bench/baseline has them (Redis, PostgreSQL).
type Baseline struct {
	Name string
	// Start starts the baseline for a run of cfg, whose defaults are filled
	// in. It returns an error wrapping ErrBaselineUnavailable when the
	// baseline's server is not installed, and Compare skips it.
	Start func(cfg Config) (Target, error)
}

// ErrBaselineUnavailable is returned when a baseline cannot run on this
// machine (its server is not installed); the message says how to get it.
var ErrBaselineUnavailable = errors.New("bench: baseline unavailable")

// Comparison is yima and its baselines under the same load, one after the
// other.
type Comparison struct {
	// Runs are yima's report first, then each baseline's that ran.
	Runs []*Report `json:"runs"`
	// Skipped says which baselines could not run and why.
	Skipped []string `json:"skipped,omitempty"`
}

// Compare runs cfg against yima (in-process, or cfg.TargetURL), then the
// same load — connections, length, mix, campaign, seed — against each
// baseline that can run here, each with its own audit. The ceiling
// (/healthz) runs before yima's run only. It returns the comparison with
// ErrAuditFailed (wrapped) when any audit failed; a baseline that is not
// installed is skipped and named in Skipped.
func Compare(ctx context.Context, cfg Config, baselines []Baseline) (*Comparison, error) {
	if cfg.Target != nil {
		return nil, errors.New("bench: Compare starts its own targets; give a TargetURL or nothing")
	}
	cfg.ensureDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Seed == 0 {
		cfg.Seed = newSeed()
	}
	cmp := &Comparison{}
	var failed []string
	rep, err := Run(ctx, cfg)
	if rep == nil {
		return nil, err
	}
	cmp.Runs = append(cmp.Runs, rep)
	if err != nil {
		failed = append(failed, "yima")
	}
	for _, bl := range baselines {
		name := bl.Name
		if ctx.Err() != nil {
			break
		}
		status(cfg.Progress, "starting the %s baseline", name)
		t, err := bl.Start(cfg)
		if errors.Is(err, ErrBaselineUnavailable) {
			cmp.Skipped = append(cmp.Skipped, err.Error())
			continue
		}
		if err != nil {
			return cmp, fmt.Errorf("bench: the %s baseline: %w", name, err)
		}
		bcfg := cfg
		bcfg.Target, bcfg.TargetURL, bcfg.NoCeiling, bcfg.NoFloor, bcfg.NoLanding, bcfg.CPUProfile = t, "", true, true, true, nil
		bcfg.Store, bcfg.Nodes = "", 1 // yima's database, not the baseline's
		rep, err := Run(ctx, bcfg)
		if rep == nil {
			return cmp, fmt.Errorf("bench: the %s baseline: %w", name, err)
		}
		cmp.Runs = append(cmp.Runs, rep)
		if err != nil {
			failed = append(failed, name)
		}
	}
	if len(failed) > 0 {
		return cmp, fmt.Errorf("%w: %s", ErrAuditFailed, strings.Join(failed, ", "))
	}
	return cmp, nil
}

// redeemedRate is a phase's 200 scans per second: codes redeemed.
func redeemedRate(ph *Phase) float64 {
	var n int64
	for _, k := range ph.Kinds {
		if !k.Kind.scans() {
			continue
		}
		for _, r := range k.Results {
			if r.Status == 200 {
				n += r.Count
			}
		}
	}
	if ph.Elapsed <= 0 {
		return 0
	}
	return float64(n) / ph.Elapsed
}

// WriteText prints each run's report, then the runs side by side with
// yima's rate over each baseline's.
func (c *Comparison) WriteText(w io.Writer) error {
	var b strings.Builder
	for i, r := range c.Runs {
		if i > 0 {
			b.WriteString("\n" + strings.Repeat("=", 72) + "\n\n")
		}
		if err := r.WriteText(&b); err != nil {
			return err
		}
	}
	if len(c.Runs) == 0 {
		_, err := io.WriteString(w, b.String())
		return err
	}
	first := c.Runs[0]
	b.WriteString("\n" + strings.Repeat("=", 72) + "\n")
	amount := fmt.Sprintf("%gs", first.Duration)
	if first.Requests > 0 {
		amount = thousands(first.Requests) + " requests"
	}
	work := "campaign workload"
	if first.Campaign == nil {
		work = "fixed points, no campaign"
	}
	fmt.Fprintf(&b, "yima beside what users build instead: the same load on each (%d conns, %s loop, %s, %s, seed %d)\n\n",
		first.Conns, first.Loop, amount, work, first.Seed)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\treq/s\tredeemed/s\tyima ÷ it\tmean\tp50\tp90\tp99\tp99.9\tmax\taudit\t")
	base := first.Scans.Rate
	for _, r := range c.Runs {
		ratio := "—"
		if r != first && r.Scans.Rate > 0 {
			ratio = fmt.Sprintf("%.2f×", base/r.Scans.Rate)
		}
		audit := "passed"
		if !r.Audit.Passed {
			audit = "FAILED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s%s\t\n", shortName(r.Target), thousands(int64(math.Round(r.Scans.Rate))),
			thousands(int64(math.Round(redeemedRate(&r.Scans)))), ratio, latencyCells(r.Scans.Latency), audit)
	}
	tw.Flush()
	b.WriteString("req/s counts every request of the mix; redeemed/s the scans answered 200; latencies in ms.\n")
	b.WriteString("The runs take turns, one after another. The in-process yima shares its process with the load\n" +
		"generator; so does a baseline's HTTP front, and its store runs as a separate process.\n")
	for _, s := range c.Skipped {
		fmt.Fprintf(&b, "skipped: %s\n", s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shortName is a target's name up to its first parenthesis or " behind".
func shortName(s string) string {
	for _, sep := range []string{" (", " behind", " on "} {
		if i := strings.Index(s, sep); i > 0 {
			s = s[:i]
		}
	}
	return s
}

// Failed reports whether any run's audit failed.
func (c *Comparison) Failed() bool {
	for _, r := range c.Runs {
		if r.Failed() {
			return true
		}
	}
	return false
}
