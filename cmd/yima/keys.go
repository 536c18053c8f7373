package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/kek"
	"github.com/yima-dev/yima/scan/node/datadir"
)

func newKeysCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List, rotate and retire signing keys; seal them into a cluster's database",
		Long: `On one machine the keys live only in DATA/keys.json (mode 0600). A running server on the
same data directory looks at the file every second: a rotation or retirement takes effect
there without a restart (its log says "keyset reloaded").

With --db the keys are a record of the database, sealed with AES-256-GCM under a
key-encryption key every node and command needs (--key-file or YIMA_KEY_FILE, or
YIMA_KEK; without one they refuse, exit 1): the first node makes
them, every node reads them, and these commands change them for every node (each looks
every second). yima keys kek makes a key-encryption key; yima keys upload moves the keys
of a cluster set up with keys.json files into its database; yima keys reseal seals them
under a new key-encryption key. See docs/cluster.md.`,
	}
	cmd.AddCommand(
		localArgs(g, &cobra.Command{Use: "list", Short: "Show key ids, statuses and the primary (never the secrets)", Args: cobra.NoArgs}, keysListFunc),
		localArgs(g, &cobra.Command{Use: "rotate", Short: "Add a key and make it the primary for new batches; old codes still verify", Args: cobra.NoArgs}, keysRotateFunc),
		localArgs(g, &cobra.Command{Use: "retire ID", Short: "Retire a key: codes signed with it stop verifying", Args: cobra.ExactArgs(1)}, keysRetireFunc),
		leaf(&cobra.Command{
			Use:   "kek",
			Short: "Print a new key-encryption key (32 random bytes, base64) for a cluster's sealed keys",
			Long: `kek prints a new key-encryption key. Keep it where only the operator and the nodes read
it, never in the database or its backups: without it the sealed signing keys cannot be
opened, and with a backup of the database it opens them. For example:

  (umask 077; yima keys kek > /etc/yima/kek)
  YIMA_KEY_FILE=/etc/yima/kek yima --db "$YIMA_DB" serve`,
			Args: cobra.NoArgs,
		}, nil, keysKEKFunc),
		local(g, &cobra.Command{
			Use:   "upload [--from DATA_DIR]",
			Short: "Seal a data directory's keys.json and admin.token into the database --db names",
			Long: `upload moves the files a cluster set up with copied keys.json and admin.token files needs
into its database: keys.json sealed under the key-encryption key (--key-file,
YIMA_KEY_FILE or YIMA_KEK), the pages' secret as the nodes derived it from admin.token (so
that signed-in browsers stay signed in), and admin.token as a token record of role admin
(so that scripts holding it keep working). It refuses a database holding keys already.
Then give every node the key-encryption key and restart it; the files are not needed any
more (a node with the key ignores them). Prints what it uploaded as JSON.`,
			Args: cobra.NoArgs,
		}, keysUploadFunc),
		local(g, &cobra.Command{
			Use:   "reseal --new-key-file FILE",
			Short: "Seal the database's signing keys under a new key-encryption key (rotate the KEK)",
			Long: `reseal opens every sealed record of the database --db names (the signing keys and the
pages' secret) with the key-encryption key in use (--key-file, YIMA_KEY_FILE or YIMA_KEK)
and seals it under the one in --new-key-file, in one transaction: all records move, or
none. The signing keys themselves do not change, so every printed code still verifies.

Nodes running with the old key go on serving with the keys they opened, but cannot read
the records again: they log that the keys are sealed under the new key's id and do not
see a rotation or retirement until restarted with the new key. Restart every node with
the new key right after, before changing keys. For example:

  (umask 077; yima keys kek > /etc/yima/kek.new)
  YIMA_KEY_FILE=/etc/yima/kek yima --db "$YIMA_DB" keys reseal --new-key-file /etc/yima/kek.new
  mv /etc/yima/kek.new /etc/yima/kek   # then restart each node

Prints {"records": 2, "from": OLD_ID, "to": NEW_ID} (public ids, not the keys).`,
			Args: cobra.NoArgs,
		}, keysResealFunc),
	)
	return cmd
}

