package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

type flagsOptions struct {
	q   reward.FlagQuery
	out tableOptions
}

func (o *flagsOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.q.Kind, "kind", "", "diverted or many_scanners (default both)")
	fs.StringVar(&o.q.From, "from", "", "first day, YYYYMMDD (days of the brand's time zone)")
	fs.StringVar(&o.q.To, "to", "", "last day, YYYYMMDD")
	fs.StringVar(&o.q.After, "after", "", "the cursor a previous page ended with")
	fs.IntVar(&o.q.Limit, "limit", 50, "flags per page, 1-200")
	o.out.AddFlags(fs)
}

func newFlagsCommand(g *globalOptions) *cobra.Command {
	return remoteCommand(g, run(&cobra.Command{
		Use: "flags [--kind diverted|many_scanners] [--from DAY] [--to DAY] [--json]", Short: "Scans to review: goods sold outside their region, codes scanned by many people",
		Long: `flags lists, oldest first, the scans yima put up for review:
  diverted       a redemption outside its batch's intended sales region (防窜货), with where
                 it was scanned and where it was meant to be sold;
  many_scanners  a code that a third different person scanned: a copied code, a leaked code
                 file, a recycled cap. One person retrying never counts twice.
Each code is flagged once per kind, on the day it happened. When the list goes on, the
last line says what --after takes for the next page.`,
		Args: cobra.NoArgs,
	}, flagsFunc))
}

func flagsFunc(cmd *cobra.Command, r *remoteOptions, o *flagsOptions, _ []string) error {
	get := func(a scan.Admin) (*reward.FlagPage, error) {
		page, err := a.Flags(o.q)
		if err == nil {
			page.Flags = orEmpty(page.Flags)
		}
		return page, err
	}
	return printList(cmd, r, o.out, get, func(w io.Writer, page *reward.FlagPage) {
		// The time beside the day, in the zone whose day it is.
		loc, err := time.LoadLocation(page.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		fmt.Fprintf(w, "%-8s %-5s %-13s %-27s %6s %9s  %-16s %s\n", "DAY", "TIME", "KIND", "CODE", "BATCH", "SERIAL", "PRODUCT", "DETAIL")
		for _, f := range page.Flags {
			detail := fmt.Sprintf("%d scanners since %s, the third %s", f.Scanners, f.FirstScan.In(loc).Format("2006-01-02"), f.Member)
			if f.Kind == reward.FlagDiverted {
				detail = fmt.Sprintf("scanned in %s, meant for %s, by %s", f.Region, f.Intended, f.Member)
			}
			fmt.Fprintf(w, "%-8s %-5s %-13s %-27s %6d %9d  %-16s %s\n", f.Day, f.At.In(loc).Format("15:04"), f.Kind, f.Code, f.Batch, f.Serial, f.Product, detail)
		}
		printNext(w, page.Next)
	})
}
