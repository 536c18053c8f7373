package main

import (
	"github.com/spf13/cobra"
	"github.com/yima-dev/yima/scan"
)

func newWebhookCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Endpoints the event feed is pushed to, signed (add, list, replay, resume, remove)",
	}
	var url string
	var events []string
	add := webhookCommand(&cobra.Command{
		Use:   "add --url URL [--events TYPES]",
		Short: "Add an endpoint; prints its secret, shown this once",
		Args:  cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if url == "" {
				return usagef("--url is required")
			}
			return nil
		},
	}, g, func(cmd *cobra.Command, a scan.Admin, _ []string) error {
		w, err := a.AddWebhook(url, events)
		if err != nil {
			return err
		}
		return printJSON(cmd.OutOrStdout(), w)
	})
	add.Flags().StringVar(&url, "url", "", "the endpoint, http:// or https://")
	add.Flags().StringSliceVar(&events, "events", nil, "event types to send, e.g. code.redeemed,points.spent (default: all)")

	list := webhookCommand(&cobra.Command{
		Use:   "list",
		Short: "Endpoints and their delivery status",
		Args:  cobra.NoArgs,
	}, g, func(cmd *cobra.Command, a scan.Admin, _ []string) error {
		ws, err := a.Webhooks()
		if err != nil {
			return err
		}
		return printJSON(cmd.OutOrStdout(), ws)
	})

	var from uint64
	replay := webhookCommand(&cobra.Command{
		Use:   "replay ID --from SEQ",
		Short: "Deliver again from event SEQ (and resume a paused endpoint)",
		Args:  cobra.ExactArgs(1),
	}, g, func(_ *cobra.Command, a scan.Admin, args []string) error {
		return a.ReplayWebhook(args[0], from)
	})
	replay.Flags().Uint64Var(&from, "from", 0, "the seq of the first event to deliver again")

	resume := webhookCommand(&cobra.Command{
		Use:   "resume ID",
		Short: "Resume a paused endpoint where it stopped",
		Args:  cobra.ExactArgs(1),
	}, g, func(_ *cobra.Command, a scan.Admin, args []string) error { return a.ResumeWebhook(args[0]) })

	remove := webhookCommand(&cobra.Command{
		Use:   "remove ID",
		Short: "Remove an endpoint",
		Args:  cobra.ExactArgs(1),
	}, g, func(_ *cobra.Command, a scan.Admin, args []string) error { return a.DeleteWebhook(args[0]) })
	cmd.AddCommand(add, list, replay, resume, remove)
	return cmd
}

// webhookCommand finishes a webhook sub-command: its own --server and
// --token, and a RunE that runs call on the webhooks of the data directory
// or of the server.
func webhookCommand(c *cobra.Command, g *globalOptions, call func(cmd *cobra.Command, a scan.Admin, args []string) error) *cobra.Command {
	return remoteCommand(g, runArgs(c, func(cmd *cobra.Command, r *remoteOptions, args []string) error {
		return r.with(func(a scan.Admin) error { return call(cmd, a, args) })
	}))
}
