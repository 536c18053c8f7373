package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/codegen/printing"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

type rangeOptions struct {
	from, to uint32
	region   string // activations only
}

func (o *rangeOptions) AddFlags(fs *pflag.FlagSet) {
	fs.Uint32Var(&o.from, "from", 0, "first serial of the range (default: the whole batch)")
	fs.Uint32Var(&o.to, "to", 0, "last serial of the range, inclusive")
}

// batch parses arg, the batch whose serials o names, and checks the range.
func (o *rangeOptions) batch(arg string) (uint32, error) {
	id, err := parseID(arg)
	if err != nil {
		return 0, err
	}
	return id, o.check()
}

func (o *rangeOptions) check() error {
	if (o.from == 0) != (o.to == 0) {
		return usagef("give both --from and --to, or neither for the whole batch")
	}
	if o.from > o.to {
		return usagef("--from %d is after --to %d", o.from, o.to)
	}
	return nil
}

func parseID(s string) (uint32, error) {
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil || id == 0 {
		return 0, usagef("batch id %q is not a positive number (see yima batch list)", s)
	}
	return uint32(id), nil
}

func newBatchCommand(g *globalOptions) *cobra.Command {
	return remoteGroup(&cobra.Command{Use: "batch", Short: "List batches, show one, activate or revoke serial ranges"}, g,
		run(&cobra.Command{Use: "list [--json]", Short: "List batches", Args: cobra.NoArgs}, batchListFunc),
		runArgs(&cobra.Command{Use: "show ID", Short: "Show one batch as JSON", Args: cobra.ExactArgs(1)}, batchShowFunc),
		run(&cobra.Command{Use: "codes ID [--from S --to E] [--format csv|txt] [--out FILE]", Short: "Write a batch's codes again (they are computed, never stored)", Args: cobra.ExactArgs(1)}, batchCodesFunc),
		run(&cobra.Command{
			Use: "labels ID --out FILE.pdf [--from S --to E] [--columns C --rows R]", Short: "Write a PDF of A4 label sheets: each code's symbol with the code under it",
			Long: `labels lays out one label per code on A4 pages, the symbol drawn as vector
modules and the code printed under it for typing when a camera fails; each page
names the product, the batch and its serials. At most 20,000 labels a document:
print large batches range by range with --from and --to.`,
			Args: cobra.ExactArgs(1),
		}, batchLabelsFunc),
		run(&cobra.Command{Use: "release ID [--points N] [--campaign C]", Short: "Release a factory's batch for payout (its codes pay nothing until then)", Args: cobra.ExactArgs(1)}, batchReleaseFunc),
		run(&cobra.Command{Use: "activate ID [--from S --to E] [--region R]", Short: "Make serials redeemable (a pallet shipped)", Args: cobra.ExactArgs(1)}, batchActivateFunc),
		run(&cobra.Command{Use: "revoke ID [--from S --to E]", Short: "Freeze serials for good (a leaked range)", Args: cobra.ExactArgs(1)}, batchRevokeFunc),
	)
}

func batchListFunc(cmd *cobra.Command, r *remoteOptions, out *tableOptions, _ []string) error {
	return printListIn(cmd, r, *out, scan.Admin.ListBatches, func(w io.Writer, loc *time.Location, bs []scan.BatchView) {
		fmt.Fprintf(w, "%-8s %-20s %12s %12s %12s  %s\n", "ID", "PRODUCT", "COUNT", "ACTIVE", "REVOKED", zoned("CREATED", loc))
		for _, b := range bs {
			fmt.Fprintf(w, "%-8d %-20s %12d %12d %12d  %s\n", b.ID, b.Product, b.Count, b.Active, b.Revoked, b.Created.In(loc).Format("2006-01-02 15:04"))
		}
	})
}

func batchShowFunc(cmd *cobra.Command, r *remoteOptions, args []string) error {
	id, err := parseID(args[0])
	if err != nil {
		return err
	}
	return printResult(cmd, r, func(a scan.Admin) (*scan.BatchView, error) { return a.Batch(id) })
}

// activateOptions are activate's: a range, and where its shipment is
// meant to be sold.
type activateOptions struct{ rangeOptions }

func (o *activateOptions) AddFlags(fs *pflag.FlagSet) {
	o.rangeOptions.AddFlags(fs)
	fs.StringVar(&o.region, "region", "", "where this shipment is meant to be sold, overriding the batch's (scans elsewhere are flagged diverted)")
}

func batchActivateFunc(cmd *cobra.Command, r *remoteOptions, o *activateOptions, args []string) error {
	return setRange(cmd, r, &o.rangeOptions, reward.Active, args[0])
}

func batchRevokeFunc(cmd *cobra.Command, r *remoteOptions, o *rangeOptions, args []string) error {
	return setRange(cmd, r, o, reward.Revoked, args[0])
}

