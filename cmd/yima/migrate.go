package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"github.com/yima-dev/yima/scan/node/datadir"
)

func newMigrateSchemaCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate-schema",
		Short: "Create or raise yima's schema in the PostgreSQL database --store names",
		Long: "migrate-schema creates yima's tables in the PostgreSQL database that --store (or\n" +
			"YIMA_STORE) names, or raises an older schema to this yima's version, and prints the\n" +
			"versions before and after. Run it once before the first `yima serve --store URL`, and\n" +
			"after each upgrade of yima; several nodes may run it at once. It refuses a schema\n" +
			"written by a newer yima and a read-only server. See docs/cluster.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.store == "" {
				return usagef("migrate-schema needs --store postgres://user:password@host:port/database (or YIMA_STORE)")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			from, to, err := datadir.MigrateSchema(ctx, g.store, version)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), map[string]int64{"from": from, "to": to})
		},
	}
}
