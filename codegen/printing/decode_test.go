package printing_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/yima-dev/yima/codegen/codegentest"
	"github.com/yima-dev/yima/codegen/printing"
	"github.com/yima-dev/yima/codegen/printing/printtest"
)

// TestLabelSheetDecodes renders a label sheet with poppler's pdftoppm and
// reads every label back with zbarimg: each page's symbols are the URLs
// of its serials, with the base URL asked for.
func TestLabelSheetDecodes(t *testing.T) {
	printtest.NeedTools(t, "pdftoppm", "zbarimg")
	ks := codegentest.Keyset(t)
	const base = "HTTPS://YIMA.BRAND.CN"
	var buf bytes.Buffer
	if _, err := printing.WriteLabelSheet(context.Background(), &buf, ks, printing.LabelSheetOptions{
		Batch: 3, From: 1, To: 12, Columns: 4, Rows: 10, BaseURL: base, Header: "SKU-MILK-900",
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pdf := filepath.Join(dir, "sheet.pdf")
	if err := os.WriteFile(pdf, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pages := printtest.RenderPages(t, pdf, 200)
	if len(pages) != 1 {
		t.Fatalf("12 labels rendered as %d pages", len(pages))
	}
	got := printtest.DecodeQR(t, pages...)
	s, _ := ks.Signer(ks.Primary, 3)
	var want []string
	for serial := uint32(1); serial <= 12; serial++ {
		want = append(want, base+"/C/"+s.Code(serial))
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the page decodes as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestGuideQRDecodes: a QR for the guide 王芳 carried raw UTF-8 without an
// ECI, which a common decoder read as /G/邇玖患. The guide's URL is
// percent-encoded, so zbarimg reads it exactly.
func TestGuideQRDecodes(t *testing.T) {
	printtest.NeedTools(t, "zbarimg")
	u := "HTTPS://YIMA.BRAND.CN/G/" + url.PathEscape("王芳")
	for _, f := range []printing.ImageFormat{printing.PNG} {
		img, err := printing.Image(u, printing.ImageOptions{Format: f})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "g."+string(f))
		if err := os.WriteFile(path, img, 0o644); err != nil {
			t.Fatal(err)
		}
		got := printtest.DecodeQR(t, path)
		if len(got) != 1 || got[0] != "HTTPS://YIMA.BRAND.CN/G/%E7%8E%8B%E8%8A%B3" {
			t.Fatalf("the guide QR decodes as %q", got)
		}
		back, err := url.PathUnescape(strings.TrimPrefix(got[0], "HTTPS://YIMA.BRAND.CN/G/"))
		if err != nil || back != "王芳" {
			t.Fatalf("the guide id read back: %q, %v", back, err)
		}
	}
}
