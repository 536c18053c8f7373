package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

type statsOptions struct {
	remoteOptions
	by, from, to string
	daily        bool
	out          tableOptions
}

func (o *statsOptions) AddFlags(fs *pflag.FlagSet) {
	o.remoteOptions.AddFlags(fs)
	fs.StringVar(&o.by, "by", "product", fmt.Sprintf("dimension: one of %v", reward.Dimensions))
	fs.StringVar(&o.from, "from", "", "first day, YYYYMMDD (days of the brand's time zone, yima brand set --time-zone)")
	fs.StringVar(&o.to, "to", "", "last day, YYYYMMDD")
	fs.BoolVar(&o.daily, "daily", false, "one line per day")
	o.out.AddFlags(fs)
}

func newStatsCommand(g *globalOptions) *cobra.Command {
	o := &statsOptions{}
	return leaf(&cobra.Command{
		Use: "stats [--by product|batch|region|guide|campaign] [--json]", Short: "Redemptions, points, coupons and commissions by product, batch, region, guide or campaign",
		Args: cobra.NoArgs,
	}, o, func(cmd *cobra.Command, _ []string) error { return statsFunc(cmd, g, o) })
}

func statsFunc(cmd *cobra.Command, g *globalOptions, o *statsOptions) error {
	get := func(a scan.Admin) ([]reward.Stat, error) { return a.Stats(o.by, o.from, o.to, o.daily) }
	return printList(cmd, g, &o.remoteOptions, o.out, get, func(w io.Writer, st []reward.Stat) {
		fmt.Fprintf(w, "%-24s %-8s %10s %10s %8s %10s %8s\n", o.by, "DAY", "REDEEMED", "POINTS", "COUPONS", "COMMISSION", "DIVERTED")
		for _, s := range st {
			day := s.Day
			if day == "" {
				day = "-"
			}
			fmt.Fprintf(w, "%-24s %-8s %10d %10d %8d %10d %8d\n", s.Value, day, s.Redeemed, s.Points, s.Coupons, s.Commission, s.Diverted)
		}
	})
}
