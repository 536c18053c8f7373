package main

import (
	"fmt"
	"strconv"

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
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "List batches, show one, activate or revoke serial ranges",
	}
	r := &remoteOptions{}
	r.AddFlags(cmd.PersistentFlags())
	var listOut tableOptions
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List batches",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.with(g, func(a scan.Admin) error {
				bs, err := a.ListBatches()
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				return listOut.print(w, bs, func() {
					fmt.Fprintf(w, "%-8s %-20s %12s %12s %12s  %s\n", "ID", "PRODUCT", "COUNT", "ACTIVE", "REVOKED", "CREATED")
					for _, b := range bs {
						fmt.Fprintf(w, "%-8d %-20s %12d %12d %12d  %s\n", b.ID, b.Product, b.Count, b.Active, b.Revoked, b.Created.Format("2006-01-02 15:04"))
					}
				})
			})
		},
	}
	listOut.AddFlags(list.Flags())
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one batch as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			return r.with(g, func(a scan.Admin) error {
				b, err := a.Batch(id)
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), b)
			})
		},
	}
	setRange := func(use, short string, state reward.RangeState) *cobra.Command {
		ro := &rangeOptions{}
		c := &cobra.Command{
			Use:   use + " ID [--from S --to E]",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := parseID(args[0])
				if err != nil {
					return err
				}
				if err := ro.check(); err != nil {
					return err
				}
				return r.with(g, func(a scan.Admin) error {
					b, err := a.SetRange(id, reward.Range{From: ro.from, To: ro.to, State: state, Region: ro.region})
					if err != nil {
						return err
					}
					return printJSON(cmd.OutOrStdout(), b)
				})
			},
		}
		ro.AddFlags(c.Flags())
		if state == reward.Active {
			c.Use = use + " ID [--from S --to E] [--region R]"
			c.Flags().StringVar(&ro.region, "region", "", "where this shipment is meant to be sold, overriding the batch's (scans elsewhere are flagged diverted)")
		}
		return c
	}
	co := &rangeOptions{}
	var format, out string
	var baseURL baseURLFlag
	codes := &cobra.Command{
		Use:   "codes ID [--from S --to E] [--format csv|txt] [--out FILE]",
		Short: "Write a batch's codes again (they are computed, never stored)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			if err := co.check(); err != nil {
				return err
			}
			if format != "csv" && format != "txt" {
				return usagef("--format %q: use csv or txt", format)
			}
			dst, err := newOutput(out, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			defer dst.abort()
			return r.with(g, func(a scan.Admin) error {
				base, err := baseURL.resolve(cmd, a)
				if err != nil {
					return err
				}
				if err := a.WriteCodes(dst.w, id, co.from, co.to, format, base); err != nil {
					return err
				}
				if err := dst.commit(); err != nil {
					return err
				}
				baseURL.warn(cmd)
				return nil
			})
		},
	}
	co.AddFlags(codes.Flags())
	codes.Flags().StringVar(&format, "format", "csv", "csv (serial,code,url) or txt (one URL per line)")
	codes.Flags().StringVarP(&out, "out", "o", "", "output file (default: stdout)")
	baseURL.AddFlags(codes.Flags())
	lo := &rangeOptions{}
	var labelOut, symbology string
	var labelBase baseURLFlag
	var columns, rows int
	labels := &cobra.Command{
		Use:   "labels ID --out FILE.pdf [--from S --to E] [--columns C --rows R]",
		Short: "Write a PDF of A4 label sheets: each code's symbol with the code under it",
		Long: "labels lays out one label per code on A4 pages, the symbol drawn as vector\n" +
			"modules and the code printed under it for typing when a camera fails; each page\n" +
			"names the product, the batch and its serials. At most 20,000 labels a document:\n" +
			"print large batches range by range with --from and --to.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			if err := lo.check(); err != nil {
				return err
			}
			if labelOut == "" {
				return usagef("--out FILE.pdf is required (a PDF is no use on a terminal)")
			}
			if symbology != "qr" && symbology != "datamatrix" {
				return usagef("--symbology %q: use qr or datamatrix", symbology)
			}
			dst, err := newOutput(labelOut, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			defer dst.abort()
			return r.with(g, func(a scan.Admin) error {
				base, err := labelBase.resolve(cmd, a)
				if err != nil {
					return err
				}
				opts := printing.LabelSheetOptions{From: lo.from, To: lo.to, Columns: columns, Rows: rows,
					Symbology: printing.Symbology(symbology), BaseURL: base}
				if err := a.WriteLabels(dst.w, id, opts); err != nil {
					return err
				}
				if err := dst.commit(); err != nil {
					return err
				}
				labelBase.warn(cmd)
				return nil
			})
		},
	}
	lo.AddFlags(labels.Flags())
	labels.Flags().StringVarP(&labelOut, "out", "o", "", "PDF file to write (required)")
	labelBase.AddFlags(labels.Flags())
	labels.Flags().StringVar(&symbology, "symbology", "qr", "qr or datamatrix")
	labels.Flags().IntVar(&columns, "columns", 4, "labels across an A4 page, 1-10")
	labels.Flags().IntVar(&rows, "rows", 10, "labels down an A4 page, 1-20")
	var releasePoints int64
	var releaseCampaign string
	release := &cobra.Command{
		Use:   "release ID [--points N] [--campaign C]",
		Short: "Release a factory's batch for payout (its codes pay nothing until then)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			var rel reward.Release
			if cmd.Flags().Changed("points") {
				rel.Points = &releasePoints
			}
			rel.Campaign = releaseCampaign
			return r.with(g, func(a scan.Admin) error {
				b, err := a.ReleaseBatch(id, rel)
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), b)
			})
		},
	}
	release.Flags().Int64Var(&releasePoints, "points", reward.DefaultBatchPoints, "points a scan pays when no campaign covers the product (default: keep the batch's)")
	release.Flags().StringVar(&releaseCampaign, "campaign", "", "the campaign the batch's scans use")
	cmd.AddCommand(list, show, codes, labels, release,
		setRange("activate", "Make serials redeemable (a pallet shipped)", reward.Active),
		setRange("revoke", "Freeze serials for good (a leaked range)", reward.Revoked),
	)
	return cmd
}
