package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/printing"
	"github.com/yima-dev/yima/reward"
	"golang.org/x/term"
)

type mintOptions struct {
	spec      reward.BatchSpec
	count     uint64
	points    int64
	format    string
	out       string
	baseURL   baseURLFlag
	qr        string
	qrOut     string
	symbology string
	pinDigits uint8
	pinOut    string
}

func (o *mintOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.spec.Product, "product", "", "product SKU (required)")
	fs.Uint64Var(&o.count, "count", 0, "number of codes (required)")
	fs.StringVar(&o.spec.GTIN, "gtin", "", "GTIN of the product")
	fs.StringVar(&o.spec.Produced, "produced", "", "the batch's production date, YYYY-MM-DD, shown on the codes' page")
	fs.StringVar(&o.spec.Region, "region", "", "intended sales region (scans elsewhere are flagged as diverted)")
	fs.StringVar(&o.spec.Campaign, "campaign", "", "campaign the batch belongs to (default: any live campaign of the product)")
	fs.Int64Var(&o.points, "points", reward.DefaultBatchPoints, "points a scan earns when no campaign applies (admin only; a factory token leaves this to the brand)")
	fs.BoolVar(&o.spec.Activate, "activate", false, "make every serial redeemable now (default: activate ranges later)")
	fs.StringVar(&o.format, "format", "csv", "csv (serial,code,url) or txt (one URL per line)")
	fs.StringVarP(&o.out, "out", "o", "", "output file (default: stdout)")
	o.baseURL.AddFlags(fs)
	fs.StringVar(&o.qr, "qr", "", "also draw one image per code: png or svg")
	fs.StringVar(&o.qrOut, "qr-dir", "", "where images go: a directory, or a FILE.zip archive")
	fs.StringVar(&o.symbology, "symbology", "qr", "qr or datamatrix")
	fs.StringVar(&o.spec.Claim, "claim", "", "pin: the reward needs the inner PIN printed inside each package (暗码); the outer code only proves the product genuine. The CSV gains a pin column")
	fs.Uint8Var(&o.pinDigits, "pin-digits", 8, "digits of each inner PIN with --claim pin, 6 to 8")
	fs.StringVar(&o.pinOut, "pin-out", "", "with --claim pin, also write serial,pin lines to this file, for the station that prints inside the packages")
}

func newMintCommand(g *globalOptions) *cobra.Command {
	return remoteCommand(g, run(&cobra.Command{
		Use:   "mint --product SKU --count N [flags]",
		Short: "Create a batch and write its codes for the printing line",
		Long: `mint records one batch and writes its signed codes. Codes are computed, not
stored: yima batch codes ID writes them again. With --out the file appears under
its name only once complete; a mint that fails leaves no file and no batch.`,
		Args: cobra.NoArgs,
	}, mintFunc))
}

func (o *mintOptions) check() error {
	switch {
	case o.spec.Product == "":
		return usagef("--product is required")
	case o.count == 0 || o.count > codegen.MaxSerial:
		return usagef("--count must be between 1 and %d codes per batch", codegen.MaxSerial)
	case o.format != "csv" && o.format != "txt":
		return usagef("--format %q: use csv or txt", o.format)
	case o.qr != "" && o.qr != "png" && o.qr != "svg":
		return usagef("--qr %q: use png or svg", o.qr)
	case o.qr != "" && o.qrOut == "":
		return usagef("--qr needs --qr-dir DIR (or FILE.zip)")
	case o.symbology != "qr" && o.symbology != "datamatrix":
		return usagef("--symbology %q: use qr or datamatrix", o.symbology)
	case o.spec.Claim != "" && o.spec.Claim != reward.ClaimPIN:
		return usagef("--claim %q: use pin, or leave it out to claim with the code alone", o.spec.Claim)
	case o.spec.Claim == reward.ClaimPIN && (o.pinDigits < codegen.MinPINDigits || o.pinDigits > codegen.MaxPINDigits):
		return usagef("--pin-digits %d: use %d to %d", o.pinDigits, codegen.MinPINDigits, codegen.MaxPINDigits)
	case o.pinOut != "" && o.spec.Claim != reward.ClaimPIN:
		return usagef("--pin-out needs --claim pin")
	}
	if o.spec.Claim == reward.ClaimPIN {
		o.spec.PINDigits = o.pinDigits
	}
	o.spec.Count = uint32(o.count)
	return nil
}

