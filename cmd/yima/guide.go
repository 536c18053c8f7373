package main

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/codegen"
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
	format  string
	out     string
	baseURL baseURLFlag
}

func (o *guideQROptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.format, "format", "png", "png or svg")
	fs.StringVarP(&o.out, "out", "o", "", "output file (default: GUIDE.png or GUIDE.svg)")
	o.baseURL.AddFlags(fs)
}

func newGuideCommand(g *globalOptions) *cobra.Command {
	return remoteGroup(&cobra.Command{Use: "guide", Short: "Add store guides (导购), draw their personal QR, show and settle their commissions"}, g, newGuideAddCommand, newGuideQRCommand, newGuideShowCommand, newGuideLeaveCommand, newGuideSettleCommand)
}

func newGuideAddCommand(g *globalOptions, r *remoteOptions) *cobra.Command {
	o := &guideAddOptions{}
	return leaf(&cobra.Command{
		Use: "add --id G --store S", Short: "Create a guide and print its id and token as JSON",
		Args: cobra.NoArgs,
	}, o, func(cmd *cobra.Command, _ []string) error { return guideAddFunc(cmd, g, r, o) })
}

func guideAddFunc(cmd *cobra.Command, g *globalOptions, r *remoteOptions, o *guideAddOptions) error {
	if o.g.ID == "" || o.g.Store == "" {
		return usagef("--id and --store are required")
	}
	return printResult(cmd, g, r, func(a scan.Admin) (map[string]string, error) {
		tok, err := a.AddGuide(o.g)
		return map[string]string{"id": o.g.ID, "token": tok, "token_id": reward.TokenID(tok)}, err
	})
}

func newGuideQRCommand(g *globalOptions, r *remoteOptions) *cobra.Command {
	o := &guideQROptions{}
	return leaf(&cobra.Command{
		Use: "qr GUIDE", Short: "Write the guide's personal QR code, which opens BASE/G/GUIDE (the binding page)",
		Args: cobra.ExactArgs(1),
	}, o, func(cmd *cobra.Command, args []string) error { return guideQRFunc(cmd, g, r, o, args[0]) })
}

// guideQRFunc draws the QR of guide id, who must exist, with the base URL
// printing uses.
func guideQRFunc(cmd *cobra.Command, g *globalOptions, r *remoteOptions, o *guideQROptions, id string) error {
	if o.format != "png" && o.format != "svg" {
		return usagef("--format %q: use png or svg", o.format)
	}
	return r.with(g, func(a scan.Admin) error {
		if _, err := a.Guide(id, reward.GuidePage{Limit: 1}); err != nil {
			return err
		}
		base, err := o.baseURL.resolve(cmd, a)
		if err != nil {
			return err
		}
		var img bytes.Buffer
		if err := a.WriteGuideQR(&img, id, o.format, base); err != nil {
			return err
		}
		out := o.out
		if out == "" {
			out = id + "." + o.format
		}
		if err := codegen.WriteFileAtomic(out, img.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
		o.baseURL.warn(cmd)
		return nil
	})
}

type guideShowOptions struct{ page reward.GuidePage }

func (o *guideShowOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.page.Limit, "limit", 50, "members and entries per page, 1-200")
	fs.StringVar(&o.page.MembersAfter, "members-after", "", "next_members of the previous page")
	fs.StringVar(&o.page.LedgerBefore, "ledger-before", "", "next_ledger of the previous page")
}

func newGuideShowCommand(g *globalOptions, r *remoteOptions) *cobra.Command {
	o := &guideShowOptions{}
	return leaf(&cobra.Command{
		Use: "show GUIDE", Short: "Show a guide's bound members and commission ledger, a page of each",
		Long: "show prints the guide with a page of bound members (in id order) and of commission\n" +
			"entries (newest first). When a list goes on, next_members or next_ledger in the\n" +
			"output is what --members-after or --ledger-before takes for the next page.",
		Args: cobra.ExactArgs(1),
	}, o, func(cmd *cobra.Command, args []string) error { return guideShowFunc(cmd, g, r, o, args[0]) })
}

func guideShowFunc(cmd *cobra.Command, g *globalOptions, r *remoteOptions, o *guideShowOptions, id string) error {
	return printResult(cmd, g, r, func(a scan.Admin) (*reward.GuideView, error) { return a.Guide(id, o.page) })
}

type guideLeaveOptions struct{ successor string }

func (o *guideLeaveOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.successor, "to", "", "the guide who takes over the members (none: they are unbound)")
}

func newGuideLeaveCommand(g *globalOptions, r *remoteOptions) *cobra.Command {
	o := &guideLeaveOptions{}
	return leaf(&cobra.Command{
		Use: "leave GUIDE [--to SUCCESSOR]", Short: "Record that a guide left: end their tokens and hand their members to a successor",
		Long: "leave marks the guide as gone: their tokens are revoked, and from now on they bind no one,\n" +
			"verify no gift and earn no commission. Every member bound to them moves to --to, who earns\n" +
			"on those members' later scans and gifts; without --to the members are unbound, and the next\n" +
			"guide whose QR they scan binds them. Ledgers and past commissions stay as they are.\n" +
			"If it stops midway, run it again with the same --to to move the rest.",
		Args: cobra.ExactArgs(1),
	}, o, func(cmd *cobra.Command, args []string) error { return guideLeaveFunc(cmd, g, r, o, args[0]) })
}

func guideLeaveFunc(cmd *cobra.Command, g *globalOptions, r *remoteOptions, o *guideLeaveOptions, id string) error {
	return printResult(cmd, g, r, func(a scan.Admin) (*reward.GuideLeaving, error) { return a.GuideLeaves(id, o.successor) })
}
