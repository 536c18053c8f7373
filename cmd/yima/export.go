package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

type exportOptions struct {
	format, since, out string
	bom                bool
}

func (o *exportOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.format, "format", "", "ndjson (one JSON object a line) or csv (required)")
	fs.StringVar(&o.since, "since", "", "only records created or changed at or after this date (2026-11-01, in the brand's time zone) or RFC 3339 time")
	fs.BoolVar(&o.bom, "bom", false, "start a CSV with a UTF-8 byte order mark, so that Excel reads its Chinese text right")
	fs.StringVarP(&o.out, "out", "o", "", "file to write, whole or not at all (default: stdout)")
}

func newExportCommand(g *globalOptions) *cobra.Command {
	return remoteCommand(g, run(&cobra.Command{
		Use:   "export members|ledger|redemptions|coupons --format ndjson|csv [--since T] [--bom] [--out FILE]",
		Short: "Write every member, ledger entry, redemption or coupon, as one consistent snapshot",
		Long: `export writes every record of one kind, read from one snapshot of the data while the
server goes on serving: members (balances, guide), ledger (every points, growth and
commission entry), redemptions (each code's payout) or coupons (with their state).
With --since, only the records created or changed since then. On a terminal a
progress bar shows on stderr; the last line on stderr names how many records were
written and the event of the feed they include (follow the feed from there with
yima events tail --after SEQ). With --out the file appears only when complete.`,
		Args: cobra.ExactArgs(1),
	}, exportFunc))
}

func exportFunc(cmd *cobra.Command, r *remoteOptions, o *exportOptions, args []string) error {
	kind := args[0]
	if !slices.Contains(reward.ExportKinds, kind) {
		return usagef("unknown export %q; export one of %s", kind, strings.Join(reward.ExportKinds, ", "))
	}
	switch o.format {
	case reward.FormatNDJSON, reward.FormatCSV:
	case "":
		return usagef("--format is required: ndjson (one JSON object a line) or csv")
	default:
		return usagef("--format %q: use ndjson or csv", o.format)
	}
	if o.bom && o.format != reward.FormatCSV {
		return usagef("--bom is for CSV files opened in Excel; drop it, or use --format csv")
	}
	q := reward.ExportQuery{Kind: kind, Format: o.format, Since: o.since, BOM: o.bom}
	// The zone only matters to a date; the engine reads since again in
	// the brand's zone, so UTC here only catches a malformed value early.
	if _, err := reward.CheckExportQuery(q, time.UTC); err != nil {
		return usageError{err}
	}
	dst, err := newOutput(o.out, cmd.OutOrStdout())
	if err != nil {
		return err
	}
	defer dst.abort()
	stderr := cmd.ErrOrStderr()
	return r.with(func(a scan.Admin) error {
		var bar *progressbar.ProgressBar
		var start scan.ExportStart
		n, err := a.Export(dst.w, q, func(st scan.ExportStart) {
			start = st
			bar = progress(stderr, st.Records, "exporting "+kind, "records", 10_000)
		}, func(done int64) {
			if bar != nil {
				bar.Set64(done)
			}
		})
		if bar != nil {
			bar.Finish()
			bar.Exit()
		}
		if err != nil {
			if o.out == "" {
				return fmt.Errorf("%w (what went to stdout is incomplete: discard it)", err)
			}
			return err
		}
		if err := dst.commit(); err != nil {
			return err
		}
		noun := kind
		if kind == reward.ExportLedger {
			noun = "ledger entries"
		}
		fmt.Fprintf(stderr, "exported %d %s as of event %d\n", n, noun, start.Seq)
		return nil
	})
}
