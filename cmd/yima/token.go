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

func newTokenCommand(g *globalOptions) *cobra.Command {
	return remoteGroup(&cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens",
		Long: `Tokens are stored hashed: a secret is shown once, when it is made. Each token has an id
(16 hex digits, from the hash) that names it in lists and revocations without giving it away.
On one machine the admin token is the data directory's admin.token file, not one of these;
a cluster's admins hold tokens of role admin (yima --db URL token create --role admin makes
the first, revoked like any other).`,
	}, g,
		run(&cobra.Command{Use: "create --role app|factory|metrics|manager|admin [--name N] [--factory F] [--store S]", Short: "Create an API token and print it (it is shown once, stored hashed)", Args: cobra.NoArgs}, tokenCreateFunc),
		run(&cobra.Command{Use: "list [--json]", Short: "List the tokens: id, role, name, what each is for (guide, factory, store) and when it was made (never their secrets)", Args: cobra.NoArgs}, tokenListFunc),
		runResult(&cobra.Command{
			Use: "revoke ID", Short: "Revoke a token (a leaked one, or a departed guide's): it stops working at once",
			Long: `Revoke deletes the token named ID (see yima token list). A running server refuses its
secret from the next request on. A guide's account, members, ledger and commissions stay;
only that credential ends. Prints the revoked token as JSON.`,
			Args: cobra.ExactArgs(1),
		}, func(a scan.Admin, args []string) (*reward.Token, error) { return a.RevokeToken(args[0]) }),
	)
}

type tokenCreateOptions struct {
	role, name, factory, store string
}

func (o *tokenCreateOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.role, "role", "", "app (integrators), factory (minting), metrics (a scraper of /metrics), manager (one store's manager) or admin (everything, as admin.token)")
	fs.StringVar(&o.name, "name", "", "who the token is for, for the records")
	fs.StringVar(&o.factory, "factory", "", "the factory a factory token is for: its tokens share the factory's batches (default: the token sees only what it mints)")
	fs.StringVar(&o.store, "store", "", "the store a manager token manages (required with --role manager): its enrolments, QR and guides, nothing else")
}

func tokenCreateFunc(cmd *cobra.Command, r *remoteOptions, o *tokenCreateOptions, _ []string) error {
	if o.role != "app" && o.role != "factory" && o.role != "metrics" && o.role != "manager" && o.role != "admin" {
		return usagef("--role must be app, factory, metrics (a scraper of /metrics), manager (--store S) or admin; guides get theirs from yima guide add")
	}
	if o.factory != "" && o.role != "factory" {
		return usagef("--factory is for --role factory only")
	}
	scope := o.factory
	switch {
	case o.role == "manager" && o.store == "":
		return usagef("--role manager needs --store S: a manager token manages one store")
	case o.role == "manager":
		scope = o.store
	case o.store != "":
		return usagef("--store is for --role manager only")
	}
	return r.with(func(a scan.Admin) error {
		tok, err := a.CreateToken(o.role, o.name, scope)
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), tok)
		fmt.Fprintf(cmd.ErrOrStderr(), "token id %s (yima token revoke %s ends it)\n", reward.TokenID(tok), reward.TokenID(tok))
		return nil
	})
}

func tokenListFunc(cmd *cobra.Command, r *remoteOptions, out *tableOptions, _ []string) error {
	return printListIn(cmd, r, *out, scan.Admin.Tokens, func(w io.Writer, loc *time.Location, ts []reward.Token) {
		fmt.Fprintf(w, "%-16s  %-8s  %-24s  %-16s  %s\n", "ID", "ROLE", "NAME", "FOR", zoned("CREATED", loc))
		for _, t := range ts {
			fmt.Fprintf(w, "%-16s  %-8s  %-24s  %-16s  %s\n", t.ID, t.Role, t.Name, t.Subject, t.Created.In(loc).Format("2006-01-02 15:04"))
		}
	})
}
