package printing

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"unicode"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/sfnt"
)

// Default label fonts, from Debian's packages: DejaVu Sans
// (fonts-dejavu-core) for Latin, Greek, Cyrillic and the rest of the
// alphabets, and Droid Sans Fallback (fonts-droid-fallback) for Chinese,
// Japanese and Korean. Both are TrueType files: the PDF library embeds a
// subset of a TrueType font (only the glyphs a sheet uses) but reads no
// font collection (.ttc, such as fonts-wqy-microhei's) and no CFF outlines
// (OpenType .otf, such as fonts-noto-cjk's).
var DefaultLabelFonts = []string{
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
}

// fontPackages names the Debian package of each default font, for the
// message when one is missing.
var fontPackages = map[string]string{
	DefaultLabelFonts[0]: "fonts-dejavu-core",
	DefaultLabelFonts[1]: "fonts-droid-fallback",
}

// ErrFontMissing is returned (wrapped) when a label font cannot be read.
var ErrFontMissing = errors.New("printing: label font missing")

// textFonts draws a label sheet's text in whichever of its fonts has each
// character's glyph. Text that is plain ASCII is drawn in the PDF's own
// Helvetica and needs no font file; anything else is drawn in the first
// configured font that has the glyph, embedded as a subset. The fonts are
// read only when such text appears, so a sheet of ASCII products prints
// on a machine without them.
type textFonts struct {
	paths  []string
	loaded bool
	fonts  []*sfnt.Font
	buf    sfnt.Buffer
}

// family is the name the PDF gives font i.
func family(i int) string { return fmt.Sprintf("label%d", i) }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// load reads every font file into pdf, once.
func (tf *textFonts) load(pdf *fpdf.Fpdf) error {
	if tf.loaded {
		return nil
	}
	for i, path := range tf.paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			hint := "give a TrueType (.ttf) font that has the characters with --label-font"
			if pkg := fontPackages[path]; pkg != "" {
				hint = "install it (apt-get install " + pkg + "), or " + hint
			}
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%w: %s does not exist, and the label text is not plain ASCII: %s", ErrFontMissing, path, hint)
			}
			return fmt.Errorf("%w: %s: %v: %s", ErrFontMissing, path, err, hint)
		}
		f, err := sfnt.Parse(raw)
		if err != nil || string(raw[:4]) == "ttcf" || string(raw[:4]) == "OTTO" {
			return fmt.Errorf("printing: label font %s is not a single TrueType (.ttf) font: collections (.ttc) and CFF fonts (.otf) cannot be embedded; give a .ttf with --label-font", path)
		}
		pdf.AddUTF8FontFromBytes(family(i), "", raw)
		if err := pdf.Error(); err != nil {
			return fmt.Errorf("printing: label font %s: %v", path, err)
		}
		tf.fonts = append(tf.fonts, f)
	}
	tf.loaded = true
	return nil
}

// run is a stretch of text drawn in one font: -1 is Helvetica.
type run struct {
	font int
	text string
}

// runs splits text into runs of one font each. A character no font has is
// an error: a label printed with a blank box cannot be recalled.
func (tf *textFonts) runs(pdf *fpdf.Fpdf, text string) ([]run, error) {
	if isASCII(text) {
		return []run{{-1, text}}, nil
	}
	if err := tf.load(pdf); err != nil {
		return nil, err
	}
	var out []run
	for _, r := range text {
		font := -1
		for i, f := range tf.fonts {
			if g, err := f.GlyphIndex(&tf.buf, r); err == nil && g != 0 {
				font = i
				break
			}
		}
		if font < 0 {
			if unicode.IsSpace(r) && len(tf.fonts) > 0 {
				font = 0
			} else {
				return nil, fmt.Errorf("printing: no label font has a glyph for %q (U+%04X) in %q; add a TrueType font that has it with --label-font (fonts: %s)", r, r, text, strings.Join(tf.paths, ", "))
			}
		}
		if n := len(out); n > 0 && out[n-1].font == font {
			out[n-1].text += string(r)
			continue
		}
		out = append(out, run{font, string(r)})
	}
	return out, nil
}

func setFont(pdf *fpdf.Fpdf, font int, size float64) {
	if font < 0 {
		pdf.SetFont("Helvetica", "", size)
		return
	}
	pdf.SetFont(family(font), "", size)
}

// draw writes text in a box of width w at x, y, aligned "L" or "R".
func (tf *textFonts) draw(pdf *fpdf.Fpdf, x, y, w, h, size float64, text, align string) error {
	runs, err := tf.runs(pdf, text)
	if err != nil {
		return err
	}
	width := 0.0
	for _, r := range runs {
		setFont(pdf, r.font, size)
		width += pdf.GetStringWidth(r.text)
	}
	if align == "R" {
		x += w - width
	}
	for _, r := range runs {
		setFont(pdf, r.font, size)
		rw := pdf.GetStringWidth(r.text)
		pdf.SetXY(x, y)
		pdf.CellFormat(rw, h, r.text, "", 0, "L", false, 0, "")
		x += rw
	}
	return pdf.Error()
}
