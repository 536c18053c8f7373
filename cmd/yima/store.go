package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

func newStoreCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "The brand's stores: where guides (导购) work",
	}
	r := &remoteOptions{}
	r.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(newStoreAddCommand(g, r), newStoreShowCommand(g, r), newStoreListCommand(g, r))
	return cmd
}

type storeAddOptions struct {
	name, region, address, code string
}

func (o *storeAddOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.name, "name", "", "the store's name, as pages and listings show it (required for a new store)")
	fs.StringVar(&o.region, "region", "", "the sales region the store is in (the region codes batches are activated for)")
	fs.StringVar(&o.address, "address", "", "the store's address")
	fs.StringVar(&o.code, "code", "", "the brand's own code for the store (its ERP's or payroll's)")
}

func newStoreAddCommand(g *globalOptions, r *remoteOptions) *cobra.Command {
	o := &storeAddOptions{}
	return leaf(&cobra.Command{
		Use:     "add STORE --name NAME [--region R] [--address A] [--code C]",
		Short:   "Create a store, or change the fields given of an existing one; prints it as JSON",
		Example: "  yima store add SH-001 --name 上海徐汇旗舰店 --region east --address 上海市徐汇区漕溪北路88号 --code 310104-01",
		Args:    cobra.ExactArgs(1),
	}, o, func(cmd *cobra.Command, args []string) error { return storeAddFunc(cmd, g, r, o, args[0]) })
}

// storeAddFunc sets the fields whose flags were given.
func storeAddFunc(cmd *cobra.Command, g *globalOptions, r *remoteOptions, o *storeAddOptions, id string) error {
	var c reward.StoreChange
	fs := cmd.Flags()
	for _, f := range []struct {
		flag string
		v    *string
		to   **string
	}{{"name", &o.name, &c.Name}, {"region", &o.region, &c.Region}, {"address", &o.address, &c.Address}, {"code", &o.code, &c.Code}} {
		if fs.Changed(f.flag) {
			*f.to = f.v
		}
	}
	if c == (reward.StoreChange{}) {
		return usagef("give at least --name (and any of --region, --address, --code)")
	}
	return printResult(cmd, g, r, func(a scan.Admin) (*reward.Store, error) { return a.PutStore(id, c) })
}

func newStoreShowCommand(g *globalOptions, r *remoteOptions) *cobra.Command {
	return leaf(&cobra.Command{
		Use: "show STORE", Short: "Print a store's record as JSON",
		Args: cobra.ExactArgs(1),
	}, nil, func(cmd *cobra.Command, args []string) error {
		return printResult(cmd, g, r, func(a scan.Admin) (*reward.Store, error) { return a.Store(args[0]) })
	})
}

type storeListOptions struct {
	after string
	limit int
	out   tableOptions
}

func (o *storeListOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.after, "after", "", "the store id the previous page ended with (its last line says it)")
	fs.IntVar(&o.limit, "limit", 50, "stores per page, 1-200")
	o.out.AddFlags(fs)
}

// storePage is one page of stores as store list --json prints it: the
// API's answer.
type storePage struct {
	Stores []*reward.Store `json:"stores"`
	Next   string          `json:"next,omitempty"`
}

func newStoreListCommand(g *globalOptions, r *remoteOptions) *cobra.Command {
	o := &storeListOptions{}
	return leaf(&cobra.Command{
		Use: "list [--after STORE] [--limit N]", Short: "List the stores in id order, a page at a time",
		Args: cobra.NoArgs,
	}, o, func(cmd *cobra.Command, _ []string) error { return storeListFunc(cmd, g, r, o) })
}

func storeListFunc(cmd *cobra.Command, g *globalOptions, r *remoteOptions, o *storeListOptions) error {
	if o.limit < 1 || o.limit > reward.MaxPage {
		return usagef("--limit %d: give 1 to %d", o.limit, reward.MaxPage)
	}
	get := func(a scan.Admin) (*storePage, error) {
		ss, next, err := a.Stores(o.after, o.limit)
		if ss == nil {
			ss = []*reward.Store{}
		}
		return &storePage{Stores: ss, Next: next}, err
	}
	return printList(cmd, g, r, o.out, get, func(w io.Writer, p *storePage) {
		fmt.Fprintf(w, "%-16s %-12s %-10s %-24s %s\n", "STORE", "CODE", "REGION", "NAME", "ADDRESS")
		for _, s := range p.Stores {
			fmt.Fprintf(w, "%-16s %-12s %-10s %-24s %s\n", s.ID, s.Code, s.Region, s.Name, s.Address)
		}
		if p.Next != "" {
			fmt.Fprintf(w, "more: --after %s\n", p.Next)
		}
	})
}
