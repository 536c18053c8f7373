package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

type statsOptions struct {
	by, from, to string
	daily        bool
	out          tableOptions
}

func (o *statsOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.by, "by", "product", fmt.Sprintf("dimension: one of %v", reward.Dimensions))
	fs.StringVar(&o.from, "from", "", "first day, YYYYMMDD (days of the brand's time zone, yima brand set --time-zone)")
	fs.StringVar(&o.to, "to", "", "last day, YYYYMMDD")
	fs.BoolVar(&o.daily, "daily", false, "one line per day")
	o.out.AddFlags(fs)
}

func newStatsCommand(g *globalOptions) *cobra.Command {
	return remoteCommand(g, run(&cobra.Command{
		Use:   "stats [--by product|batch|region|guide|campaign|source|store] [--from DAY] [--to DAY] [--daily] [--json]",
		Short: "Redemptions, points, gifts, new members and commissions by product, batch, region, guide, campaign, source or store",
		Long: "stats sums, for each value of one dimension, over the days --from..--to of the brand's time zone:\n" +
			"  REDEEMED    redemptions             POINTS   points they paid\n" +
			"  COUPONS     gifts they issued       VERIFIED gifts verified at the counter (核销)\n" +
			"  NEW         new members: the member's first redeemed scan (their first touch)\n" +
			"  COMMISSION  guides' commission, per scan and per verified gift\n" +
			"  DIVERTED    redemptions outside the batch's intended region (防窜货)\n" +
			"--by source counts the channel a scan named (" + reward.NoValue + ": none); --by store the store of the\n" +
			"member's guide, else of the scan's guide (" + reward.NoValue + ": no store's guide), and a verified gift\n" +
			"at the verifying guide's store.",
		Example: "  yima stats --by store --from 20261101 --to 20261130\n  yima stats --by source --daily --json",
		Args:    cobra.NoArgs,
	}, statsFunc))
}

func statsFunc(cmd *cobra.Command, r *remoteOptions, o *statsOptions, _ []string) error {
	if !slices.Contains(reward.Dimensions, o.by) {
		return usagef("--by %q: use one of %s", o.by, strings.Join(reward.Dimensions, ", "))
	}
	get := func(a scan.Admin) ([]reward.Stat, error) { return a.Stats(o.by, o.from, o.to, o.daily) }
	return printList(cmd, r, o.out, get, func(w io.Writer, st []reward.Stat) {
		fmt.Fprintf(w, "%-24s %-8s %10s %10s %8s %8s %8s %10s %8s\n", strings.ToUpper(o.by), "DAY", "REDEEMED", "POINTS", "COUPONS", "VERIFIED", "NEW", "COMMISSION", "DIVERTED")
		for _, s := range st {
			day := s.Day
			if day == "" {
				day = "-"
			}
			fmt.Fprintf(w, "%-24s %-8s %10d %10d %8d %8d %8d %10d %8d\n", s.Value, day, s.Redeemed, s.Points, s.Coupons, s.Verified, s.NewMembers, s.Commission, s.Diverted)
		}
	})
}
