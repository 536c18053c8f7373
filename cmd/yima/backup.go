package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/yima-dev/yima/scan"
)

func newBackupCommand(g *globalOptions) *cobra.Command {
	return remoteCommand(g, runArgs(&cobra.Command{
		Use: "backup DIR", Short: "Write a restorable copy of the data directory, while the server keeps serving",
		Long: `backup writes into DIR (which must not exist) a consistent copy of the store,
with every payout acknowledged before it started, and the keyset and admin token.
With --server the copy is written by the server, on its machine, so DIR is a path
there. To restore, stop the server and serve the copy: yima serve --data DIR.`,
		Args: cobra.ExactArgs(1),
	}, backupFunc))
}

// backupFunc writes the backup into DIR: a path on this machine, made
// absolute, or with --server a path on the server's.
func backupFunc(cmd *cobra.Command, r *remoteOptions, args []string) error {
	dest := args[0]
	dir, err := filepath.Abs(dest)
	if r.server != "" {
		// A relative path would name a directory relative to
		// wherever the server runs.
		dir, err = dest, nil
	}
	if err != nil {
		return err
	}
	return r.with(func(a scan.Admin) error {
		if err := a.Backup(dir); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "backup written to %s\n", dir)
		return nil
	})
}
