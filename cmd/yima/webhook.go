package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/scan"
)

func newWebhookCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Endpoints the event feed is pushed to, signed (add, list, replay, resume, remove)",
	}
	// Each sub-command has --server and --token of its own.
	for _, s := range []sub{
		run(&cobra.Command{Use: "add --url URL [--events TYPES]", Short: "Add an endpoint; prints its secret, shown this once", Args: cobra.NoArgs}, webhookAddFunc),
		runResult(&cobra.Command{Use: "list", Short: "Endpoints and their delivery status", Args: cobra.NoArgs},
			func(a scan.Admin, _ []string) ([]scan.WebhookView, error) { return a.Webhooks() }),
		run(&cobra.Command{Use: "replay ID --from SEQ", Short: "Deliver again from event SEQ (and resume a paused endpoint)", Args: cobra.ExactArgs(1)}, webhookReplayFunc),
		runArgs(&cobra.Command{Use: "resume ID", Short: "Resume a paused endpoint where it stopped", Args: cobra.ExactArgs(1)}, onWebhook(scan.Admin.ResumeWebhook)),
		runArgs(&cobra.Command{Use: "remove ID", Short: "Remove an endpoint", Args: cobra.ExactArgs(1)}, onWebhook(scan.Admin.DeleteWebhook)),
	} {
		cmd.AddCommand(remoteCommand(g, s))
	}
	return cmd
}

type webhookAddOptions struct {
	url    string
	events []string
}

func (o *webhookAddOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.url, "url", "", "the endpoint, http:// or https://")
	fs.StringSliceVar(&o.events, "events", nil, "event types to send, e.g. code.redeemed,points.spent (default: all)")
}

func webhookAddFunc(cmd *cobra.Command, r *remoteOptions, o *webhookAddOptions, _ []string) error {
	if o.url == "" {
		return usagef("--url is required")
	}
	return printResult(cmd, r, func(a scan.Admin) (*scan.WebhookCreated, error) { return a.AddWebhook(o.url, o.events) })
}

type webhookReplayOptions struct{ from uint64 }

func (o *webhookReplayOptions) AddFlags(fs *pflag.FlagSet) {
	fs.Uint64Var(&o.from, "from", 0, "the seq of the first event to deliver again")
}

func webhookReplayFunc(_ *cobra.Command, r *remoteOptions, o *webhookReplayOptions, args []string) error {
	return r.with(func(a scan.Admin) error { return a.ReplayWebhook(args[0], o.from) })
}

// onWebhook is the work of a sub-command that does act to the endpoint
// ID and prints nothing (resume, remove).
func onWebhook(act func(a scan.Admin, id string) error) func(cmd *cobra.Command, r *remoteOptions, args []string) error {
	return func(_ *cobra.Command, r *remoteOptions, args []string) error {
		return r.with(func(a scan.Admin) error { return act(a, args[0]) })
	}
}
