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

type printsOptions struct {
	q   reward.PrintQuery
	out tableOptions
}

func (o *printsOptions) AddFlags(fs *pflag.FlagSet) {
	fs.Uint32Var(&o.q.Batch, "batch", 0, "only this batch's prints")
	fs.StringVar(&o.q.After, "after", "", "the cursor a previous page ended with")
	fs.IntVar(&o.q.Limit, "limit", 50, "prints per page, 1-200")
	o.out.AddFlags(fs)
}

func newPrintsCommand(g *globalOptions) *cobra.Command {
	return remoteCommand(g, run(&cobra.Command{
		Use:   "prints [--batch ID] [--after CURSOR] [--json]",
		Short: "The print log: every printing of codes, images, label sheets and guide posters, and who asked",
		Long: `prints lists, oldest first, every printing action: a batch's codes as a file (csv, txt), its
images, its label sheets, a guide's poster QR; with the token that asked (none: the admin
token or this CLI on the data directory), its factory, the serials and the URL printed.
When the list goes on, the last line says what --after takes for the next page.`,
		Args: cobra.NoArgs,
	}, printsFunc))
}

func printsFunc(cmd *cobra.Command, r *remoteOptions, o *printsOptions, _ []string) error {
	get := func(a scan.Admin) (*reward.PrintPage, error) { return a.Prints(o.q) }
	return printListIn(cmd, r, o.out, get, func(w io.Writer, loc *time.Location, page *reward.PrintPage) {
		fmt.Fprintf(w, "%-16s %-9s %-16s %-12s %-8s %6s %21s  %-6s %s\n", zoned("AT", loc), "ROLE", "TOKEN", "FACTORY", "ACTION", "BATCH", "SERIALS/GUIDE", "FORMAT", "BASE URL")
		for _, p := range page.Prints {
			what := p.Guide
			if p.Batch != 0 {
				what = fmt.Sprintf("%d..%d", p.From, p.To)
			}
			fmt.Fprintf(w, "%-16s %-9s %-16s %-12s %-8s %6d %21s  %-6s %s\n", p.At.In(loc).Format("2006-01-02 15:04"), p.Role, dash(p.Token), dash(p.Factory), p.Action, p.Batch, what, p.Format, p.BaseURL)
		}
		printNext(w, page.Next)
	})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
