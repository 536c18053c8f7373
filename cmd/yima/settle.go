package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

type guideSettleOptions struct {
	period string
	out    string
}

func (o *guideSettleOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.period, "period", "", "the month to settle, YYYY-MM in the brand's time zone (required)")
	fs.StringVar(&o.out, "out", ".", "directory the payroll files are written in, one per store")
}

func newGuideSettleCommand(g *globalOptions, r *remoteOptions) *cobra.Command {
	o := &guideSettleOptions{}
	return leaf(&cobra.Command{
		Use: "settle --period YYYY-MM [--out DIR]", Short: "Close a month of guides' commissions and write a payroll file per store",
		Long: "settle closes a month that has ended in the brand's time zone: each guide's commission\n" +
			"of the month (the entries not yet settled and dated before its end) becomes that guide's\n" +
			"settled line, and DIR/payroll-YYYY-MM-STORE.csv is written for each store, with the columns\n" +
			"guide, name, store, store_name, store_code, period, commission: the store by its id, its name\n" +
			"and the brand's code for it (UTF-8 with a byte order mark, which Excel opens).\n" +
			"It prints the settlement as JSON. Settling a month again changes nothing and writes the same\n" +
			"files; a void of a settled month's sale is settled with the next month. A month that has not\n" +
			"ended, or one before the last month settled, is refused.",
		Args: cobra.NoArgs,
	}, o, func(cmd *cobra.Command, _ []string) error { return guideSettleFunc(cmd, g, r, o) })
}

func guideSettleFunc(cmd *cobra.Command, g *globalOptions, r *remoteOptions, o *guideSettleOptions) error {
	if o.period == "" {
		return usagef("--period is required, e.g. --period 2026-11")
	}
	if _, _, err := reward.ParsePeriod(o.period, time.UTC); err != nil {
		return usagef("--period %q: write the month as YYYY-MM, e.g. 2026-11", o.period)
	}
	if fi, err := os.Stat(o.out); err != nil || !fi.IsDir() {
		return usagef("--out %q: give a directory that exists", o.out)
	}
	return r.with(g, func(a scan.Admin) error {
		v, err := a.Settle(o.period)
		if err != nil {
			return err
		}
		if err := writePayrolls(cmd, v, o.out); err != nil {
			return err
		}
		return printJSON(cmd.OutOrStdout(), v)
	})
}

// writePayrolls writes one payroll file per store of v into dir. Two
// stores whose names make the same file name (a "/" in one) get numbered
// files rather than one overwriting the other.
func writePayrolls(cmd *cobra.Command, v *reward.SettlementView, dir string) error {
	used := map[string]bool{}
	for _, store := range v.Stores() {
		name := reward.PayrollFile(v.Period, store)
		for i := 2; used[name]; i++ {
			name = reward.PayrollFile(v.Period, fmt.Sprintf("%s-%d", store, i))
		}
		used[name] = true
		var buf bytes.Buffer
		if err := v.WritePayroll(&buf, store); err != nil {
			return err
		}
		path := filepath.Join(dir, name)
		if err := codegen.WriteFileAtomic(path, buf.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", path)
	}
	if len(v.Lines) == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "no guide earned commission to settle in %s; no payroll file written\n", v.Period)
	}
	return nil
}
