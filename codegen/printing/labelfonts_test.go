package printing_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yima-dev/yima/codegen/codegentest"
	"github.com/yima-dev/yima/codegen/printing"
	"github.com/yima-dev/yima/codegen/printing/printtest"
)

func needFonts(t *testing.T) {
	t.Helper()
	for _, f := range printing.DefaultLabelFonts {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("%s is not installed (scripts/install-test-deps.sh installs it)", f)
		}
	}
}

// TestLabelSheetUnicode: a label sheet for the product 奶粉-900克 printed
// "..-900." (the text went through a cp1252 translator). Any Unicode
// header now prints as given, in fonts embedded as subsets, and poppler
// reads it back.
func TestLabelSheetUnicode(t *testing.T) {
	printtest.NeedTools(t, "pdftotext", "pdffonts")
	needFonts(t)
	ks := codegentest.Keyset(t)
	for _, header := range []string{"奶粉-900克  GTIN 06901234567892", "Молоко 900 г · Ελλάδα · café", "ミルク 牛奶 一码"} {
		var buf bytes.Buffer
		if _, err := printing.WriteLabelSheet(context.Background(), &buf, ks, printing.LabelSheetOptions{
			Batch: 1, From: 1, To: 3, Header: header, BaseURL: "HTTPS://YIMA.BRAND.CN",
		}); err != nil {
			t.Fatalf("%s: %v", header, err)
		}
		path := filepath.Join(t.TempDir(), "sheet.pdf")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(strings.Fields(string(out)), " ")
		if want := strings.Join(strings.Fields(header), " "); !strings.Contains(got, want) {
			t.Errorf("the sheet reads %q, want it to hold %q", got, want)
		}
		// The fonts are embedded ("emb" yes), and as subsets: the whole
		// CJK font alone is 4 MB, the sheet a few dozen KB.
		fonts, err := exec.Command("pdffonts", path).Output()
		if err != nil {
			t.Fatal(err)
		}
		embedded := 0
		for _, line := range strings.Split(string(fonts), "\n")[2:] {
			if !strings.Contains(line, "TrueType") {
				continue
			}
			embedded++
			if f := strings.Fields(line); len(f) < 7 || f[len(f)-5] != "yes" {
				t.Errorf("%s: a font not embedded: %s", header, line)
			}
		}
		if embedded == 0 {
			t.Errorf("%s: no embedded font:\n%s", header, fonts)
		}
		if buf.Len() > 300_000 {
			t.Errorf("%s: a %d-byte sheet of 3 labels embeds whole fonts, not subsets", header, buf.Len())
		}
	}
}

// TestLabelFontMissing: with its font file absent, a sheet with Chinese
// text is refused with a message naming the file and the way out, and an
// ASCII sheet still prints (it needs no font file).
func TestLabelFontMissing(t *testing.T) {
	ks := codegentest.Keyset(t)
	gone := filepath.Join(t.TempDir(), "gone.ttf")
	opts := printing.LabelSheetOptions{Batch: 1, From: 1, To: 2, Header: "奶粉-900克", Fonts: []string{gone}, BaseURL: "HTTPS://YIMA.BRAND.CN"}
	_, err := printing.WriteLabelSheet(context.Background(), &bytes.Buffer{}, ks, opts)
	if !errors.Is(err, printing.ErrFontMissing) || !strings.Contains(err.Error(), gone) || !strings.Contains(err.Error(), "--label-font") {
		t.Fatalf("a missing font: %v", err)
	}
	opts.Header = "SKU-MILK-900"
	if _, err := printing.WriteLabelSheet(context.Background(), &bytes.Buffer{}, ks, opts); err != nil {
		t.Fatalf("an ASCII sheet without font files: %v", err)
	}
	// A font collection is refused with what to give instead.
	if _, err := os.Stat("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"); err == nil {
		opts.Header, opts.Fonts = "奶粉", []string{"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"}
		if _, err := printing.WriteLabelSheet(context.Background(), &bytes.Buffer{}, ks, opts); err == nil || !strings.Contains(err.Error(), ".ttc") {
			t.Fatalf("a .ttc font: %v", err)
		}
	}
	// A character no font has is refused, not printed as a blank box.
	needFonts(t)
	opts.Header, opts.Fonts = "奶粉 \U0001F95B", nil
	if _, err := printing.WriteLabelSheet(context.Background(), &bytes.Buffer{}, ks, opts); err == nil || !strings.Contains(err.Error(), "U+1F95B") {
		t.Fatalf("a character no font has: %v", err)
	}
}
