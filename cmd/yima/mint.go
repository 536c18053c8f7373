package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
)

type mintOptions struct {
	remoteOptions
	spec    reward.BatchSpec
	count   uint64
	format  string
	out     string
	baseURL string
}

func (o *mintOptions) AddFlags(fs *pflag.FlagSet) {
	o.remoteOptions.AddFlags(fs)
	fs.StringVar(&o.spec.Product, "product", "", "product SKU (required)")
	fs.Uint64Var(&o.count, "count", 0, "number of codes (required)")
	fs.StringVar(&o.spec.GTIN, "gtin", "", "GTIN of the product")
	fs.StringVar(&o.spec.Region, "region", "", "intended sales region")
	fs.StringVar(&o.spec.Campaign, "campaign", "", "campaign the batch belongs to")
	fs.Int64Var(&o.spec.Points, "points", 10, "points a scan earns when no campaign applies")
	fs.BoolVar(&o.spec.Activate, "activate", false, "make every serial redeemable now (default: activate ranges later)")
	fs.StringVar(&o.format, "format", "csv", "csv (serial,code,url) or txt (one URL per line)")
	fs.StringVarP(&o.out, "out", "o", "", "output file (default: stdout)")
	fs.StringVar(&o.baseURL, "base-url", "HTTPS://YIMA.EXAMPLE", "origin of the code URLs; upper case keeps the QR in alphanumeric mode")
}

func newMintCommand(g *globalOptions) *cobra.Command {
	o := &mintOptions{}
	cmd := &cobra.Command{
		Use:   "mint --product SKU --count N [flags]",
		Short: "Create a batch and write its codes for the printing line",
		Long: "mint records one batch and writes its signed codes. Codes are computed, not\n" +
			"stored: the file can be produced again with the same batch id. With --out the\n" +
			"file appears under its name only once complete.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func (o *mintOptions) run(cmd *cobra.Command, g *globalOptions) error {
	if o.spec.Product == "" {
		return errors.New("--product is required")
	}
	if o.count == 0 || o.count > 1<<32-1 {
		return errors.New("--count must be a positive number of codes")
	}
	o.spec.Count = uint32(o.count)
	if o.format != "csv" && o.format != "txt" {
		return fmt.Errorf("--format %q: use csv or txt", o.format)
	}
	// Open the output first: a bad path fails before any batch exists.
	var w io.Writer = cmd.OutOrStdout()
	var tmp *os.File
	if o.out != "" {
		var err error
		tmp, err = os.CreateTemp(filepath.Dir(o.out), "."+filepath.Base(o.out)+".part*")
		if err != nil {
			return fmt.Errorf("cannot write next to %s: %w", o.out, err)
		}
		defer os.Remove(tmp.Name()) // gone after a successful rename
		defer tmp.Close()
		w = tmp
	}
	a, err := o.admin(g)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := a.CreateBatch(o.spec)
	if err != nil {
		return err
	}
	cw := &countingWriter{w: w}
	if err := a.WriteCodes(cw, b.ID, 0, 0, o.format, o.baseURL); err != nil {
		return fmt.Errorf("batch %d was created but writing its codes failed: %w; write them again with yima batch codes %d", b.ID, err, b.ID)
	}
	want := int64(b.Count)
	if o.format == "csv" {
		want++
	}
	if cw.lines != want {
		return fmt.Errorf("batch %d: got %d lines of codes, want %d; write them again with yima batch codes %d", b.ID, cw.lines, want, b.ID)
	}
	if tmp != nil {
		if err := tmp.Sync(); err != nil {
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp.Name(), o.out); err != nil {
			return err
		}
	}
	state := "inactive (activate with yima batch activate)"
	if o.spec.Activate {
		state = "active"
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "minted batch %d: %d codes of %s under key %d, %s\n", b.ID, b.Count, b.Product, b.KeyID, state)
	return nil
}

// countingWriter counts lines so that a cut-off stream from a server is
// noticed rather than printed as if complete.
type countingWriter struct {
	w     io.Writer
	lines int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			c.lines++
		}
	}
	return c.w.Write(p)
}
