package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/printing"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

func newStoreCommand(g *globalOptions) *cobra.Command {
	return remoteGroup(&cobra.Command{Use: "store", Short: "The brand's stores: where guides (导购) work"}, g,
		run(&cobra.Command{
			Use:     "add STORE --name NAME [--region R] [--address A] [--code C]",
			Short:   "Create a store, or change the fields given of an existing one; prints it as JSON",
			Example: "  yima store add SH-001 --name 上海徐汇旗舰店 --region east --address 上海市徐汇区漕溪北路88号 --code 310104-01",
			Args:    cobra.ExactArgs(1),
		}, storeAddFunc),
		runResult(&cobra.Command{Use: "show STORE", Short: "Print a store's record as JSON", Args: cobra.ExactArgs(1)},
			func(a scan.Admin, args []string) (*reward.Store, error) { return a.Store(args[0]) }),
		run(&cobra.Command{Use: "list [--after STORE] [--limit N]", Short: "List the stores in id order, a page at a time", Args: cobra.NoArgs}, storeListFunc),
		run(&cobra.Command{
			Use:   "qr STORE [--rotate] [--valid 720h] [--out FILE]",
			Short: "Write the store's enrolment QR (导购扫码) as a PNG: a person who scans it asks to be a guide of the store",
			Long: `qr draws the store's current enrolment QR, which opens BASE/E/CODE; a store without one, or whose
QR expired, gets a new one valid for --valid. --rotate replaces it: the old QR's page then says
it was replaced. The person signs in with their phone and waits for the brand to approve
(yima store approve).`,
			Args: cobra.ExactArgs(1),
		}, storeQRFunc),
		run(&cobra.Command{Use: "enrolments STORE [--status pending]", Short: "List the requests to be a guide of the store, oldest first", Args: cobra.ExactArgs(1)}, storeEnrolmentsFunc),
		runResult(&cobra.Command{Use: "approve STORE ENROLMENT", Short: "Approve a request: the person becomes a guide of the store at once", Args: cobra.ExactArgs(2)}, decideEnrolment(true)),
		runResult(&cobra.Command{Use: "reject STORE ENROLMENT", Short: "Reject a request to be a guide of the store", Args: cobra.ExactArgs(2)}, decideEnrolment(false)),
	)
}

type storeAddOptions struct {
	name, region, address, code string
	managers                    []string
}

func (o *storeAddOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.name, "name", "", "the store's name, as pages and listings show it (required for a new store)")
	fs.StringVar(&o.region, "region", "", "the sales region the store is in (the region codes batches are activated for)")
	fs.StringVar(&o.address, "address", "", "the store's address")
	fs.StringVar(&o.code, "code", "", "the brand's own code for the store (its ERP's or payroll's)")
	fs.StringSliceVar(&o.managers, "managers", nil, "the store managers' mobile numbers, comma-separated (replaces the list; \"\" clears it): recorded as their sign-in identities")
}

// storeAddFunc sets the fields whose flags were given.
func storeAddFunc(cmd *cobra.Command, r *remoteOptions, o *storeAddOptions, args []string) error {
	var c reward.StoreChange
	fs := cmd.Flags()
	setIfChanged(fs, "name", &o.name, &c.Name)
	setIfChanged(fs, "region", &o.region, &c.Region)
	setIfChanged(fs, "address", &o.address, &c.Address)
	setIfChanged(fs, "code", &o.code, &c.Code)
	if fs.Changed("managers") {
		ms := []string{}
		for _, m := range o.managers {
			if m != "" {
				ms = append(ms, m)
			}
		}
		c.Managers = &ms
	}
	if c == (reward.StoreChange{}) {
		return usagef("give at least --name (and any of --region, --address, --code, --managers)")
	}
	return printResult(cmd, r, func(a scan.Admin) (*reward.Store, error) { return a.PutStore(args[0], c) })
}

type storeListOptions struct {
	page pageOptions
	out  tableOptions
}

func (o *storeListOptions) AddFlags(fs *pflag.FlagSet) {
	o.page.addFlags(fs, "the store id the previous page ended with (its last line says it)", "stores per page, 1-200")
	o.out.AddFlags(fs)
}

// storePage is one page of stores as store list --json prints it: the
// API's answer.
type storePage struct {
	Stores []*reward.Store `json:"stores"`
	Next   string          `json:"next,omitempty"`
}

func storeListFunc(cmd *cobra.Command, r *remoteOptions, o *storeListOptions, _ []string) error {
	if err := o.page.check(); err != nil {
		return err
	}
	get := func(a scan.Admin) (*storePage, error) {
		ss, next, err := a.Stores(o.page.after, o.page.limit)
		return &storePage{Stores: orEmpty(ss), Next: next}, err
	}
	return printList(cmd, r, o.out, get, func(w io.Writer, p *storePage) {
		fmt.Fprintf(w, "%-16s %-12s %-10s %-24s %s\n", "STORE", "CODE", "REGION", "NAME", "ADDRESS")
		for _, s := range p.Stores {
			fmt.Fprintf(w, "%-16s %-12s %-10s %-24s %s\n", s.ID, s.Code, s.Region, s.Name, s.Address)
		}
		printNext(w, p.Next)
	})
}

