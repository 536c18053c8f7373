package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/codegen/kek"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/client"
	"github.com/yima-dev/yima/scan/node"
	"github.com/yima-dev/yima/scan/node/datadir"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	data    string
	db      string
	keyFile string
}

func (o *globalOptions) AddFlags(fs *pflag.FlagSet) {
	def := os.Getenv("YIMA_DATA")
	if def == "" {
		def = "./yima-data"
	}
	fs.StringVar(&o.data, "data", def, "data directory (env YIMA_DATA); created on first use")
	// Not --store: a store is a shop here (yima store, guide add --store).
	fs.StringVar(&o.db, "db", os.Getenv("YIMA_DB"), "PostgreSQL URL (postgres://user:password@host:port/database) whose database holds the records instead of the data directory's db/; see docs/cluster.md (env YIMA_DB)")
	fs.StringVar(&o.keyFile, "key-file", os.Getenv("YIMA_KEY_FILE"), "with --db: the file holding the key-encryption key the database's signing keys are sealed under (yima keys kek makes one; or give the key itself in env YIMA_KEK) (env YIMA_KEY_FILE)")
}

// kekEnv is the variable that may hold the key-encryption key itself, for
// services whose secrets come as variables; a key on the command line
// would show in every process listing, so there is no flag for it.
const kekEnv = "YIMA_KEK"

// kek reads the key-encryption key from --key-file or YIMA_KEK; nil when
// neither is set.
func (o *globalOptions) kek() (*kek.Key, error) {
	env := os.Getenv(kekEnv)
	switch {
	case o.keyFile != "" && env != "":
		return nil, usagef("both --key-file (YIMA_KEY_FILE) and %s are set: give the key-encryption key one way", kekEnv)
	case o.keyFile != "":
		k, err := readKEKFile(o.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--key-file %s: %w", o.keyFile, err)
		}
		return k, nil
	case env != "":
		k, err := kek.Parse([]byte(env))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kekEnv, err)
		}
		return k, nil
	}
	return nil, nil
}

// needDB refuses command, which works on a database only, without --db.
func (o *globalOptions) needDB(command string) error {
	if o.db == "" {
		return usagef("%s needs --db postgres://user:password@host:port/database (or YIMA_DB)", command)
	}
	return nil
}

// readKEKFile reads a key-encryption key from the file at path.
func readKEKFile(path string) (*kek.Key, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the key-encryption key: %w", err)
	}
	return kek.Parse(raw)
}

// dirOptions open the data directory on the database --db names, if any,
// with the key-encryption key of its sealed keys (datadir.Open refuses
// --db without one). Without --db the key is not read: a data directory's
// keys.json is not sealed.
func (o *globalOptions) dirOptions() (datadir.Options, error) {
	if o.db == "" {
		return datadir.Options{}, nil
	}
	k, err := o.kek()
	return datadir.Options{Store: o.db, KEK: k}, err
}

func newRootCommand() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:           "yima",
		Short:         "yima mints signed one-item-one-codes and redeems them exactly once",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	g.AddFlags(root.PersistentFlags())
	root.AddCommand(
		newMintCommand(g),
		newVerifyCommand(g),
		newServeCommand(g),
		newKeysCommand(g),
		newBatchCommand(g),
		newBrandCommand(g),
		newProductCommand(g),
		newTokenCommand(g),
		newCampaignCommand(g),
		newRewardCommand(g),
		newGuideCommand(g),
		newStoreCommand(g),
		newAuditCommand(g),
		newPointsCommand(g),
		newBackupCommand(g),
		newStatsCommand(g),
		newFlagsCommand(g),
		newPrintsCommand(g),
		newBenchCommand(g),
		newEventsCommand(g),
		newWebhookCommand(g),
		newExportCommand(g),
		newMigrateSchemaCommand(g),
		newMigrateCommand(g),
	)
	strictUsage(root)
	return root
}

// remoteGroup finishes c, a command whose sub-commands act on the data
// directory or on a server: --server and --token are c's persistent
// flags, read by every sub-command that subs builds.
func remoteGroup(c *cobra.Command, g *globalOptions, subs ...sub) *cobra.Command {
	r := &remoteOptions{g: g}
	r.AddFlags(c.PersistentFlags())
	for _, sub := range subs {
		c.AddCommand(sub(r))
	}
	return c
}

// remoteOptions select a running server instead of the data directory
// that g names.
type remoteOptions struct {
	g      *globalOptions
	server string
	token  string
}

func (o *remoteOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.server, "server", os.Getenv("YIMA_SERVER"), "URL of a running yima server to act through, needed while it holds the data directory (env YIMA_SERVER)")
	fs.StringVar(&o.token, "token", os.Getenv("YIMA_TOKEN"), "API token for --server (env YIMA_TOKEN)")
}

