package main

// The README's factory commands, run as written: everything they print
// must open the brand's URL, since printed packaging cannot be recalled.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen/printing/printtest"
)

// shellWords splits one README command line as sh would for the forms the
// README uses: words, '…' and "…" quoting, $OUT, and a # comment.
func shellWords(line, out string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		case c == '#' && !inWord:
			return words
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			w.WriteString(line[i+1 : i+1+j])
			i, inWord = i+1+j, true
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			w.WriteString(strings.ReplaceAll(line[i+1:i+1+j], "$OUT", out))
			i, inWord = i+1+j, true
		case strings.HasPrefix(line[i:], "$OUT"):
			w.WriteString(out)
			i, inWord = i+len("$OUT")-1, true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// TestReadmeFactoryCommandsPrintTheBrandURL follows the README's block of
// commands literally (brand set, mint, batch labels, guide qr, ...) on a
// fresh data directory, then reads back everything they printed: each
// CSV/TXT line, each PNG QR (zbarimg), each page of each label PDF
// (pdftoppm, then zbarimg) and the guide's poster, and finds in each the
// URL the README's `brand set --base-url` stored.
func TestReadmeFactoryCommandsPrintTheBrandURL(t *testing.T) {
	printtest.NeedTools(t, "pdftoppm", "zbarimg")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, b := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(raw), -1) {
		if strings.Contains(b[1], "brand set --base-url") {
			block = b[1]
			break
		}
	}
	if block == "" {
		t.Fatal("README.md has no ```sh block with `brand set --base-url`; update this test's reader")
	}

	data := filepath.Join(t.TempDir(), "yima-data")
	out := t.TempDir()
	env := []string{"YIMA_DATA=" + data}
	base, guideURL := "", ""
	ran := map[string]bool{}
	var stdouts []string
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "bin/yima ") || strings.Contains(line, "$(") {
			continue // setup lines, and commands that read another's output (verify)
		}
		args := shellWords(line, out)[1:]
		if args[0] == "serve" {
			continue
		}
		for i, a := range args {
			// Paths in the repository (docs/examples/...) as run from its root.
			if !strings.HasPrefix(a, "-") && !filepath.IsAbs(a) && strings.Contains(a, "/") {
				if _, err := os.Stat(filepath.Join(root, a)); err == nil {
					args[i] = filepath.Join(root, a)
				}
			}
			if i > 0 && args[i-1] == "--base-url" {
				if args[0] == "brand" {
					base = a
				}
			}
		}
		if m := regexp.MustCompile(`guide qr (\S+) .*# opens (\S+)`).FindStringSubmatch(line); m != nil {
			guideURL = strings.TrimRight(m[2], ",.;")
		}
		r := yimaWithin(t, 5*time.Minute, env, args...)
		if r.code != 0 {
			t.Fatalf("README's `%s` failed: %v", line, r)
		}
		ran[strings.Join(args[:2], " ")] = true
		if strings.HasPrefix(r.stdout, "serial,") {
			stdouts = append(stdouts, r.stdout)
		}
	}
	if base == "" {
		t.Fatal("README's commands set no base URL with `brand set --base-url`; update this test's reader")
	}
	for _, c := range []string{"brand set", "mint --product", "batch labels", "guide qr"} {
		if !ran[c] {
			t.Errorf("README's block ran no `%s`; update this test's reader", c)
		}
	}
	if guideURL != "" && !strings.HasPrefix(guideURL, base+"/G/") {
		t.Errorf("README says the guide's QR opens %s, not under the base URL %s", guideURL, base)
	}

	// lines checks a printed code list: a header, then one code a line
	// with its URL.
	lines := func(name, text string) {
		for i, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			if i == 0 && strings.HasPrefix(l, "serial,") {
				continue
			}
			if !strings.Contains(l, base+"/C/") {
				t.Errorf("%s line %d does not carry %s/C/: %q", name, i+1, base, l)
			}
		}
	}
	for _, s := range stdouts {
		lines("a command's output", s)
	}
	counts := map[string]int{}
	var pngs []string
	err = filepath.Walk(out, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		ext := strings.ToLower(filepath.Ext(path))
		counts[ext]++
		switch ext {
		case ".csv", ".txt":
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			lines(path, string(b))
		case ".png":
			pngs = append(pngs, path)
		case ".pdf":
			pages := printtest.RenderPages(t, path, 150)
			if len(pages) == 0 {
				t.Errorf("%s rendered no pages", path)
			}
			for _, p := range pages {
				got := printtest.DecodeQR(t, p)
				if len(got) == 0 {
					t.Errorf("%s page %s: no QR decoded", path, filepath.Base(p))
				}
				for _, u := range got {
					if !strings.HasPrefix(u, base+"/C/") {
						t.Errorf("%s page %s: a label opens %q, not %s/C/...", path, filepath.Base(p), u, base)
					}
				}
			}
		default:
			t.Errorf("the README's commands wrote %s, which this test cannot read; teach it", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if counts[".csv"] == 0 || counts[".pdf"] == 0 || len(pngs) < 2 {
		t.Errorf("the README's commands printed %v; want CSVs, label PDFs and PNG QRs (a guide's poster among them)", counts)
	}
	// One zbarimg for all images: each decodes to exactly one URL.
	got := printtest.DecodeQR(t, pngs...)
	if len(got) != len(pngs) {
		t.Errorf("%d PNGs decoded to %d QRs", len(pngs), len(got))
	}
	guides := 0
	for _, u := range got {
		switch {
		case strings.HasPrefix(u, base+"/C/"):
		case strings.HasPrefix(u, base+"/G/"):
			guides++
			if guideURL != "" && u != guideURL {
				t.Errorf("the guide's poster opens %q; README says %s", u, guideURL)
			}
		default:
			t.Errorf("a PNG QR opens %q, not under %s", u, base)
		}
	}
	if guides == 0 {
		t.Errorf("no guide poster decoded to %s/G/...", base)
	}
}
