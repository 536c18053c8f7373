package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/bench"
	"github.com/yima-dev/yima/bench/baseline"
	"github.com/yima-dev/yima/codegen"
)

type benchOptions struct {
	cfg                                        bench.Config
	duplicate, contested, forge, verify, spend float64
	campaign, compare                          bool
	baselines                                  []string
	plotOut                                    string
	jsonOut                                    string
	cpuProfile                                 string
	quiet                                      bool
	preload                                    []string
}

func (o *benchOptions) AddFlags(fs *pflag.FlagSet) {
	c := &o.cfg
	fs.IntVar(&c.Nodes, "nodes", 1, "in-process yima nodes sharing the --db database, each its own server on 127.0.0.1; the load goes to each in turn (needs --db)")
	fs.IntVar(&c.Lanes, "lanes", 0, "with --db: groups of decisions each node has in flight on the database at once, as yima serve --lanes (0: the default, 1)")
	fs.StringVar(&c.TargetURL, "target", "", "URL of a running yima server to measure (default: start one in-process on a fresh temporary data directory)")
	fs.StringVar(&c.Token, "token", os.Getenv("YIMA_TOKEN"), "admin token for --target (env YIMA_TOKEN)")
	fs.IntVar(&c.Conns, "conns", 64, "connections; in a closed loop, requests in flight")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "length of the measured run (and of the ceiling run before it)")
	fs.Int64Var(&c.Requests, "requests", 0, "end the run after this many requests instead of --duration")
	fs.Float64Var(&c.Rate, "rate", 0, "open loop: offer this many requests per second on a fixed schedule, latency measured from each scheduled start (0: closed loop)")
	fs.Float64Var(&o.duplicate, "duplicate", 0.05, "fraction of requests that scan a code already redeemed (expect 409)")
	fs.Float64Var(&o.contested, "contested", 0.10, "fraction of requests that race on one fresh code with --contenders members (expect one 200)")
	fs.IntVar(&c.Contenders, "contenders", 4, "members racing on each contested code")
	fs.Float64Var(&o.forge, "forged", 0.02, "fraction of requests with a forged code (expect 400); fresh codes take the rest")
	fs.Float64Var(&o.verify, "verify", 0.05, "fraction of requests where a guide verifies a coupon an earlier scan was issued (expect 200 first, 409 already_used for repeats); needs the campaign")
	fs.Float64Var(&o.spend, "spend", 0.05, "fraction of requests that spend 1-30 of a member's points with a fresh request_id (expect 200 or 409 insufficient_points); 0 with --campaign=false unless given")
	fs.BoolVar(&o.campaign, "campaign", true, "apply a campaign for the run (random points, tiers, bonus, coupons, guide commissions, budget, stock); false: every scan earns --points")
	fs.Int64Var(&c.Budget, "budget", 1_000_000_000_000, "the campaign's points budget; a small one shows budget_exhausted")
	fs.Int64Var(&c.Stock, "stock", 1_000_000_000, "the campaign's coupon stock; a small one shows coupon_stock_exhausted")
	fs.IntVar(&c.Guides, "guides", 4, "guides the run creates, each with a token, who verify the coupons")
	fs.Float64Var(&c.Bound, "bound", 0.5, "fraction of members bound to a guide before the run (negative: none)")
	fs.IntVar(&c.Members, "members", 1000, "members the scans are spread over (the audit reads each one's ledger)")
	fs.Int64Var(&c.Points, "points", 10, "points a scan of the run's batch earns with --campaign=false")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "bound on one request, including the wait for a free connection")
	fs.DurationVar(&c.WebhookSlow, "webhook-slow", 0, "register one webhook endpoint for every event, answering each delivery after this long (e.g. 2s), to show delivery does not slow scans; a --target server needs --webhook-allow-private")
	fs.BoolVar(&c.NoCeiling, "no-ceiling", false, "skip the /healthz ceiling run")
	fs.StringSliceVar(&o.preload, "preload", nil, "growth runs: fill the in-process store first with N redeemed codes (members, ledgers, redemptions, scan records, bulk-loaded, not over HTTP), restart the server and time it, then run; a list (0,1M,10M) runs once per N, and --plot then draws scans/s, p99 and memory against N")
	fs.StringVar(&c.PreloadDir, "preload-dir", "", "with --preload: keep each N's preloaded store under `DIR` (DIR/50M-fixed, DIR/50M-campaign) rather than in a temporary directory, and reuse it in later runs with the same DIR and N instead of filling it again; a store whose fill did not finish, or filled by another build, is refused (remove it to fill again); the empty store's run (N 0) gets a temporary directory under DIR")
	fs.Float64Var(&c.PreloadedScans, "preloaded", 0.05, "with --preload: fraction of requests that scan a preloaded code, redeemed before the run (expect 409 already_redeemed)")
	fs.BoolVar(&c.NoServerAudit, "no-server-audit", false, "skip the server's own audit (GET /v1/audit), which reads the whole store: it takes minutes on stores preloaded with tens of millions of codes")
	fs.BoolVar(&c.NoLanding, "no-landing", false, "skip the landing-page run (GET /C/{code} of genuine codes, Chinese, after the ceiling)")
	fs.BoolVar(&c.NoFloor, "no-floor", false, "skip the durable floor run (in-process only: one synced key per request through the same store, no rule)")
	fs.IntVar(&c.FloorRecords, "floor-records", 1, "records each floor request commits: 1, one key after the last; 2 or more, what a redemption cannot do without (a redemption under a code-shaped key, its member's record, the rest ledger entries), 64 bytes each")
	fs.IntVar(&c.AuditCodes, "audit-codes", 200_000, "look up at most this many redeemed codes in the audit (a random sample past it)")
	fs.Uint64Var(&c.Seed, "seed", 0, "seed of the workload's draws (0: random; the report shows it)")
	fs.BoolVar(&o.compare, "compare", false, "then run the same load against each baseline installed here (Redis with a Lua script, PostgreSQL with a transaction, each behind an HTTP front of yima's shape) and print them side by side; make bench-compare installs them")
	fs.StringSliceVar(&o.baselines, "baselines", baseline.Names, "the baselines --compare runs")
	fs.StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&o.plotOut, "plot", "", "also draw requests per second and p99 latency over time (1 s buckets) to this SVG file, one line per target")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the scan phase to this file (in-process: server and load generator)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no progress line on stderr")
}