// with runs fn on the data directory, or on the server --server names,
// and closes it after.
func (o *remoteOptions) with(fn func(scan.Admin) error) error {
	a, err := o.admin()
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

// admin opens the data directory, or a client when --server is given.
func (o *remoteOptions) admin() (scan.Admin, error) {
	if o.server != "" {
		return &client.Client{URL: o.server, Token: o.token}, nil
	}
	opts, err := o.g.dirOptions()
	if err != nil {
		return nil, err
	}
	d, err := datadir.Open(o.g.data, opts)
	if err != nil {
		return nil, err
	}
	return node.Local(d), nil
}

// printResult runs get on the data directory, or on the server --server
// names, and prints what it returns as JSON: what most admin commands do.
func printResult[T any](cmd *cobra.Command, r *remoteOptions, get func(scan.Admin) (T, error)) error {
	return r.with(func(a scan.Admin) error {
		v, err := get(a)
		if err != nil {
			return err
		}
		return printJSON(cmd.OutOrStdout(), v)
	})
}

// printList runs get as printResult does and prints its records as a
// table, or as JSON under --json.
func printList[T any](cmd *cobra.Command, r *remoteOptions, out tableOptions, get func(scan.Admin) (T, error), table func(w io.Writer, v T)) error {
	return printTable(cmd, r, out, get, func(w io.Writer, _ scan.Admin, v T) { table(w, v) })
}

// printListIn is printList for a table of dates and times: table gets the
// brand's time zone (brandZone) to show them in, and names it in its
// header. --json prints the records' own RFC 3339 times.
func printListIn[T any](cmd *cobra.Command, r *remoteOptions, out tableOptions, get func(scan.Admin) (T, error), table func(w io.Writer, loc *time.Location, v T)) error {
	return printTable(cmd, r, out, get, func(w io.Writer, a scan.Admin, v T) { table(w, brandZone(a), v) })
}

// printTable is printList's work: table may ask a for more, but only
// when it runs, so that --json asks for nothing more.
func printTable[T any](cmd *cobra.Command, r *remoteOptions, out tableOptions, get func(scan.Admin) (T, error), table func(w io.Writer, a scan.Admin, v T)) error {
	return r.with(func(a scan.Admin) error {
		v, err := get(a)
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		return out.print(w, v, func() { table(w, a, v) })
	})
}

// remoteCommand builds the command s makes with --server and --token of
// its own, for a command that acts on the data directory or a server
// outside a remote group.
func remoteCommand(g *globalOptions, s sub) *cobra.Command {
	r := &remoteOptions{g: g}
	c := s(r)
	r.AddFlags(c.Flags())
	return c
}

// A sub builds a command of a remote group, acting where the group's
// --server and --token say.
type sub func(r *remoteOptions) *cobra.Command

// flagger is a command's options struct: AddFlags registers its flags.
type flagger interface{ AddFlags(*pflag.FlagSet) }

// run finishes c as a sub-command whose RunE hands the group's remote
// options, a fresh O holding c's flags, and the arguments to fn, the
// plain function doing the work.
func run[O any, P interface {
	*O
	flagger
}](c *cobra.Command, fn func(cmd *cobra.Command, r *remoteOptions, o P, args []string) error) sub {
	return func(r *remoteOptions) *cobra.Command {
		o := P(new(O))
		return leaf(c, o, func(cmd *cobra.Command, args []string) error { return fn(cmd, r, o, args) })
	}
}

// runArgs is run for a sub-command without flags of its own.
func runArgs(c *cobra.Command, fn func(cmd *cobra.Command, r *remoteOptions, args []string) error) sub {
	return func(r *remoteOptions) *cobra.Command {
		return leaf(c, nil, func(cmd *cobra.Command, args []string) error { return fn(cmd, r, args) })
	}
}

// runResult finishes c as a sub-command whose whole work is one call of get
// on the parsed arguments, its result printed as JSON (printResult).
func runResult[T any](c *cobra.Command, get func(a scan.Admin, args []string) (T, error)) sub {
	return runArgs(c, func(cmd *cobra.Command, r *remoteOptions, args []string) error {
		return printResult(cmd, r, func(a scan.Admin) (T, error) { return get(a, args) })
	})
}

// leaf finishes a command as bbolt's are built: its RunE calls run, which
// only hands the parsed arguments and options to a plain function, and
// opts, when not nil, registers the options' flags.
func leaf(c *cobra.Command, opts flagger, run func(cmd *cobra.Command, args []string) error) *cobra.Command {
	c.RunE = run
	if opts != nil {
		opts.AddFlags(c.Flags())
	}
	return c
}

// local finishes c as a command acting on the data directory, or the
// database --db names, that g says, outside a remote group: its RunE hands
// g, a fresh O holding c's flags, and the arguments to fn, the plain
// function doing the work.
func local[O any, P interface {
	*O
	flagger
}](g *globalOptions, c *cobra.Command, fn func(cmd *cobra.Command, g *globalOptions, o P, args []string) error) *cobra.Command {
	o := P(new(O))
	return leaf(c, o, func(cmd *cobra.Command, args []string) error { return fn(cmd, g, o, args) })
}

// localArgs is local for a command without flags of its own.
func localArgs(g *globalOptions, c *cobra.Command, fn func(cmd *cobra.Command, g *globalOptions, args []string) error) *cobra.Command {
	return leaf(c, nil, func(cmd *cobra.Command, args []string) error { return fn(cmd, g, args) })
}
