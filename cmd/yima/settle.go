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

func guideSettleFunc(cmd *cobra.Command, r *remoteOptions, o *guideSettleOptions, _ []string) error {
	if o.period == "" {
		return usagef("--period is required, e.g. --period 2026-11")
	}
	if _, _, err := reward.ParsePeriod(o.period, time.UTC); err != nil {
		return usagef("--period %q: write the month as YYYY-MM, e.g. 2026-11", o.period)
	}
	if fi, err := os.Stat(o.out); err != nil || !fi.IsDir() {
		return usagef("--out %q: give a directory that exists", o.out)
	}
	return r.with(func(a scan.Admin) error {
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