// setRange sets the state of the serials o names in batch arg.
func setRange(cmd *cobra.Command, r *remoteOptions, o *rangeOptions, state reward.RangeState, arg string) error {
	id, err := o.batch(arg)
	if err != nil {
		return err
	}
	rg := reward.Range{From: o.from, To: o.to, State: state, Region: o.region}
	return printResult(cmd, r, func(a scan.Admin) (*scan.BatchView, error) { return a.SetRange(id, rg) })
}

type batchCodesOptions struct {
	rangeOptions
	format, out string
	baseURL     baseURLFlag
}

func (o *batchCodesOptions) AddFlags(fs *pflag.FlagSet) {
	o.rangeOptions.AddFlags(fs)
	fs.StringVar(&o.format, "format", "csv", "csv (serial,code,url, and pin for a batch claimed with PINs), txt (one URL per line) or pins (serial,pin)")
	fs.StringVarP(&o.out, "out", "o", "", "output file (default: stdout)")
	o.baseURL.AddFlags(fs)
}

func batchCodesFunc(cmd *cobra.Command, r *remoteOptions, o *batchCodesOptions, args []string) error {
	id, err := o.batch(args[0])
	if err != nil {
		return err
	}
	if o.format != "csv" && o.format != "txt" && o.format != "pins" {
		return usagef("--format %q: use csv or txt (or pins: serial,pin lines of a batch claimed with PINs)", o.format)
	}
	return writePrinted(cmd, r, o.out, &o.baseURL, func(a scan.Admin, w io.Writer, base string) error {
		return a.WriteCodes(w, id, o.from, o.to, o.format, base)
	})
}

// writePrinted writes what write prints with the base URL printing uses
// into the file out (stdout when empty), whole or not at all, then warns
// about the URL if it needs to.
func writePrinted(cmd *cobra.Command, r *remoteOptions, out string, baseURL *baseURLFlag, write func(a scan.Admin, w io.Writer, base string) error) error {
	dst, err := newOutput(out, cmd.OutOrStdout())
	if err != nil {
		return err
	}
	defer dst.abort()
	return r.with(func(a scan.Admin) error {
		base, err := baseURL.resolve(cmd, a)
		if err != nil {
			return err
		}
		if err := write(a, dst.w, base); err != nil {
			return err
		}
		if err := dst.commit(); err != nil {
			return err
		}
		baseURL.warn(cmd)
		return nil
	})
}

type batchLabelsOptions struct {
	rangeOptions
	out, symbology string
	baseURL        baseURLFlag
	columns, rows  int
	fonts          []string
}

func (o *batchLabelsOptions) AddFlags(fs *pflag.FlagSet) {
	o.rangeOptions.AddFlags(fs)
	fs.StringVarP(&o.out, "out", "o", "", "PDF file to write (required)")
	o.baseURL.AddFlags(fs)
	fs.StringVar(&o.symbology, "symbology", "qr", "qr or datamatrix")
	fs.IntVar(&o.columns, "columns", 4, "labels across an A4 page, 1-10")
	fs.IntVar(&o.rows, "rows", 10, "labels down an A4 page, 1-20")
	fs.StringSliceVar(&o.fonts, "label-font", nil, fmt.Sprintf("TrueType (.ttf) font for text other than plain ASCII, each character in the first font that has it (repeatable; default %s)", strings.Join(printing.DefaultLabelFonts, ", ")))
}

func batchLabelsFunc(cmd *cobra.Command, r *remoteOptions, o *batchLabelsOptions, args []string) error {
	id, err := o.batch(args[0])
	if err != nil {
		return err
	}
	if o.out == "" {
		return usagef("--out FILE.pdf is required (a PDF is no use on a terminal)")
	}
	if o.symbology != "qr" && o.symbology != "datamatrix" {
		return usagef("--symbology %q: use qr or datamatrix", o.symbology)
	}
	if o.fonts != nil && r.server != "" {
		return usagef("--label-font is for printing on the data directory; a server draws with its own (yima serve --label-font)")
	}
	return writePrinted(cmd, r, o.out, &o.baseURL, func(a scan.Admin, w io.Writer, base string) error {
		return a.WriteLabels(w, id, printing.LabelSheetOptions{From: o.from, To: o.to, Columns: o.columns, Rows: o.rows,
			Symbology: printing.Symbology(o.symbology), BaseURL: base, Fonts: o.fonts})
	})
}

type batchReleaseOptions struct {
	points   int64
	campaign string
}

func (o *batchReleaseOptions) AddFlags(fs *pflag.FlagSet) {
	fs.Int64Var(&o.points, "points", reward.DefaultBatchPoints, "points a scan pays when no campaign covers the product (default: keep the batch's)")
	fs.StringVar(&o.campaign, "campaign", "", "the campaign the batch's scans use")
}

func batchReleaseFunc(cmd *cobra.Command, r *remoteOptions, o *batchReleaseOptions, args []string) error {
	id, err := parseID(args[0])
	if err != nil {
		return err
	}
	rel := reward.Release{Campaign: o.campaign}
	if cmd.Flags().Changed("points") {
		rel.Points = &o.points
	}
	return printResult(cmd, r, func(a scan.Admin) (*scan.BatchView, error) { return a.ReleaseBatch(id, rel) })
}
