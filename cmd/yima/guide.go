package main

import (
	"bytes"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

type guideAddOptions struct {
	g reward.Guide
}

func (o *guideAddOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.g.ID, "id", "", "guide id (required)")
	fs.StringVar(&o.g.Store, "store", "", "store the guide works in (required)")
	fs.StringVar(&o.g.Name, "name", "", "display name")
	fs.StringVar(&o.g.Member, "member", "", "the guide's own member id, so they earn no commission on their own scans")
}

type guideQROptions struct {
	format string
	file   qrFile
}

func (o *guideQROptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.format, "format", "png", "png or svg")
	o.file.addFlags(fs, "output file (default: GUIDE.png or GUIDE.svg)")
}

func newGuideCommand(g *globalOptions) *cobra.Command {
	return remoteGroup(&cobra.Command{Use: "guide", Short: "Add store guides (导购), draw their personal QR, show and settle their commissions"}, g,
		run(&cobra.Command{Use: "add --id G --store S", Short: "Create a guide and print its id and token as JSON", Args: cobra.NoArgs}, guideAddFunc),
		run(&cobra.Command{Use: "qr GUIDE", Short: "Write the guide's personal QR code, which opens BASE/G/GUIDE (the binding page)", Args: cobra.ExactArgs(1)}, guideQRFunc),
		run(&cobra.Command{
			Use: "show GUIDE", Short: "Show a guide's bound members and commission ledger, a page of each",
			Long: `show prints the guide with a page of bound members (in id order) and of commission
entries (newest first). When a list goes on, next_members or next_ledger in the
output is what --members-after or --ledger-before takes for the next page.`,
			Args: cobra.ExactArgs(1),
		}, guideShowFunc),
		run(&cobra.Command{
			Use: "leave GUIDE [--to SUCCESSOR]", Short: "Record that a guide left: end their tokens and hand their members to a successor",
			Long: `leave marks the guide as gone: their tokens are revoked, and from now on they bind no one,
verify no gift and earn no commission. Every member bound to them moves to --to, who earns
on those members' later scans and gifts; without --to the members are unbound, and the next
guide whose QR they scan binds them. Ledgers and past commissions stay as they are.
If it stops midway, run it again with the same --to to move the rest.`,
			Args: cobra.ExactArgs(1),
		}, guideLeaveFunc),
		run(&cobra.Command{
			Use: "settle --period YYYY-MM [--out DIR]", Short: "Close a month of guides' commissions and write a payroll file per store",
			Long: `settle closes a month that has ended in the brand's time zone: each guide's commission
of the month (the entries not yet settled and dated before its end) becomes that guide's
settled line, and DIR/payroll-YYYY-MM-STORE.csv is written for each store, with the columns
guide, name, store, store_name, store_code, period, commission: the store by its id, its name
and the brand's code for it (UTF-8 with a byte order mark, which Excel opens).
It prints the settlement as JSON. Settling a month again changes nothing and writes the same
files; a void of a settled month's sale is settled with the next month. A month that has not
ended, or one before the last month settled, is refused.`,
			Args: cobra.NoArgs,
		}, guideSettleFunc),
	)
}

func guideAddFunc(cmd *cobra.Command, r *remoteOptions, o *guideAddOptions, _ []string) error {
	if o.g.ID == "" || o.g.Store == "" {
		return usagef("--id and --store are required")
	}
	return printResult(cmd, r, func(a scan.Admin) (map[string]string, error) {
		tok, err := a.AddGuide(o.g)
		return map[string]string{"id": o.g.ID, "token": tok, "token_id": reward.TokenID(tok)}, err
	})
}

// guideQRFunc draws the QR of guide id, who must exist, with the base URL
// printing uses.
func guideQRFunc(cmd *cobra.Command, r *remoteOptions, o *guideQROptions, args []string) error {
	id := args[0]
	if o.format != "png" && o.format != "svg" {
		return usagef("--format %q: use png or svg", o.format)
	}
	return r.with(func(a scan.Admin) error {
		if _, err := a.Guide(id, reward.GuidePage{Limit: 1}); err != nil {
			return err
		}
		base, err := o.file.baseURL.resolve(cmd, a)
		if err != nil {
			return err
		}
		var img bytes.Buffer
		if err := a.WriteGuideQR(&img, id, o.format, base); err != nil {
			return err
		}
		return o.file.write(cmd, id+"."+o.format, img.Bytes(), "")
	})
}

type guideShowOptions struct{ page reward.GuidePage }

func (o *guideShowOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.page.Limit, "limit", 50, "members and entries per page, 1-200")
	fs.StringVar(&o.page.MembersAfter, "members-after", "", "next_members of the previous page")
	fs.StringVar(&o.page.LedgerBefore, "ledger-before", "", "next_ledger of the previous page")
}

func guideShowFunc(cmd *cobra.Command, r *remoteOptions, o *guideShowOptions, args []string) error {
	return printResult(cmd, r, func(a scan.Admin) (*reward.GuideView, error) { return a.Guide(args[0], o.page) })
}

type guideLeaveOptions struct{ successor string }

func (o *guideLeaveOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.successor, "to", "", "the guide who takes over the members (none: they are unbound)")
}

func guideLeaveFunc(cmd *cobra.Command, r *remoteOptions, o *guideLeaveOptions, args []string) error {
	return printResult(cmd, r, func(a scan.Admin) (*reward.GuideLeaving, error) { return a.GuideLeaves(args[0], o.successor) })
}