type storeQROptions struct {
	rotate bool
	valid  time.Duration
	file   qrFile
}

func (o *storeQROptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.rotate, "rotate", false, "replace the store's enrolment QR with a new one: the old one stops working at once")
	fs.DurationVar(&o.valid, "valid", reward.DefaultEnrolValid, "how long a new QR works, up to 8784h")
	o.file.addFlags(fs, "output PNG file (default: STORE-enrol.png)")
}

func storeQRFunc(cmd *cobra.Command, r *remoteOptions, o *storeQROptions, args []string) error {
	id := args[0]
	if o.valid < time.Minute || o.valid > reward.MaxEnrolValid {
		return usagef("--valid %s: give a minute to 8784h", o.valid)
	}
	return r.with(func(a scan.Admin) error {
		// The base URL is settled before a QR is rotated: nothing changes
		// when there is none to print.
		base, err := o.file.baseURL.resolve(cmd, a)
		if err != nil {
			return err
		}
		q, err := a.EnrolmentQR(id, o.rotate, o.valid)
		if err != nil {
			return err
		}
		enrol := scan.EnrolURL(base, q.Code)
		img, err := printing.Image(enrol, printing.ImageOptions{Format: printing.PNG})
		if err != nil {
			return err
		}
		return o.file.write(cmd, id+"-enrol.png", img, fmt.Sprintf(": opens %s until %s", enrol, q.Expires.In(brandZone(a)).Format(time.RFC3339)))
	})
}

// qrFile is where a command that draws one QR (store qr, guide qr) puts
// it: --out, or a file named after what the QR is for, and the
// --base-url its address starts with.
type qrFile struct {
	out     string
	baseURL baseURLFlag
}

// addFlags registers --out, whose help says the file's default name, and
// --base-url.
func (f *qrFile) addFlags(fs *pflag.FlagSet, outHelp string) {
	fs.StringVarP(&f.out, "out", "o", "", outHelp)
	f.baseURL.AddFlags(fs)
}

// write writes img, whole or not at all, to --out, or to name without it;
// then says on stderr where it went, with note after, and warns about the
// base URL printed with if it needs to.
func (f *qrFile) write(cmd *cobra.Command, name string, img []byte, note string) error {
	out := f.out
	if out == "" {
		out = name
	}
	if err := codegen.WriteFileAtomic(out, img, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s%s\n", out, note)
	f.baseURL.warn(cmd)
	return nil
}

type storeEnrolmentsOptions struct {
	status string
	page   pageOptions
	out    tableOptions
}

func (o *storeEnrolmentsOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.status, "status", "", "only pending, approved or rejected requests")
	o.page.addFlags(fs, "the enrolment id the previous page ended with", "requests per page, 1-200")
	o.out.AddFlags(fs)
}

type enrolmentPage struct {
	Enrolments []*reward.Enrolment `json:"enrolments"`
	Next       string              `json:"next,omitempty"`
}

func storeEnrolmentsFunc(cmd *cobra.Command, r *remoteOptions, o *storeEnrolmentsOptions, args []string) error {
	if err := o.page.check(); err != nil {
		return err
	}
	get := func(a scan.Admin) (*enrolmentPage, error) {
		es, next, err := a.Enrolments(args[0], o.status, o.page.after, o.page.limit)
		return &enrolmentPage{Enrolments: orEmpty(es), Next: next}, err
	}
	return printListIn(cmd, r, o.out, get, func(w io.Writer, loc *time.Location, p *enrolmentPage) {
		fmt.Fprintf(w, "%-27s %-9s %-20s %-24s %-16s %s\n", "ENROLMENT", "STATUS", zoned("AT", loc), "IDENTITY", "NAME", "GUIDE")
		for _, e := range p.Enrolments {
			fmt.Fprintf(w, "%-27s %-9s %-20s %-24s %-16s %s\n", e.ID, e.Status, e.At.In(loc).Format("2006-01-02 15:04:05"), e.Identity, e.Name, e.Guide)
		}
		printNext(w, p.Next)
	})
}

// decideEnrolment is approve's work, or reject's: STORE ENROLMENT decided.
func decideEnrolment(approve bool) func(a scan.Admin, args []string) (*reward.Enrolment, error) {
	return func(a scan.Admin, args []string) (*reward.Enrolment, error) {
		return a.DecideEnrolment(args[0], args[1], approve)
	}
}
