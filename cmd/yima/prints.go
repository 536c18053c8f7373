package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

func newPrintsCommand(g *globalOptions) *cobra.Command {
	var o remoteOptions
	var q reward.PrintQuery
	var out tableOptions
	cmd := &cobra.Command{
		Use:   "prints [--batch ID] [--after CURSOR] [--json]",
		Short: "The print log: every printing of codes, images, label sheets and guide posters, and who asked",
		Long: "prints lists, oldest first, every printing action: a batch's codes as a file (csv, txt), its\n" +
			"images, its label sheets, a guide's poster QR; with the token that asked (none: the admin\n" +
			"token or this CLI on the data directory), its factory, the serials and the URL printed.\n" +
			"When the list goes on, the last line says what --after takes for the next page.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.with(g, func(a scan.Admin) error {
				page, err := a.Prints(q)
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				return out.print(w, page, func() {
					loc := brandZone(a)
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
			})
		},
	}
	o.AddFlags(cmd.Flags())
	fs := cmd.Flags()
	fs.Uint32Var(&q.Batch, "batch", 0, "only this batch's prints")
	fs.StringVar(&q.After, "after", "", "the cursor a previous page ended with")
	fs.IntVar(&q.Limit, "limit", 50, "prints per page, 1-200")
	out.AddFlags(fs)
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
