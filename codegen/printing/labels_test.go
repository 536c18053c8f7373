package printing_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/yima-dev/yima/codegen/codegentest"
	"github.com/yima-dev/yima/codegen/printing"
)

// pdfText returns the page count of a PDF and the text of its content
// streams, inflated: enough to check what a label sheet says.
func pdfText(t *testing.T, doc []byte) (pages int, text string) {
	t.Helper()
	if !bytes.HasPrefix(doc, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.20q", doc)
	}
	pages = len(regexp.MustCompile(`/Type /Page\b[^s]`).FindAll(doc, -1))
	var b strings.Builder
	for _, m := range regexp.MustCompile(`(?s)stream\r?\n(.*?)\r?\nendstream`).FindAllSubmatch(doc, -1) {
		zr, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			b.Write(m[1]) // an uncompressed stream
			continue
		}
		raw, _ := io.ReadAll(zr)
		b.Write(raw)
	}
	return pages, b.String()
}

func TestLabelSheet(t *testing.T) {
	ks := codegentest.Keyset(t)
	s, _ := ks.Signer(ks.Primary, 7)
	var buf bytes.Buffer
	n, err := printing.WriteLabelSheet(context.Background(), &buf, ks, printing.LabelSheetOptions{
		Batch: 7, From: 3, To: 47, Columns: 4, Rows: 10, Header: "SKU-MILK-900",
	})
	if err != nil || n != 45 {
		t.Fatalf("WriteLabelSheet: %d labels, %v", n, err)
	}
	pages, text := pdfText(t, buf.Bytes())
	if pages != 2 {
		t.Errorf("45 labels at 40 a page: %d pages, want 2", pages)
	}
	for serial := uint32(3); serial <= 47; serial++ {
		if !strings.Contains(text, "("+s.Code(serial)+")") {
			t.Fatalf("serial %d's code %s is not printed on the sheet", serial, s.Code(serial))
		}
	}
	for _, want := range []string{"SKU-MILK-900", "batch 7", "serials 3-42", "serials 43-47"} {
		if !strings.Contains(text, want) {
			t.Errorf("the sheet does not say %q", want)
		}
	}
	if strings.Contains(text, "("+s.Code(2)+")") || strings.Contains(text, "("+s.Code(48)+")") {
		t.Error("the sheet prints codes outside the range asked for")
	}
	// Each label's symbol is drawn as filled rectangles: a sheet of 45
	// symbols has hundreds of them per symbol.
	if rects := strings.Count(text, " re f"); rects < 45*100 {
		t.Errorf("%d filled rectangles for 45 symbols", rects)
	}
}

func TestLabelSheetRefusals(t *testing.T) {
	ks := codegentest.Keyset(t)
	for name, o := range map[string]printing.LabelSheetOptions{
		"too many labels":   {Batch: 1, From: 1, To: printing.MaxLabelsPerSheet + 1},
		"no serials":        {Batch: 1, From: 0, To: 5},
		"too many columns":  {Batch: 1, From: 1, To: 5, Columns: 11, Rows: 2},
		"labels too small":  {Batch: 1, From: 1, To: 5, Columns: 10, Rows: 20},
		"unknown symbology": {Batch: 1, From: 1, To: 5, Symbology: "aztec"},
	} {
		var buf bytes.Buffer
		if _, err := printing.WriteLabelSheet(context.Background(), &buf, ks, o); err == nil {
			t.Errorf("%s: no error", name)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %d bytes", name, buf.Len())
		}
	}
}

// TestLabelSymbolMatchesImage reads the first label's symbol back from the
// sheet's drawing — one filled rectangle per run of dark modules — and
// compares it module by module with the PNG of the same URL, which the
// image tests check against decoders.
func TestLabelSheetCancel(t *testing.T) {
	ks := codegentest.Keyset(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	if _, err := printing.WriteLabelSheet(ctx, &buf, ks, printing.LabelSheetOptions{Batch: 1, From: 1, To: 2000}); !errors.Is(err, context.Canceled) || buf.Len() != 0 {
		t.Fatalf("a cancelled sheet: %v, %d bytes written", err, buf.Len())
	}
}

func TestLabelSymbolMatchesImage(t *testing.T) {
	ks := codegentest.Keyset(t)
	s, _ := ks.Signer(ks.Primary, 2)
	var buf bytes.Buffer
	if _, err := printing.WriteLabelSheet(context.Background(), &buf, ks, printing.LabelSheetOptions{Batch: 2, From: 5, To: 6}); err != nil {
		t.Fatal(err)
	}
	_, text := pdfText(t, buf.Bytes())
	rectRE := regexp.MustCompile(`^([\d.]+) ([\d.]+) ([\d.]+) -([\d.]+) re f$`)
	type rect struct{ x, y, w, h float64 }
	var rects []rect
	for _, line := range strings.Split(text, "\n") {
		m := rectRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			if len(rects) > 0 && strings.HasPrefix(line, "BT") {
				break // the first label's text: its symbol is complete
			}
			continue
		}
		var r rect
		for i, p := range []*float64{&r.x, &r.y, &r.w, &r.h} {
			*p, _ = strconv.ParseFloat(m[i+1], 64)
		}
		rects = append(rects, r)
	}
	if len(rects) == 0 {
		t.Fatal("no symbol drawn on the sheet")
	}
	// A QR symbol's first dark module is its finder's corner, 4 modules
	// into the quiet zone on each side.
	mod := rects[0].h
	left, top := rects[0].x, rects[0].y
	for _, r := range rects {
		left, top = min(left, r.x), max(top, r.y)
	}
	left, top = left-4*mod, top+4*mod
	drawn := map[[2]int]bool{}
	for _, r := range rects {
		row := int(math.Round((top - r.y) / mod))
		col := int(math.Round((r.x - left) / mod))
		for c := range int(math.Round(r.w / mod)) {
			drawn[[2]int{col + c, row}] = true
		}
	}
	want, err := printing.Image(printing.DefaultBaseURL+"/C/"+s.Code(5), printing.ImageOptions{ModuleSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	img, side := decodePNG(t, want, 1)
	for y := range side {
		for x := range side {
			if drawn[[2]int{x, y}] != isDark(img, x, y) {
				t.Fatalf("module (%d,%d) of serial 5's label differs from its image", x, y)
			}
		}
	}
}

func BenchmarkLabelSheet(b *testing.B) {
	ks := codegentest.Keyset(b)
	for b.Loop() {
		if _, err := printing.WriteLabelSheet(context.Background(), io.Discard, ks, printing.LabelSheetOptions{Batch: 1, From: 1, To: 400}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*400), "µs/label")
}
