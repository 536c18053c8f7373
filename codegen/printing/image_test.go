package printing_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/codegentest"
	"github.com/yima-dev/yima/codegen/printing"
)

func exampleURL(t *testing.T, host string) string {
	t.Helper()
	ks := codegentest.Keyset(t)
	s, _ := ks.Signer(ks.Primary, codegen.MaxBatch)
	return printing.URL("HTTPS://"+host, s.Code(codegen.MaxSerial))
}

// decodePNG decodes a symbol image and returns it with its side in modules,
// quiet zone included.
func decodePNG(t *testing.T, data []byte, module int) (image.Image, int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	b := img.Bounds()
	if b.Dx() != b.Dy() || b.Dx()%module != 0 {
		t.Fatalf("image is %dx%d, want a square of whole %d-pixel modules", b.Dx(), b.Dy(), module)
	}
	return img, b.Dx() / module
}

func isDark(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return r+g+b < 3*0x8000
}

// checkQuietZone fails if any pixel within quiet modules of the edge is dark,
// or if the symbol's outermost modules are all light (the quiet zone would
// then be wider than intended).
func checkQuietZone(t *testing.T, img image.Image, module, quiet int) {
	t.Helper()
	side := img.Bounds().Dx()
	q := quiet * module
	edgeDark := false
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			inZone := x < q || y < q || x >= side-q || y >= side-q
			if inZone && isDark(img, x, y) {
				t.Fatalf("pixel (%d,%d) in the %d-module quiet zone is dark", x, y, quiet)
			}
			if x == q || y == q {
				edgeDark = edgeDark || isDark(img, x, y)
			}
		}
	}
	if !edgeDark {
		t.Fatalf("no dark module next to the quiet zone: the symbol does not start at module %d", quiet)
	}
}

