package main

import (
	"errors"

	"github.com/spf13/cobra"
	"github.com/yima-dev/yima/scan"
)

func newWebhookCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Endpoints the event feed is pushed to, signed (add, list, replay, resume, remove)",
	}
	with := func(r *remoteOptions, fn func(scan.WebhookAdmin) error) error {
		return r.with(g, func(a scan.Admin) error {
			wa, ok := a.(scan.WebhookAdmin)
			if !ok {
				return errors.New("this connection cannot manage webhooks")
			}
			return fn(wa)
		})
	}
	var url string
	var events []string
	addR := &remoteOptions{}
	add := &cobra.Command{
		Use:   "add --url URL [--events TYPES]",
		Short: "Add an endpoint; prints its secret, shown this once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				return usagef("--url is required")
			}
			return with(addR, func(wa scan.WebhookAdmin) error {
				w, err := wa.AddWebhook(url, events)
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), w)
			})
		},
	}
	addR.AddFlags(add.Flags())
	add.Flags().StringVar(&url, "url", "", "the endpoint, http:// or https://")
	add.Flags().StringSliceVar(&events, "events", nil, "event types to send, e.g. code.redeemed,points.spent (default: all)")

	listR := &remoteOptions{}
	list := &cobra.Command{
		Use:   "list",
		Short: "Endpoints and their delivery status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return with(listR, func(wa scan.WebhookAdmin) error {
				ws, err := wa.Webhooks()
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), ws)
			})
		},
	}
	listR.AddFlags(list.Flags())

	var from uint64
	replayR := &remoteOptions{}
	replay := &cobra.Command{
		Use:   "replay ID --from SEQ",
		Short: "Deliver again from event SEQ (and resume a paused endpoint)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return with(replayR, func(wa scan.WebhookAdmin) error { return wa.ReplayWebhook(args[0], from) })
		},
	}
	replayR.AddFlags(replay.Flags())
	replay.Flags().Uint64Var(&from, "from", 0, "the seq of the first event to deliver again")

	resumeR := &remoteOptions{}
	resume := &cobra.Command{
		Use:   "resume ID",
		Short: "Resume a paused endpoint where it stopped",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return with(resumeR, func(wa scan.WebhookAdmin) error { return wa.ResumeWebhook(args[0]) })
		},
	}
	resumeR.AddFlags(resume.Flags())

	removeR := &remoteOptions{}
	remove := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove an endpoint",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return with(removeR, func(wa scan.WebhookAdmin) error { return wa.DeleteWebhook(args[0]) })
		},
	}
	removeR.AddFlags(remove.Flags())
	cmd.AddCommand(add, list, replay, resume, remove)
	return cmd
}
