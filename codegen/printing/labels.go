package printing

import (
	"context"
	"fmt"
	"io"

	"github.com/go-pdf/fpdf"
	"github.com/yima-dev/yima/codegen"
)

// MaxLabelsPerSheet bounds one label document: a PDF is built in memory
// before it is written, and 500 A4 pages of 40 labels is already a large
// print job. Larger batches are printed range by range.
const MaxLabelsPerSheet = 20_000

// LabelSheetOptions say which codes WriteLabelSheet lays out, and how.
type LabelSheetOptions struct {
	// Key is the signing key id; 0 means the keyset's primary key.
	Key uint8
	// Version is the batch's code version (the batch record says which);
	// 0 means codegen.MintVersion, for a batch minted now.
	Version uint8
	// Batch is the batch id; From and To the first and last serial,
	// inclusive.
	Batch    uint32
	From, To uint32
	// BaseURL defaults to DefaultBaseURL.
	BaseURL   string
	Symbology Symbology
	// Columns and Rows of labels on an A4 page; default 4 by 10 (labels
	// of 47.5 by 27 mm inside 10 mm margins and a 7 mm header).
	Columns, Rows int
	// Header is printed at the top of every page, e.g. the product: any
	// Unicode text (奶粉-900克).
	Header string
	// Fonts are TrueType (.ttf) files that text other than plain ASCII is
	// drawn in, each character in the first that has it, embedded as a
	// subset; nil means DefaultLabelFonts.
	Fonts []string
}

// A4 page and the layout's fixed parts, in millimetres.
const (
	pageW, pageH = 210.0, 297.0
	pageMargin   = 10.0
	headerH      = 7.0
	labelPad     = 1.5
	textH        = 3.5
)

// WriteLabelSheet writes a PDF of A4 pages of labels, one per code of
// serials From..To in order: the symbol of the code's URL, drawn as vector
// modules so that it prints sharp at any size, and the code as text under
// it, for a person to type when a camera fails. Every page's foot names the
// batch and the serials on it, so a sheet found on the floor is traceable.
// It returns how many labels it laid out.
func WriteLabelSheet(ctx context.Context, w io.Writer, ks *codegen.Keyset, opts LabelSheetOptions) (uint64, error) {
	workers := 0 // every core
	if err := rangeDefaults(ks, &opts.Key, opts.From, opts.To, &opts.BaseURL, &workers); err != nil {
		return 0, err
	}
	if opts.Symbology == "" {
		opts.Symbology = QR
	}
	if opts.Symbology != QR && opts.Symbology != DataMatrix {
		return 0, fmt.Errorf("printing: unknown symbology %q (want qr or datamatrix)", opts.Symbology)
	}
	if opts.Columns == 0 && opts.Rows == 0 {
		opts.Columns, opts.Rows = 4, 10
	}
	if opts.Columns < 1 || opts.Columns > 10 || opts.Rows < 1 || opts.Rows > 20 {
		return 0, fmt.Errorf("printing: a sheet of %d by %d labels: use 1-10 columns and 1-20 rows", opts.Columns, opts.Rows)
	}
	total := uint64(opts.To-opts.From) + 1
	if total > MaxLabelsPerSheet {
		return 0, fmt.Errorf("printing: %d labels in one document; print at most %d at a time, range by range", total, MaxLabelsPerSheet)
	}
	cellW := (pageW - 2*pageMargin) / float64(opts.Columns)
	cellH := (pageH - 2*pageMargin - headerH) / float64(opts.Rows)
	side := min(cellW, cellH-textH) - 2*labelPad
	if side < 10 {
		return 0, fmt.Errorf("printing: %d by %d labels leave %.1f mm for a symbol; use fewer columns or rows", opts.Columns, opts.Rows, side)
	}
	// Courier's glyphs are 0.6 em wide: the code fits nine tenths of the
	// label's width, so that neighbours' codes do not run together.
	fontPt := min(8, 0.9*(cellW-2*labelPad)*72/25.4/(codegen.Len*0.6))

	fonts := &textFonts{paths: opts.Fonts}
	if fonts.paths == nil {
		fonts.paths = DefaultLabelFonts
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreator("yima", false)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetFillColor(0, 0, 0)
	perPage := uint64(opts.Columns * opts.Rows)
	workers = int(min(uint64(workers), total))
	signers, err := newSigners(ks, opts.Version, opts.Key, opts.Batch, workers)
	if err != nil {
		return 0, err
	}
	prefix := opts.BaseURL + "/C/"
	// Encoding is most of a sheet's work (a QR encoder scores eight masks a
	// symbol), so it runs on every core; drawing stays in serial order.
	next, stop := inOrder(ctx, total, workers, 16, func(i int, k uint64) label {
		code := signers[i].Code(opts.From + uint32(k))
		sym, err := encodeSymbol(prefix+code, opts.Symbology)
		return label{code, sym, err}
	})
	defer stop()
	for k := uint64(0); k < total; k++ {
		l, err := next()
		if err != nil {
			return k, fmt.Errorf("printing: label sheet stopped after %d of %d labels: %w", k, total, err)
		}
		if l.err != nil {
			return k, l.err
		}
		serial := opts.From + uint32(k)
		slot := k % perPage
		if slot == 0 {
			last := min(uint64(serial)+perPage-1, uint64(opts.To))
			if err := startPage(pdf, fonts, opts.Header, fmt.Sprintf("batch %d, serials %d-%d", opts.Batch, serial, last)); err != nil {
				return k, err
			}
		}
		col, row := float64(slot%uint64(opts.Columns)), float64(slot/uint64(opts.Columns))
		x := pageMargin + col*cellW
		y := pageMargin + headerH + row*cellH
		drawSymbol(pdf, l.sym, x+(cellW-side)/2, y+labelPad, side)
		pdf.SetFont("Courier", "", fontPt)
		pdf.SetXY(x, y+labelPad+side)
		pdf.CellFormat(cellW, textH, l.code, "", 0, "C", false, 0, "")
	}
	if err := pdf.Output(w); err != nil {
		return total, fmt.Errorf("printing: writing label sheet: %w", err)
	}
	return total, nil
}

type label struct {
	code string
	sym  symbol
	err  error
}

// startPage adds a page with its header and its foot.
func startPage(pdf *fpdf.Fpdf, fonts *textFonts, header, foot string) error {
	pdf.AddPage()
	if header != "" {
		if err := fonts.draw(pdf, pageMargin, pageMargin, pageW-2*pageMargin, headerH-2, 9, header, "L"); err != nil {
			return err
		}
	}
	return fonts.draw(pdf, pageMargin, pageH-pageMargin+2, pageW-2*pageMargin, 4, 7, foot, "R")
}

// drawSymbol fills the dark modules of s in a square of side mm at x, y,
// one rectangle per horizontal run of dark modules.
func drawSymbol(pdf *fpdf.Fpdf, s symbol, x, y, side float64) {
	m := side / float64(s.size)
	for r := 0; r < s.size; r++ {
		for c := 0; c < s.size; {
			if !s.dark[r*s.size+c] {
				c++
				continue
			}
			run := c
			for run < s.size && s.dark[r*s.size+run] {
				run++
			}
			pdf.Rect(x+float64(c)*m, y+float64(r)*m, float64(run-c)*m, m, "F")
			c = run
		}
	}
}
