package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

func newCampaignCommand(g *globalOptions) *cobra.Command {
	return remoteGroup(&cobra.Command{
		Use:   "campaign",
		Short: "Apply, list and show reward campaigns",
		Long: `A campaign is a JSON document (see docs/rewards.md). Applying it again makes a new
version that governs the scans after it.`,
	}, g,
		runArgs(&cobra.Command{Use: "apply FILE", Short: "Create or update a campaign from a JSON file (- for stdin)", Args: cobra.ExactArgs(1)}, applyDocument("campaign", scan.Admin.ApplyCampaign)),
		run(&cobra.Command{Use: "list [--json]", Short: "List campaigns with their status, budget and stock left", Args: cobra.NoArgs}, campaignListFunc),
		runResult(&cobra.Command{Use: "show ID", Short: "Show a campaign and its counters as JSON", Args: cobra.ExactArgs(1)},
			func(a scan.Admin, args []string) (*reward.CampaignView, error) { return a.Campaign(args[0]) }),
	)
}

func campaignListFunc(cmd *cobra.Command, r *remoteOptions, out *tableOptions, _ []string) error {
	return printList(cmd, r, *out, scan.Admin.Campaigns, func(w io.Writer, vs []*reward.CampaignView) {
		fmt.Fprintf(w, "%-20s %-4s %-10s %12s %12s %10s %10s\n", "ID", "VER", "STATUS", "POINTS PAID", "POINTS LEFT", "COUPONS", "LEFT")
		for _, v := range vs {
			fmt.Fprintf(w, "%-20s %-4d %-10s %12d %12s %10d %10s\n", v.ID, v.Version, v.Status,
				v.Counters.PointsPaid, optional(v.PointsLeft), v.Counters.CouponsIssued, optional(v.CouponsLeft))
		}
	})
}

func optional(p *int64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}
