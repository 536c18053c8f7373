package main

import (
	"fmt"
	"io"

	"github.com/yima-dev/yima/scan"

	"github.com/spf13/cobra"
)

func newAuditCommand(g *globalOptions) *cobra.Command {
	r := &remoteOptions{}
	var out tableOptions
	var fromEvents bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Recompute every balance from the ledger and check the money rules",
		Long: "audit checks that no code has two redemptions, every redemption has its ledger\n" +
			"entries and every payout entry its redemption, balances equal their ledgers and\n" +
			"are never negative, budgets and stock are not overspent, and every coupon was\n" +
			"issued once and verified at most once. It exits 1 and lists the first violations\n" +
			"when any rule is broken.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fromEvents {
				return r.with(g, func(a scan.Admin) error { return replayAudit(cmd, a, out.json) })
			}
			return auditFunc(cmd, g, r, out)
		},
	}
	r.AddFlags(cmd.Flags())
	out.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&fromEvents, "from-events", false, "replay the event feed from its first event and check it rebuilds every balance, coupon and redemption the records hold")
	return cmd
}

// auditFunc runs the audit and prints its report; violations exit 1.
func auditFunc(cmd *cobra.Command, g *globalOptions, r *remoteOptions, out tableOptions) error {
	return r.with(g, func(a scan.Admin) error {
		rep, err := a.Audit()
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		if out.json {
			if rep.Violations == nil {
				rep.Violations = []string{}
			}
			if err := printJSON(w, rep); err != nil {
				return err
			}
			if len(rep.Violations) > 0 {
				return exitError{1}
			}
			return nil
		}
		fmt.Fprintf(w, "audited %d redemptions, %d members, %d guides, %d ledger entries, %d coupons, %d campaigns\n",
			rep.Redemptions, rep.Members, rep.Guides, rep.Entries, rep.Coupons, rep.Campaigns)
		if !printViolations(w, "audit", "clean", rep.Violations) {
			return nil
		}
		return exitError{1}
	})
}

// printViolations prints an audit's verdict after label: the line clean
// when there are no violations, or their number and the first twenty. It
// says whether there were any.
func printViolations(w io.Writer, label, clean string, violations []string) bool {
	if len(violations) == 0 {
		fmt.Fprintf(w, "%s: %s\n", label, clean)
		return false
	}
	fmt.Fprintf(w, "%s: %d VIOLATIONS\n", label, len(violations))
	for i, v := range violations {
		if i == 20 {
			fmt.Fprintf(w, "  ... and %d more\n", len(violations)-i)
			break
		}
		fmt.Fprintln(w, "  -", v)
	}
	return true
}