func mintFunc(cmd *cobra.Command, r *remoteOptions, o *mintOptions, _ []string) (err error) {
	if err := o.check(); err != nil {
		return err
	}
	if cmd.Flags().Changed("points") {
		o.spec.Points = &o.points
	}
	// Open every output first: a bad path fails before any batch exists.
	codes, err := newOutput(o.out, cmd.OutOrStdout())
	if err != nil {
		return err
	}
	defer codes.abort()
	var pins *output
	if o.pinOut != "" {
		if pins, err = newOutput(o.pinOut, nil); err != nil {
			return err
		}
		defer pins.abort()
	}
	var images *output
	if o.qr != "" {
		if images, err = newImagesOutput(o.qrOut); err != nil {
			return err
		}
		defer images.abort()
	}
	a, err := r.admin()
	if err != nil {
		return err
	}
	defer a.Close()
	base, err := o.baseURL.resolve(cmd, a)
	if err != nil {
		return err
	}

	// The batch is created unreleased and activated only once its codes
	// are out, so a failure in between can delete it: nothing of it was
	// ever redeemable.
	spec := o.spec
	spec.Activate = false
	b, err := a.CreateBatch(spec)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if derr := a.DeleteBatch(b.ID); derr != nil {
				err = fmt.Errorf("%w; batch %d could not be removed (%v): revoke it with yima batch revoke %d", err, b.ID, derr, b.ID)
			}
		}
	}()

	lines := &lineCounter{w: codes.w, bar: progress(cmd.ErrOrStderr(), int64(b.Count), "minting", "codes", 200_000)}
	if err := a.WriteCodes(lines, b.ID, 0, 0, o.format, base); err != nil {
		return fmt.Errorf("writing the codes of batch %d: %w", b.ID, err)
	}
	lines.finish()
	want := int64(b.Count)
	if o.format == "csv" {
		want++
	}
	if lines.n != want {
		return fmt.Errorf("batch %d: %d lines of codes arrived, want %d", b.ID, lines.n, want)
	}
	if pins != nil {
		if err := a.WriteCodes(pins.w, b.ID, 0, 0, string(printing.FormatPINs), base); err != nil {
			return fmt.Errorf("writing the PINs of batch %d: %w", b.ID, err)
		}
	}
	if images != nil {
		img := printing.ImageOptions{Symbology: printing.Symbology(o.symbology), Format: printing.ImageFormat(o.qr)}
		if err := a.WriteImages(images.w, b.ID, img, base); err != nil {
			return fmt.Errorf("drawing the images of batch %d: %w", b.ID, err)
		}
	}
	if o.spec.Activate {
		if _, err := a.SetRange(b.ID, reward.Range{State: reward.Active}); err != nil {
			return err
		}
	}
	if err := codes.commit(); err != nil {
		return err
	}
	if images != nil {
		if err := images.commit(); err != nil {
			return err
		}
	}
	if pins != nil {
		if err := pins.commit(); err != nil {
			return err
		}
	}
	state := "inactive (activate with yima batch activate)"
	if o.spec.Activate {
		state = "active"
	}
	claim := ""
	if b.Claim == reward.ClaimPIN {
		claim = fmt.Sprintf(", claimed with a %d-digit inner PIN", b.PINDigits)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "minted batch %d: %d codes of %s under key %d, code version %d, %s%s\n", b.ID, b.Count, b.Product, b.KeyID, b.CodeVersion, state, claim)
	o.baseURL.warn(cmd)
	return nil
}

// output is a file that appears under its final name only when committed:
// it is written as a hidden temporary next to it, synced, then renamed.
// A path that names a device or a pipe (a printer's port, /dev/null) is
// written in place: renaming over it would replace it with a plain file.
type output struct {
	w     io.Writer
	tmp   *os.File
	final string
	// unzip turns the archive into a directory on commit.
	unzip bool
	// direct is a device or pipe written in place.
	direct *os.File
}

func newOutput(path string, stdout io.Writer) (*output, error) {
	if path == "" {
		return &output{w: stdout}, nil
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return nil, fmt.Errorf("%s is a directory; name a file", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("cannot write %s: %w", path, err)
		}
		return &output{w: f, direct: f}, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part*")
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", path, err)
	}
	// CreateTemp makes a private file; a code file goes to the printing
	// line, so it gets the mode of any other file the operator writes.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return &output{w: tmp, tmp: tmp, final: path}, nil
}

func newImagesOutput(path string) (*output, error) {
	path = filepath.Clean(path) // "labels/" names the directory labels
	if strings.HasSuffix(path, ".zip") {
		return newOutput(path, nil)
	}
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("--qr-dir %s exists already; name a new directory", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".zip.part*")
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", path, err)
	}
	return &output{w: tmp, tmp: tmp, final: path, unzip: true}, nil
}

func (o *output) commit() error {
	if o.direct != nil {
		return o.direct.Close()
	}
	if o.tmp == nil {
		return nil
	}
	if err := o.tmp.Sync(); err != nil {
		return err
	}
	if err := o.tmp.Close(); err != nil {
		return err
	}
	if o.unzip {
		return unzip(o.tmp.Name(), o.final)
	}
	return os.Rename(o.tmp.Name(), o.final)
}

// abort removes the temporary file; after commit it has nothing to do.
// What went to a device or pipe is gone already.
func (o *output) abort() {
	if o.direct != nil {
		o.direct.Close()
	}
	if o.tmp != nil {
		o.tmp.Close()
		os.Remove(o.tmp.Name())
	}
}

// lineCounter counts lines, so that a stream cut short by a server is
// noticed rather than printed as if complete, and drives the progress bar.
type lineCounter struct {
	w   io.Writer
	n   int64
	bar *progressbar.ProgressBar
}

func (c *lineCounter) Write(p []byte) (int, error) {
	n := int64(bytes.Count(p, []byte{'\n'}))
	c.n += n
	if c.bar != nil {
		c.bar.Add64(n)
	}
	return c.w.Write(p)
}

func (c *lineCounter) finish() {
	if c.bar != nil {
		c.bar.Finish()
		c.bar.Exit()
	}
}

// progress returns a progress bar (count, rate, time left) on w when it is
// a terminal and the job of total units is at least least, large enough
// to wait for; nil otherwise.
func progress(w io.Writer, total int64, what, unit string, least int64) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || total < least {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}