func newBenchCommand(g *globalOptions) *cobra.Command {
	return local(g, &cobra.Command{
		Use:   "bench",
		Short: "Measure scans per second, latency and exactly-once under load",
		Long: `bench starts a yima server in-process on a fresh temporary data directory (or
measures --target), applies a campaign for the run, creates guides and binds
members to them, mints codes, runs the same load against /healthz as a
ceiling, then the mix: fresh codes, duplicates, contested codes, forgeries,
coupon verifications by guides and point spends. It prints throughput,
latency percentiles, answers by status, server CPU and commit group sizes,
and audits the run: every code at most one winner, every 200 redeemed on the
server, every member's points and ledger as promised (spends included),
every coupon verified by at most one 200, guides' commissions, the
campaign's counters within budget and stock, and the server's own audit.
A failed audit exits non-zero. See docs/bench.md.`,
		Args: cobra.NoArgs,
	}, benchFunc)
}

func benchFunc(cmd *cobra.Command, g *globalOptions, o *benchOptions, _ []string) error {
	c := o.cfg
	// --db (YIMA_DB): the in-process nodes keep their records in that
	// PostgreSQL database, as yima serve --db does.
	c.Store = g.db
	if g.db != "" {
		k, err := g.kek()
		if err != nil {
			return err
		}
		c.KEK = k
	}
	c.FixedPoints = !o.campaign
	verify, spend := o.verify, o.spend
	if c.FixedPoints {
		// The first benchmark's workload: scans only, unless asked.
		if !cmd.Flags().Changed("verify") {
			verify = 0
		}
		if !cmd.Flags().Changed("spend") {
			spend = 0
		}
	}
	c.Mix = []bench.Share{{Kind: bench.Duplicate, Fraction: o.duplicate}, {Kind: bench.Contested, Fraction: o.contested}, {Kind: bench.Forged, Fraction: o.forge},
		{Kind: bench.Verify, Fraction: verify}, {Kind: bench.Spend, Fraction: spend}}
	if f, ok := cmd.ErrOrStderr().(*os.File); ok && !o.quiet && isTerminal(f) {
		c.Progress = f
	}
	if c.Requests > 0 {
		c.Duration = 0
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		c.CPUProfile = f
	}
	// The first interrupt ends the load and lets the audit run on what was
	// sent; a second one kills the program as usual.
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	var rep interface{ WriteText(io.Writer) error }
	var runs []*bench.Report
	var err error
	sizes, perr := parseSizes(o.preload)
	if perr != nil {
		return usageError{perr}
	}
	if len(sizes) == 0 && c.PreloadDir != "" {
		return usageError{errors.New("--preload-dir keeps the stores of --preload: give the sizes too, such as --preload 0,50M")}
	}
	if len(sizes) > 0 && o.compare {
		return usageError{errors.New("--preload and --compare do not go together: the baselines have no bulk load")}
	}
	if len(sizes) > 0 {
		return growthRuns(ctx, cmd, c, sizes, o)
	}
	if o.compare {
		baselines, lerr := baseline.Lookup(o.baselines)
		if lerr != nil {
			return usageError{lerr}
		}
		var cmp *bench.Comparison
		cmp, err = bench.Compare(ctx, c, baselines)
		if cmp == nil {
			return err
		}
		rep, runs = cmp, cmp.Runs
	} else {
		var r *bench.Report
		r, err = bench.Run(ctx, c)
		if r == nil {
			return err
		}
		rep, runs = r, []*bench.Report{r}
	}
	if o.plotOut != "" {
		if perr := writeOutput(o.plotOut, func(w io.Writer) error { return bench.WritePlot(w, runs...) }); perr != nil {
			err = errors.Join(err, perr)
		}
	}
	if werr := rep.WriteText(cmd.OutOrStdout()); werr != nil && err == nil {
		err = werr
	}
	if o.jsonOut != "" {
		if jerr := writeJSONFile(o.jsonOut, rep); jerr != nil {
			return errors.Join(err, jerr)
		}
	}
	return err
}

