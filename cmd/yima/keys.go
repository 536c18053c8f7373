package main

import (
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
	cmd.AddCommand(newKeysListCommand(g), newKeysRotateCommand(g), newKeysRetireCommand(g))
	return cmd
}

// loadKeys reads the data directory's keyset (made on first use) and the
// path it is saved to.
func loadKeys(g *globalOptions) (*codegen.Keyset, string, error) {
	if err := datadir.Init(g.data); err != nil {
		return nil, "", err
	}
	ks, err := datadir.LoadKeys(g.data)
	return ks, filepath.Join(g.data, datadir.KeysFile), err
}

func newKeysListCommand(g *globalOptions) *cobra.Command {
	return leaf(&cobra.Command{
		Use: "list", Short: "Show key ids, statuses and the primary (never the secrets)",
		Args: cobra.NoArgs,
	}, nil, func(cmd *cobra.Command, _ []string) error { return keysListFunc(cmd, g) })
}

func keysListFunc(cmd *cobra.Command, g *globalOptions) error {
	ks, _, err := loadKeys(g)
	if err != nil {
		return err
	}
	return printJSON(cmd.OutOrStdout(), ks.List())
}

func newKeysRotateCommand(g *globalOptions) *cobra.Command {
	return leaf(&cobra.Command{
		Use: "rotate", Short: "Add a key and make it the primary for new batches; old codes still verify",
		Args: cobra.NoArgs,
	}, nil, func(cmd *cobra.Command, _ []string) error { return keysRotateFunc(cmd, g) })
}

func keysRotateFunc(cmd *cobra.Command, g *globalOptions) error {
	ks, path, err := loadKeys(g)
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
}

func newKeysRetireCommand(g *globalOptions) *cobra.Command {
	return leaf(&cobra.Command{
		Use: "retire ID", Short: "Retire a key: codes signed with it stop verifying",
		Args: cobra.ExactArgs(1),
	}, nil, func(cmd *cobra.Command, args []string) error { return keysRetireFunc(cmd, g, args[0]) })
}

func keysRetireFunc(cmd *cobra.Command, g *globalOptions, arg string) error {
	id, err := strconv.ParseUint(arg, 10, 8)
	if err != nil {
		return usagef("key id %q is not a number (see yima keys list)", arg)
	}
	ks, path, err := loadKeys(g)
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
}
