package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/bench"
)

type benchOptions struct {
	cfg                         bench.Config
	duplicate, contested, forge float64
	jsonOut                     string
	cpuProfile                  string
	quiet                       bool
}

func (o *benchOptions) AddFlags(fs *pflag.FlagSet) {
	c := &o.cfg
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
	fs.IntVar(&c.Members, "members", 1000, "members the scans are spread over (the audit reads each one's ledger)")
	fs.Int64Var(&c.Points, "points", 10, "points a scan of the run's batch earns")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "bound on one request, including the wait for a free connection")
	fs.BoolVar(&c.NoCeiling, "no-ceiling", false, "skip the /healthz ceiling run")
	fs.IntVar(&c.AuditCodes, "audit-codes", 200_000, "look up at most this many redeemed codes in the audit (a random sample past it)")
	fs.Uint64Var(&c.Seed, "seed", 0, "seed of the workload's draws (0: random; the report shows it)")
	fs.StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the scan phase to this file (in-process: server and load generator)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no progress line on stderr")
}

func newBenchCommand(_ *globalOptions) *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure scans per second, latency and exactly-once under load",
		Long: "bench starts a yima server in-process on a fresh temporary data directory (or\n" +
			"measures --target), mints codes for the run, runs the same load against\n" +
			"/healthz as a ceiling, then scans: fresh codes, duplicates, contested codes\n" +
			"and forgeries. It prints throughput, latency percentiles, answers by status,\n" +
			"server CPU and commit group sizes, and audits the run: every code at most one\n" +
			"winner, every 200 redeemed on the server, every member's points as promised.\n" +
			"A failed audit exits non-zero.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func (o *benchOptions) run(cmd *cobra.Command) error {
	c := o.cfg
	c.Mix = []bench.Share{{Kind: bench.Duplicate, Fraction: o.duplicate}, {Kind: bench.Contested, Fraction: o.contested}, {Kind: bench.Forged, Fraction: o.forge}}
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
	rep, err := bench.Run(ctx, c)
	if rep == nil {
		return err
	}
	if werr := rep.WriteText(cmd.OutOrStdout()); werr != nil && err == nil {
		err = werr
	}
	if o.jsonOut != "" {
		raw, jerr := json.MarshalIndent(rep, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(o.jsonOut, append(raw, '\n'), 0o644)
		}
		if jerr != nil {
			return errors.Join(err, fmt.Errorf("writing %s: %w", o.jsonOut, jerr))
		}
	}
	return err
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
