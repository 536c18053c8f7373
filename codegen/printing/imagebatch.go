package printing

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/yima-dev/yima/codegen"
)

// ImageExportOptions say which codes ExportImagesDir and ExportImagesZip
// draw, and how.
type ImageExportOptions struct {
	// Key is the signing key id; 0 means the keyset's primary key.
	Key uint8
	// Version is the batch's code version (the batch record says which);
	// 0 means codegen.MintVersion, for a batch minted now.
	Version uint8
	// Batch is the batch id, 1..MaxBatch.
	Batch uint32
	// From and To are the first and last serial, inclusive, 1..MaxSerial.
	From, To uint32
	// BaseURL defaults to DefaultBaseURL; a trailing slash is dropped.
	BaseURL string
	// Workers is the number of drawing goroutines, default GOMAXPROCS.
	Workers int
	Image   ImageOptions
	// Progress, if set, is called with the number of files written so far,
	// from the goroutine that called the export.
	Progress func(done uint64)
}

// ExportImagesDir writes one image file per code into dir (created if
// missing), named <serial>-<code>.png or .svg.
func ExportImagesDir(ctx context.Context, dir string, ks *codegen.Keyset, opts ImageExportOptions) (uint64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("printing: %w", err)
	}
	return exportImages(ctx, ks, opts, func(name string, data []byte) error {
		return os.WriteFile(filepath.Join(dir, name), data, 0o644)
	})
}

// ExportImagesZip writes one image file per code, named as ExportImagesDir
// names them, into a zip archive on w. PNG files are stored as they are
// (they are compressed already); SVG files are deflated. On error the archive
// is left without its central directory, so that no reader mistakes it for a
// whole one.
func ExportImagesZip(ctx context.Context, w io.Writer, ks *codegen.Keyset, opts ImageExportOptions) (uint64, error) {
	zw := zip.NewWriter(w)
	method := zip.Store
	if opts.Image.Format == SVG {
		method = zip.Deflate
	}
	now := time.Now()
	n, err := exportImages(ctx, ks, opts, func(name string, data []byte) error {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: now})
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		return err
	})
	if err != nil {
		return n, err
	}
	if err := zw.Close(); err != nil {
		return n, fmt.Errorf("printing: finishing zip archive: %w", err)
	}
	return n, nil
}

type imageFile struct {
	name string
	data []byte
	err  error
}

// exportImages draws the codes in parallel (inOrder) and hands the files to
// put in serial order, from the calling goroutine.
func exportImages(ctx context.Context, ks *codegen.Keyset, opts ImageExportOptions, put func(name string, data []byte) error) (uint64, error) {
	if err := opts.Image.ensureDefaults(); err != nil {
		return 0, err
	}
	if err := rangeDefaults(ks, &opts.Key, opts.From, opts.To, &opts.BaseURL, &opts.Workers); err != nil {
		return 0, err
	}
	total := uint64(opts.To-opts.From) + 1
	workers := int(min(uint64(opts.Workers), total))
	signers, err := newSigners(ks, opts.Version, opts.Key, opts.Batch, workers)
	if err != nil {
		return 0, err
	}
	prefix := opts.BaseURL + "/C/"
	ext := "." + string(opts.Image.Format)
	// A symbol takes tens of microseconds to draw, so one channel send per
	// file costs nothing that matters.
	next, stop := inOrder(ctx, total, workers, 4, func(i int, k uint64) imageFile {
		serial := opts.From + uint32(k)
		code := signers[i].Code(serial)
		f := imageFile{name: strconv.FormatUint(uint64(serial), 10) + "-" + code + ext}
		f.data, f.err = Image(prefix+code, opts.Image)
		return f
	})
	defer stop()

	var done uint64
	for range total {
		f, err := next()
		if err != nil {
			return done, fmt.Errorf("printing: image export stopped after %d of %d codes: %w", done, total, err)
		}
		if f.err != nil {
			return done, f.err
		}
		if err := put(f.name, f.data); err != nil {
			return done, fmt.Errorf("printing: writing %s: %w", f.name, err)
		}
		done++
		if opts.Progress != nil {
			opts.Progress(done)
		}
	}
	return done, nil
}
