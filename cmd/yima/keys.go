package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/scan/node/datadir"
)

func newKeysCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List, rotate and retire signing keys",
		Long: "Keys live only in DATA/keys.json (mode 0600). A running server on the same data\n" +
			"directory looks at the file every second: a rotation or retirement takes effect\n" +
			"there without a restart (its log says \"keyset reloaded\").",
	}
	load := func() (*codegen.Keyset, string, error) {
		if err := datadir.Init(g.data); err != nil {
			return nil, "", err
		}
		ks, err := datadir.LoadKeys(g.data)
		return ks, filepath.Join(g.data, datadir.KeysFile), err
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "Show key ids, statuses and the primary (never the secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ks, _, err := load()
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(ks.List())
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Add a key and make it the primary for new batches; old codes still verify",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ks, path, err := load()
			if err != nil {
				return err
			}
			k, err := ks.Rotate(time.Now())
			if err != nil {
				return err
			}
			if err := ks.Save(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key %d is now the primary key\n", k.ID)
			return nil
		},
	}
	retire := &cobra.Command{
		Use:   "retire ID",
		Short: "Retire a key: codes signed with it stop verifying",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 8)
			if err != nil {
				return usagef("key id %q is not a number (see yima keys list)", args[0])
			}
			ks, path, err := load()
			if err != nil {
				return err
			}
			if err := ks.Retire(uint8(id), time.Now()); err != nil {
				return err
			}
			if err := ks.Save(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key %d is retired; its codes no longer verify\n", id)
			return nil
		},
	}
	cmd.AddCommand(list, rotate, retire)
	return cmd
}