func TestQRVersionForHostLength(t *testing.T) {
	// docs/code-format.md: at level M, a host of up to 23 characters keeps
	// the URL in version 3; the default host gives a 50-character URL.
	cases := []struct {
		host    string
		version int
	}{
		{"YIMA.EXAMPLE", 3},
		{"QR.BRAND-EXAMPLE.COM", 3},    // 20
		{"SCAN.BRAND-EXAMPLE.CN", 3},   // 21
		{"ABCDEFGHIJKLMNOPQRS", 3},     // 19
		{"ABCDEFGHIJKLMNOPQRSTUVW", 3}, // 23
		{"ABCDEFGHIJKLMNOPQRSTUVWX", 4},
	}
	for _, c := range cases {
		url := exampleURL(t, c.host)
		if c.host == "YIMA.EXAMPLE" && len(url) != 50 {
			t.Fatalf("default URL %q has %d characters, want 50", url, len(url))
		}
		data, err := printing.Image(url, printing.ImageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		img, side := decodePNG(t, data, 8)
		modules := side - 2*4
		if v := (modules - 17) / 4; v != c.version {
			t.Errorf("%d-character host (%d-character URL): QR version %d (%d modules), want %d", len(c.host), len(url), v, modules, c.version)
		}
		checkQuietZone(t, img, 8, 4)
	}
}

func TestDataMatrixPNG(t *testing.T) {
	url := exampleURL(t, "YIMA.EXAMPLE")
	data, err := printing.Image(url, printing.ImageOptions{Symbology: printing.DataMatrix, ModuleSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	img, side := decodePNG(t, data, 5)
	checkQuietZone(t, img, 5, 2)
	// The finder pattern: the bottom row of the symbol is solid dark.
	for x := 2; x < side-2; x++ {
		if !isDark(img, x*5+2, (side-3)*5+2) {
			t.Fatalf("module (%d,%d) of the DataMatrix finder pattern is light", x, side-3)
		}
	}
}

func TestLowerCaseURLStillEncodes(t *testing.T) {
	if _, err := printing.Image("https://yima.example/c/abc", printing.ImageOptions{}); err != nil {
		t.Fatal(err)
	}
}

// svgModules checks that an SVG symbol is well-formed XML and returns its
// side in modules and its dark modules.
func svgModules(t *testing.T, data []byte) (int, map[[2]int]bool) {
	t.Helper()
	type rect struct {
		X      int `xml:"x,attr"`
		Y      int `xml:"y,attr"`
		Width  int `xml:"width,attr"`
		Height int `xml:"height,attr"`
	}
	var doc struct {
		XMLName xml.Name `xml:"http://www.w3.org/2000/svg svg"`
		ViewBox string   `xml:"viewBox,attr"`
		Rects   []rect   `xml:"g>rect"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("SVG is not well-formed: %v", err)
	}
	var side int
	if _, err := fmt.Sscanf(doc.ViewBox, "0 0 %d", &side); err != nil {
		t.Fatalf("viewBox %q: %v", doc.ViewBox, err)
	}
	dark := map[[2]int]bool{}
	for _, r := range doc.Rects {
		for x := r.X; x < r.X+r.Width; x++ {
			dark[[2]int{x, r.Y}] = true
		}
	}
	return side, dark
}

func TestSVGMatchesPNG(t *testing.T) {
	url := exampleURL(t, "YIMA.EXAMPLE")
	for _, sym := range []printing.Symbology{printing.QR, printing.DataMatrix} {
		svg, err := printing.Image(url, printing.ImageOptions{Symbology: sym, Format: printing.SVG})
		if err != nil {
			t.Fatal(err)
		}
		side, dark := svgModules(t, svg)
		pngData, _ := printing.Image(url, printing.ImageOptions{Symbology: sym, ModuleSize: 1})
		img, pside := decodePNG(t, pngData, 1)
		if side != pside {
			t.Fatalf("%s: SVG is %d modules wide, PNG %d", sym, side, pside)
		}
		for y := 0; y < side; y++ {
			for x := 0; x < side; x++ {
				if dark[[2]int{x, y}] != isDark(img, x, y) {
					t.Fatalf("%s: module (%d,%d) differs between SVG and PNG", sym, x, y)
				}
			}
		}
	}
}

// TestSymbolsDecode reads the symbols back with zbarimg and dmtxread where
// they are installed (apt-get install zbar-tools dmtx-utils); without them
// there is no decoder to ask.
func TestSymbolsDecode(t *testing.T) {
	url := exampleURL(t, "YIMA.EXAMPLE")
	for _, c := range []struct {
		sym  printing.Symbology
		tool string
		args []string
	}{
		{printing.QR, "zbarimg", []string{"--quiet", "--raw"}},
		{printing.DataMatrix, "dmtxread", nil},
	} {
		t.Run(string(c.sym), func(t *testing.T) {
			tool, err := exec.LookPath(c.tool)
			if err != nil {
				t.Skip(c.tool + " not installed")
			}
			data, err := printing.Image(url, printing.ImageOptions{Symbology: c.sym})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "symbol.png")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(tool, append(c.args, path)...).Output()
			if err != nil || strings.TrimSpace(string(out)) != url {
				t.Fatalf("%s read %q, %v; want %q", c.tool, out, err, url)
			}
		})
	}
}

func TestExportImages(t *testing.T) {
	ks := codegentest.Keyset(t)
	s, _ := ks.Signer(ks.Primary, 9)
	opts := printing.ImageExportOptions{Batch: 9, From: 11, To: 17, Workers: 3}
	var want []string
	for serial := opts.From; serial <= opts.To; serial++ {
		want = append(want, fmt.Sprintf("%d-%s.png", serial, s.Code(serial)))
	}

	dir := filepath.Join(t.TempDir(), "labels")
	if n, err := printing.ExportImagesDir(context.Background(), dir, ks, opts); err != nil || n != 7 {
		t.Fatalf("ExportImagesDir = %d, %v", n, err)
	}
	for _, name := range want {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		decodePNG(t, data, 8)
	}

	for _, format := range []printing.ImageFormat{printing.PNG, printing.SVG} {
		var buf bytes.Buffer
		opts.Image.Format = format
		if n, err := printing.ExportImagesZip(context.Background(), &buf, ks, opts); err != nil || n != 7 {
			t.Fatalf("ExportImagesZip = %d, %v", n, err)
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != len(want) {
			t.Fatalf("zip has %d files, want %d", len(zr.File), len(want))
		}
		for i, f := range zr.File {
			if name := strings.TrimSuffix(want[i], ".png") + "." + string(format); f.Name != name {
				t.Fatalf("zip file %d is %s, want %s", i, f.Name, name)
			}
			rc, _ := f.Open()
			data, _ := io.ReadAll(rc)
			rc.Close()
			if format == printing.PNG {
				decodePNG(t, data, 8)
			} else {
				svgModules(t, data)
			}
		}
	}
}

func TestExportImagesCancel(t *testing.T) {
	ks := codegentest.Keyset(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := printing.ImageExportOptions{Batch: 1, From: 1, To: 100_000, Progress: func(done uint64) {
		if done == 10 {
			cancel()
		}
	}}
	n, err := printing.ExportImagesZip(ctx, io.Discard, ks, opts)
	if !errors.Is(err, context.Canceled) || n != 10 {
		t.Fatalf("cancelled image export = %d, %v; want 10, context.Canceled", n, err)
	}
}

func BenchmarkImage(b *testing.B) {
	ks := codegentest.Keyset(b)
	s, _ := ks.Signer(ks.Primary, 1)
	url := printing.URL(printing.DefaultBaseURL, s.Code(1))
	for _, sym := range []printing.Symbology{printing.QR, printing.DataMatrix} {
		for _, f := range []printing.ImageFormat{printing.PNG, printing.SVG} {
			b.Run(string(sym)+"/"+string(f), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := printing.Image(url, printing.ImageOptions{Symbology: sym, Format: f}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
