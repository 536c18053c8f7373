package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

func newPointsCommand(g *globalOptions) *cobra.Command {
	return remoteGroup(&cobra.Command{Use: "points", Short: "Members' points: expire what the brand's rule says is due"}, g,
		run(&cobra.Command{
			Use:   "expire [--dry-run]",
			Short: "Expire the points due by the brand's rule (yima brand set --points-expiry), oldest first",
			Long: `expire posts one expiry entry per member whose oldest points are due by the brand's rule
and prints a JSON report: the members, the points and the last month expired. It is
safe to run beside a serving server (with --server) and to run again: each month's
points expire once. Run it daily, e.g. from cron, shortly after midnight.`,
			Example: "  yima points expire --dry-run\n  yima points expire --server http://127.0.0.1:8080",
			Args:    cobra.NoArgs,
		}, pointsExpireFunc),
	)
}

type pointsExpireOptions struct{ dryRun bool }

func (o *pointsExpireOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.dryRun, "dry-run", false, "say what would expire, and change nothing")
}

func pointsExpireFunc(cmd *cobra.Command, r *remoteOptions, o *pointsExpireOptions, _ []string) error {
	return printResult(cmd, r, func(a scan.Admin) (*reward.ExpiryReport, error) { return a.ExpirePoints(o.dryRun) })
}
