package main

import (
	"fmt"
	"os"

	"github.com/yima-dev/yima/scan"

	"github.com/spf13/cobra"
)

func newCampaignCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "campaign",
		Short: "Apply, list and show reward campaigns",
		Long: "A campaign is a JSON document (see docs/rewards.md). Applying it again makes a new\n" +
			"version that governs the scans after it.",
	}
	r := &remoteOptions{}
	r.AddFlags(cmd.PersistentFlags())
	apply := &cobra.Command{
		Use:   "apply FILE",
		Short: "Create or update a campaign from a JSON file (- for stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var doc []byte
			var err error
			if args[0] == "-" {
				doc, err = readAll(cmd.InOrStdin())
			} else {
				doc, err = os.ReadFile(args[0])
			}
			if err != nil {
				return fmt.Errorf("reading the campaign document: %w", err)
			}
			return r.with(g, func(a scan.Admin) error {
				v, err := a.ApplyCampaign(doc)
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), v)
			})
		},
	}
	var listOut tableOptions
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List campaigns with their status, budget and stock left",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.with(g, func(a scan.Admin) error {
				vs, err := a.Campaigns()
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				return listOut.print(w, vs, func() {
					fmt.Fprintf(w, "%-20s %-4s %-10s %12s %12s %10s %10s\n", "ID", "VER", "STATUS", "POINTS PAID", "POINTS LEFT", "COUPONS", "LEFT")
					for _, v := range vs {
						fmt.Fprintf(w, "%-20s %-4d %-10s %12d %12s %10d %10s\n", v.ID, v.Version, v.Status,
							v.Counters.PointsPaid, optional(v.PointsLeft), v.Counters.CouponsIssued, optional(v.CouponsLeft))
					}
				})
			})
		},
	}
	listOut.AddFlags(list.Flags())
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a campaign and its counters as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(g, func(a scan.Admin) error {
				v, err := a.Campaign(args[0])
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), v)
			})
		},
	}
	cmd.AddCommand(apply, list, show)
	return cmd
}

func optional(p *int64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}