// growthRuns runs the bench once per preload size, each on a fresh store
// or on the one --preload-dir keeps for that size, prints each report and the growth table, and draws the growth plot.
func growthRuns(ctx context.Context, cmd *cobra.Command, c bench.Config, sizes []int, o *benchOptions) error {
	var runs []*bench.Report
	var failed error
	// Every run sends the same mix: on the empty store a scan of a
	// preloaded code is a duplicate instead.
	c.Mix = append(c.Mix, bench.Share{Kind: bench.Preloaded, Fraction: c.PreloadedScans})
	for _, n := range sizes {
		if ctx.Err() != nil {
			break
		}
		c.Preload = n
		r, err := bench.Run(ctx, c)
		if r == nil {
			return errors.Join(failed, fmt.Errorf("the run on %d preloaded codes: %w", n, err))
		}
		failed = errors.Join(failed, err)
		runs = append(runs, r)
		if werr := r.WriteText(cmd.OutOrStdout()); werr != nil {
			return werr
		}
		fmt.Fprintln(cmd.OutOrStdout())
	}
	if err := bench.WriteGrowth(cmd.OutOrStdout(), runs...); err != nil {
		return err
	}
	if o.plotOut != "" {
		if err := writeOutput(o.plotOut, func(w io.Writer) error { return bench.WriteGrowthPlot(w, runs...) }); err != nil {
			failed = errors.Join(failed, err)
		}
	}
	if o.jsonOut != "" {
		if err := writeJSONFile(o.jsonOut, runs); err != nil {
			failed = errors.Join(failed, err)
		}
	}
	return failed
}

// writeOutput creates the file path and has write fill it. Its error
// names the file.
func writeOutput(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err == nil {
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeJSONFile writes v as indented JSON into the file path. Its error
// names the file.
func writeJSONFile(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		err = os.WriteFile(path, append(raw, '\n'), 0o644)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// parseSizes reads --preload's sizes: whole numbers, with k or M for
// thousands and millions (1M = 1,000,000).
func parseSizes(list []string) ([]int, error) {
	var out []int
	for _, s := range list {
		t := strings.TrimSpace(s)
		mult := 1
		switch {
		case strings.HasSuffix(t, "k") || strings.HasSuffix(t, "K"):
			mult, t = 1_000, t[:len(t)-1]
		case strings.HasSuffix(t, "M"):
			mult, t = 1_000_000, t[:len(t)-1]
		}
		n, err := strconv.Atoi(strings.ReplaceAll(t, "_", ""))
		if err != nil || n < 0 || n > codegen.MaxSerial/mult {
			return nil, fmt.Errorf("--preload %q: give numbers of codes from 0 to %d, such as 0,1M,10M or 250k", s, codegen.MaxSerial)
		}
		out = append(out, n*mult)
	}
	return out, nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
