package printing

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strconv"
	"sync"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/datamatrix"
	"github.com/boombuler/barcode/qr"
)

// Symbology is the kind of 2D symbol a code is printed as.
type Symbology string

const (
	// QR is what consumers' phone cameras read without an app.
	QR Symbology = "qr"
	// DataMatrix is smaller for the same data and what many industrial
	// line scanners expect; phones need an app to read it.
	DataMatrix Symbology = "datamatrix"
)

// ImageFormat is the file format of a rendered symbol.
type ImageFormat string

const (
	PNG ImageFormat = "png"
	SVG ImageFormat = "svg"
)

// ImageOptions say how a symbol is drawn. The zero value draws a QR symbol
// as PNG with 8-pixel modules.
type ImageOptions struct {
	Symbology Symbology
	Format    ImageFormat
	// ModuleSize is the side of one module in pixels (PNG) or user units
	// (SVG); default 8.
	ModuleSize int
}

func (o *ImageOptions) ensureDefaults() error {
	if o.Symbology == "" {
		o.Symbology = QR
	}
	if o.Format == "" {
		o.Format = PNG
	}
	if o.ModuleSize <= 0 {
		o.ModuleSize = 8
	}
	switch {
	case o.Symbology != QR && o.Symbology != DataMatrix:
		return fmt.Errorf("printing: unknown symbology %q (want qr or datamatrix)", o.Symbology)
	case o.Format != PNG && o.Format != SVG:
		return fmt.Errorf("printing: unknown image format %q (want png or svg)", o.Format)
	}
	return nil
}

// Quiet zones, in modules, on every side of the symbol. A scanner finds the
// symbol by its edge, so the light margin is part of the image rather than
// left to the label layout.
const (
	// qrQuietZone is what ISO/IEC 18004 requires.
	qrQuietZone = 4
	// dmQuietZone is twice the 1 module ISO/IEC 16022 requires, for the
	// misregistration of printing on packaging.
	dmQuietZone = 2
)

// symbol is a module matrix with its quiet zone: dark[y*size+x].
type symbol struct {
	size int
	dark []bool
}

func encodeSymbol(text string, sym Symbology) (symbol, error) {
	var bc barcode.Barcode
	var err error
	quiet := qrQuietZone
	switch sym {
	case QR:
		// Level M restores up to 15% of the symbol: enough for scuffs and
		// curvature on printed packaging, while a URL with a host of up to
		// 23 characters still fits version 3 (29 modules), which keeps the
		// modules large on a small label. Level Q would need version 4.
		// Alphanumeric mode is why URLs are upper case; a URL with lower
		// case letters falls back to byte mode and a larger symbol.
		bc, err = qr.Encode(text, qr.M, qr.AlphaNumeric)
		if err != nil {
			bc, err = qr.Encode(text, qr.M, qr.Unicode)
		}
	case DataMatrix:
		quiet = dmQuietZone
		bc, err = datamatrix.Encode(text)
	}
	if err != nil {
		return symbol{}, fmt.Errorf("printing: encoding %q as %s: %w", text, sym, err)
	}
	// At scale 1 the barcode's pixels are its modules.
	b := bc.Bounds()
	if b.Dx() != b.Dy() {
		return symbol{}, fmt.Errorf("printing: %s symbol is %dx%d, not square", sym, b.Dx(), b.Dy())
	}
	s := symbol{size: b.Dx() + 2*quiet}
	s.dark = make([]bool, s.size*s.size)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := bc.At(b.Min.X+x, b.Min.Y+y).RGBA()
			s.dark[(y+quiet)*s.size+x+quiet] = r+g+bl < 3*0x8000
		}
	}
	return s, nil
}

// WriteImage draws text (a code's URL) as one symbol, quiet zone included.
func WriteImage(w io.Writer, text string, opts ImageOptions) error {
	if err := opts.ensureDefaults(); err != nil {
		return err
	}
	s, err := encodeSymbol(text, opts.Symbology)
	if err != nil {
		return err
	}
	if opts.Format == SVG {
		_, err = w.Write(s.appendSVG(nil, opts.ModuleSize))
		return err
	}
	return pngEncoder.Encode(w, s.image(opts.ModuleSize))
}

// pngEncoder reuses its compressor state across images: without the pool
// each PNG allocates about a megabyte of zlib tables. It compresses at the
// fastest level: a symbol's rows repeat module by module, which even that
// level finds, so a PNG grows from about 380 to 570 bytes while drawing it
// takes an eighth of the time (a tenth of a millisecond against four, for
// a code's URL): minting a batch with images waits for the drawing, not
// for the disk.
var pngEncoder = &png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngPool{}}

type pngPool struct{ p sync.Pool }

func (p *pngPool) Get() *png.EncoderBuffer {
	b, _ := p.p.Get().(*png.EncoderBuffer)
	return b
}

func (p *pngPool) Put(b *png.EncoderBuffer) { p.p.Put(b) }

// Image returns the symbol of text, quiet zone included, as a PNG or SVG
// file's bytes.
func Image(text string, opts ImageOptions) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteImage(&buf, text, opts); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// image draws the symbol with two palette entries, which PNG stores at one
// bit a pixel.
func (s symbol) image(module int) *image.Paletted {
	side := s.size * module
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for my := 0; my < s.size; my++ {
		// Draw the first pixel row of this module row, then copy it.
		first := img.Pix[my*module*img.Stride:][:side]
		for mx, dark := range s.dark[my*s.size : (my+1)*s.size] {
			if dark {
				for i := mx * module; i < (mx+1)*module; i++ {
					first[i] = 1
				}
			}
		}
		for y := my*module + 1; y < (my+1)*module; y++ {
			copy(img.Pix[y*img.Stride:][:side], first)
		}
	}
	return img
}

// appendSVG writes one <rect> per horizontal run of dark modules on a white
// background, in module units scaled by width and height.
func (s symbol) appendSVG(b []byte, module int) []byte {
	n := strconv.Itoa(s.size)
	px := strconv.Itoa(s.size * module)
	b = append(b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="`+px+`" height="`+px+
		`" viewBox="0 0 `+n+` `+n+`" shape-rendering="crispEdges">`+"\n"+
		`<rect width="`+n+`" height="`+n+`" fill="#fff"/>`+"\n"+`<g fill="#000">`+"\n"...)
	for y := 0; y < s.size; y++ {
		row := s.dark[y*s.size : (y+1)*s.size]
		for x := 0; x < s.size; {
			if !row[x] {
				x++
				continue
			}
			end := x
			for end < s.size && row[end] {
				end++
			}
			b = append(b, `<rect x="`...)
			b = strconv.AppendInt(b, int64(x), 10)
			b = append(b, `" y="`...)
			b = strconv.AppendInt(b, int64(y), 10)
			b = append(b, `" width="`...)
			b = strconv.AppendInt(b, int64(end-x), 10)
			b = append(b, `" height="1"/>`+"\n"...)
			x = end
		}
	}
	return append(b, "</g>\n</svg>\n"...)
}
