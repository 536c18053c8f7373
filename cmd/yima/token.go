package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

type tokenOptions struct {
	remoteOptions
	role, name string
}

func (o *tokenOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.role, "role", "", "app (integrators) or factory (minting)")
	fs.StringVar(&o.name, "name", "", "who the token is for, for the records")
}

func newTokenCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens",
		Long: "Tokens are stored hashed: a secret is shown once, when it is made. Each token has an id\n" +
			"(16 hex digits, from the hash) that names it in lists and revocations without giving it away.\n" +
			"The admin token is the data directory's admin.token file, not one of these.",
	}
	o := &tokenOptions{}
	o.remoteOptions.AddFlags(cmd.PersistentFlags())
	create := &cobra.Command{
		Use:   "create --role app|factory|metrics [--name N]",
		Short: "Create an API token and print it (it is shown once, stored hashed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.role != "app" && o.role != "factory" && o.role != "metrics" {
				return usagef("--role must be app, factory or metrics (a scraper of /metrics); guides get theirs from yima guide add")
			}
			return o.with(g, func(a scan.Admin) error {
				tok, err := a.CreateToken(o.role, o.name)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), tok)
				fmt.Fprintf(cmd.ErrOrStderr(), "token id %s (yima token revoke %s ends it)\n", reward.TokenID(tok), reward.TokenID(tok))
				return nil
			})
		},
	}
	o.AddFlags(create.Flags())
	var listOut tableOptions
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the tokens: id, role, name, guide and when each was made (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.with(g, func(a scan.Admin) error {
				ts, err := a.Tokens()
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				return listOut.print(w, ts, func() {
					fmt.Fprintf(w, "%-16s  %-8s  %-24s  %-16s  %s\n", "ID", "ROLE", "NAME", "GUIDE", "CREATED")
					for _, t := range ts {
						fmt.Fprintf(w, "%-16s  %-8s  %-24s  %-16s  %s\n", t.ID, t.Role, t.Name, t.Subject, t.Created.Format("2006-01-02 15:04"))
					}
				})
			})
		},
	}
	listOut.AddFlags(list.Flags())
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token (a leaked one, or a departed guide's): it stops working at once",
		Long: "Revoke deletes the token named ID (see yima token list). A running server refuses its\n" +
			"secret from the next request on. A guide's account, members, ledger and commissions stay;\n" +
			"only that credential ends. Prints the revoked token as JSON.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.with(g, func(a scan.Admin) error {
				t, err := a.RevokeToken(args[0])
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), t)
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
