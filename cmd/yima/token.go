package main

import (
	"fmt"
	"github.com/yima-dev/yima/scan"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type tokenOptions struct {
	remoteOptions
	role, name string
}

func (o *tokenOptions) AddFlags(fs *pflag.FlagSet) {
	o.remoteOptions.AddFlags(fs)
	fs.StringVar(&o.role, "role", "", "app (integrators) or factory (minting)")
	fs.StringVar(&o.name, "name", "", "who the token is for, for the records")
}

func newTokenCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	o := &tokenOptions{}
	create := &cobra.Command{
		Use:   "create --role app|factory [--name N]",
		Short: "Create an API token and print it (it is shown once, stored hashed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.role != "app" && o.role != "factory" {
				return fmt.Errorf("--role must be app or factory (guides get theirs from yima guide add)")
			}
			return o.with(g, func(a scan.Admin) error {
				tok, err := a.CreateToken(o.role, o.name)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), tok)
				return nil
			})
		},
	}
	o.AddFlags(create.Flags())
	cmd.AddCommand(create)
	return cmd
}
