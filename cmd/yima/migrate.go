package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/yima-dev/yima/scan/node/datadir"
)

func newMigrateSchemaCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate-schema",
		Short: "Create or raise yima's schema in the PostgreSQL database --db names",
		Long: "migrate-schema creates yima's tables in the PostgreSQL database that --db (or\n" +
			"YIMA_DB) names, or raises an older schema to this yima's version, and prints the\n" +
			"versions before and after. Run it once before the first `yima serve --db URL`, and\n" +
			"after each upgrade of yima; several nodes may run it at once. It refuses a schema\n" +
			"written by a newer yima and a read-only server. See docs/cluster.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.needDB("migrate-schema"); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			from, to, err := datadir.MigrateSchema(ctx, g.db, version)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), map[string]int64{"from": from, "to": to})
		},
	}
}

func newMigrateCommand(g *globalOptions) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Copy a stopped Pebble data directory's records into a PostgreSQL database",
		Long: `migrate copies every record of the data directory --from (its db/) into the
PostgreSQL database --to names (default: --db or YIMA_DB), which must hold
yima's schema (yima migrate-schema) and no records. Stop the server first: a
directory a server holds is refused. With a key-encryption key (--key-file,
YIMA_KEY_FILE or YIMA_KEK) it then seals --from's keys.json and admin.token into the
database as yima keys upload does, and every node needs only --db and that key;
without one, the records are copied and the keys wait for yima keys upload (no node
serves the database before). Afterwards run yima audit on both and compare. See
docs/cluster.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				to = g.db
			}
			if from == "" || to == "" {
				return usagef("migrate needs --from DATA_DIR and --to postgres://user:password@host:port/database")
			}
			k, err := g.kek()
			if err != nil {
				return err
			}
			n, err := datadir.CopyStore(from, to, func(n int) { fmt.Fprintf(cmd.ErrOrStderr(), "copied %d records\r", n) })
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr())
			out := map[string]any{"records": n}
			if k == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "the keys of %s are not in the database yet: make a key-encryption key (yima keys kek) and seal them with yima keys upload --from %s; no node serves the database before\n", from, from)
				return printJSON(cmd.OutOrStdout(), out)
			}
			up, err := datadir.UploadKeys(from, to, k)
			if err != nil {
				return fmt.Errorf("the records were copied, the keys not: %w", err)
			}
			out["keys"] = up
			fmt.Fprintf(cmd.ErrOrStderr(), "the keys of %s are sealed in the database under key-encryption key %s: give every node that key\n", from, up.KEK)
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the data directory to copy (stopped)")
	cmd.Flags().StringVar(&to, "to", "", "the PostgreSQL URL to copy into (default --db)")
	return cmd
}
