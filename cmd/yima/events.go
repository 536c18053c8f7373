package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

func newEventsCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Read the event feed: every redemption, ledger entry, coupon, member and campaign change, in order",
	}
	cmd.AddCommand(newEventsTailCommand(g))
	return cmd
}

type eventsTailOptions struct {
	after  uint64
	types  []string
	follow bool
}

func (o *eventsTailOptions) AddFlags(fs *pflag.FlagSet) {
	fs.Uint64Var(&o.after, "after", 0, "print the events after this seq (the last one you processed)")
	fs.StringSliceVar(&o.types, "types", nil, "only these event types, e.g. code.redeemed,points.spent")
	fs.BoolVar(&o.follow, "follow", false, "keep waiting for new events (needs --server)")
}

func newEventsTailCommand(g *globalOptions) *cobra.Command {
	return remoteCommand(g, run(&cobra.Command{
		Use:   "tail [--after SEQ] [--types T,...] [--follow]",
		Short: "Print events after SEQ, one JSON object a line; with --follow, wait for new ones",
		Long: `tail prints the feed's events after --after (0: from the first held), one JSON
object a line, oldest first. With --server and --follow it keeps waiting for new
events (long polling) until interrupted; a consumer that stops remembers the seq
of the last line it processed and passes it as --after next time.`,
		Args: cobra.NoArgs,
	}, eventsTailFunc))
}

func eventsTailFunc(cmd *cobra.Command, r *remoteOptions, o *eventsTailOptions, _ []string) error {
	if o.follow && r.server == "" {
		return usagef("--follow needs --server: only a running server has new events to wait for")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return r.with(func(a scan.Admin) error {
		w := cmd.OutOrStdout()
		after := o.after
		for ctx.Err() == nil {
			q := reward.FeedQuery{After: after, Limit: 1000, Types: o.types}
			if o.follow {
				q.Wait = 30 * time.Second
			}
			page, err := a.Events(q)
			if err != nil {
				return err
			}
			for _, ev := range page.Events {
				if _, err := fmt.Fprintf(w, "%s\n", ev); err != nil {
					return err
				}
			}
			moved := page.Next != after
			after = page.Next
			if !moved && !o.follow {
				return nil
			}
		}
		return nil
	})
}

// replayAudit is audit --from-events: the feed replayed against the
// records. It exits 1 when they disagree.
func replayAudit(cmd *cobra.Command, a scan.Admin, asJSON bool) error {
	rep, err := a.ReplayFeed()
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if asJSON {
		if err := printJSON(w, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "replayed events %d..%d (%d): %d members, %d guides, %d coupons, %d redemptions\n",
			rep.FirstSeq, rep.LastSeq, rep.Events, rep.Members, rep.Guides, rep.Coupons, rep.Redemptions)
		if !printViolations(w, "audit --from-events", "the feed rebuilds every record", rep.Violations) {
			return nil
		}
	}
	if len(rep.Violations) > 0 {
		return exitError{1}
	}
	return nil
}