// withKeys runs change on the keyset and saves it when change returns
// nil: in keys.json, or sealed in the database with --db. A keys.json is changed as a file, so that this works
// while a server holds the directory (it reloads the file).
func withKeys(g *globalOptions, change func(ks *codegen.Keyset) error) error {
	return onKeys(g, true, change)
}

// onKeys runs fn on the keyset of keys.json, or with --db on the one
// sealed in the database, and saves what fn changed when save is set.
func onKeys(g *globalOptions, save bool, fn func(ks *codegen.Keyset) error) error {
	opts, err := g.dirOptions()
	if err != nil {
		return err
	}
	if opts.Store != "" {
		d, err := datadir.Open(g.data, opts)
		if err != nil {
			return err
		}
		defer d.Close()
		if !save {
			return fn(d.Keys())
		}
		return d.UpdateKeys(fn)
	}
	if err := datadir.Init(g.data); err != nil {
		return err
	}
	path := filepath.Join(g.data, datadir.KeysFile)
	ks, err := codegen.LoadKeyset(path)
	if err != nil {
		return err
	}
	if err := fn(ks); err != nil || !save {
		return err
	}
	return ks.Save(path)
}

func keysListFunc(cmd *cobra.Command, g *globalOptions, _ []string) error {
	return onKeys(g, false, func(ks *codegen.Keyset) error { return printJSON(cmd.OutOrStdout(), ks.List()) })
}

func keysRotateFunc(cmd *cobra.Command, g *globalOptions, _ []string) error {
	var id uint8
	err := withKeys(g, func(ks *codegen.Keyset) error {
		k, err := ks.Rotate(time.Now())
		if err == nil {
			id = k.ID
		}
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "key %d is now the primary key\n", id)
	return nil
}

func keysRetireFunc(cmd *cobra.Command, g *globalOptions, args []string) error {
	arg := args[0]
	id, err := strconv.ParseUint(arg, 10, 8)
	if err != nil {
		return usagef("key id %q is not a number (see yima keys list)", arg)
	}
	if err := withKeys(g, func(ks *codegen.Keyset) error { return ks.Retire(uint8(id), time.Now()) }); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "key %d is retired; its codes no longer verify\n", id)
	return nil
}

// keysKEKFunc prints a new key-encryption key.
func keysKEKFunc(cmd *cobra.Command, _ []string) error {
	_, err := fmt.Fprintln(cmd.OutOrStdout(), kek.Generate())
	return err
}

type keysUploadOptions struct{ from string }

func (o *keysUploadOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.from, "from", "", "the data directory whose keys.json and admin.token to upload (default --data)")
}

func keysUploadFunc(cmd *cobra.Command, g *globalOptions, o *keysUploadOptions, _ []string) error {
	from := o.from
	if from == "" {
		from = g.data
	}
	if err := g.needDB("upload"); err != nil {
		return err
	}
	k, err := g.kek()
	if err != nil {
		return err
	}
	if k == nil {
		return usagef("upload needs the key-encryption key: --key-file FILE (or YIMA_KEY_FILE), or YIMA_KEK; yima keys kek makes one")
	}
	up, err := datadir.UploadKeys(from, g.db, k)
	if err != nil {
		return err
	}
	return printJSON(cmd.OutOrStdout(), up)
}

type keysResealOptions struct{ newFile string }

func (o *keysResealOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.newFile, "new-key-file", "", "the file holding the new key-encryption key (yima keys kek > FILE)")
}

func keysResealFunc(cmd *cobra.Command, g *globalOptions, o *keysResealOptions, _ []string) error {
	if err := g.needDB("reseal"); err != nil {
		return err
	}
	if o.newFile == "" {
		return usagef("reseal needs --new-key-file FILE holding the new key-encryption key (yima keys kek makes one)")
	}
	old, err := g.kek()
	if err != nil {
		return err
	}
	if old == nil {
		return datadir.ErrNoKEK
	}
	next, err := readKEKFile(o.newFile)
	if err != nil {
		return fmt.Errorf("--new-key-file %s: %w", o.newFile, err)
	}
	out, err := datadir.Reseal(g.db, old, next)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "the keys are sealed under key-encryption key %s: restart every node with it (nodes with %s keep their keys but see no change to them)\n", out.To, out.From)
	return printJSON(cmd.OutOrStdout(), out)
}
