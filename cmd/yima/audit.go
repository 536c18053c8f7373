package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/scan"
)

type auditOptions struct {
	out        tableOptions
	fromEvents bool
}

func (o *auditOptions) AddFlags(fs *pflag.FlagSet) {
	o.out.AddFlags(fs)
	fs.BoolVar(&o.fromEvents, "from-events", false, "replay the event feed from its first event and check it rebuilds every balance, coupon and redemption the records hold")
}

func newAuditCommand(g *globalOptions) *cobra.Command {
	return remoteCommand(g, run(&cobra.Command{
		Use:   "audit",
		Short: "Recompute every balance from the ledger and check the money rules",
		Long: `audit checks that no code has two redemptions, every redemption has its ledger
entries and every payout entry its redemption, balances equal their ledgers and
are never negative, budgets and stock are not overspent, and every coupon was
issued once and verified at most once. It exits 1 and lists the first violations
when any rule is broken.`,
		Args: cobra.NoArgs,
	}, auditFunc))
}

// auditFunc runs the audit, or with --from-events replays the feed, and
// prints its report; violations exit 1.
func auditFunc(cmd *cobra.Command, r *remoteOptions, o *auditOptions, _ []string) error {
	return r.with(func(a scan.Admin) error {
		if o.fromEvents {
			return replayAudit(cmd, a, o.out.json)
		}
		rep, err := a.Audit()
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		if o.out.json {
			rep.Violations = orEmpty(rep.Violations)
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
