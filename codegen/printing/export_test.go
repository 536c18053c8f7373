package printing_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/codegentest"
	"github.com/yima-dev/yima/codegen/printing"
)

// checkExport parses an export and compares every line with Signer.Code.
func checkExport(t *testing.T, ks *codegen.Keyset, opts printing.ExportOptions, out []byte) {
	t.Helper()
	s, err := ks.Signer(ks.Primary, opts.Batch)
	if err != nil {
		t.Fatal(err)
	}
	base := opts.BaseURL
	if base == "" {
		base = printing.DefaultBaseURL
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	if opts.Format == printing.FormatCSV {
		if !sc.Scan() || sc.Text() != "serial,code,url" {
			t.Fatalf("first line %q, want the CSV header", sc.Text())
		}
	}
	serial := opts.From
	for ; sc.Scan(); serial++ {
		code := s.Code(serial)
		want := printing.URL(base, code)
		if opts.Format == printing.FormatCSV {
			want = fmt.Sprintf("%d,%s,%s", serial, code, want)
		}
		if sc.Text() != want {
			t.Fatalf("line for serial %d is %q, want %q", serial, sc.Text(), want)
		}
	}
	if serial != opts.To+1 {
		t.Fatalf("export ended before serial %d, want %d lines", serial, opts.To-opts.From+1)
	}
}

func TestExportMatchesSigner(t *testing.T) {
	ks := codegentest.Keyset(t)
	ranges := map[string][2]uint32{
		"one code":          {1, 1},
		"within one chunk":  {3, 9},
		"exact chunks":      {1, 7 * 4},
		"across chunks":     {5, 5 + 7*9 + 3},
		"up to max serial":  {codegen.MaxSerial - 30, codegen.MaxSerial},
		"more than workers": {100, 100 + 7*13},
	}
	for name, r := range ranges {
		for _, f := range []printing.Format{printing.FormatCSV, printing.FormatTXT} {
			t.Run(name+"/"+string(f), func(t *testing.T) {
				opts := printing.ExportOptions{Batch: 77, From: r[0], To: r[1], Format: f, ChunkSize: 7, Workers: 3}
				var out bytes.Buffer
				var progress []uint64
				opts.Progress = func(done uint64) { progress = append(progress, done) }
				n, err := printing.Export(context.Background(), &out, ks, opts)
				if err != nil {
					t.Fatal(err)
				}
				if total := uint64(r[1]-r[0]) + 1; n != total || progress[len(progress)-1] != total {
					t.Fatalf("wrote %d codes, last progress %d, want %d", n, progress[len(progress)-1], total)
				}
				for i := 1; i < len(progress); i++ {
					if progress[i] <= progress[i-1] {
						t.Fatalf("progress went %v", progress)
					}
				}
				checkExport(t, ks, opts, out.Bytes())
			})
		}
	}
}

func TestExportBaseURL(t *testing.T) {
	ks := codegentest.Keyset(t)
	opts := printing.ExportOptions{Batch: 1, From: 1, To: 3, Format: printing.FormatTXT, BaseURL: "HTTPS://Q.EXAMPLE.CN/"}
	var out bytes.Buffer
	if _, err := printing.Export(context.Background(), &out, ks, opts); err != nil {
		t.Fatal(err)
	}
	opts.BaseURL = "HTTPS://Q.EXAMPLE.CN"
	checkExport(t, ks, opts, out.Bytes())
}

func TestExportRefusesBadOptions(t *testing.T) {
	ks := codegentest.Keyset(t)
	cases := map[string]printing.ExportOptions{
		"serial 0":        {Batch: 1, From: 0, To: 5},
		"reversed range":  {Batch: 1, From: 5, To: 4},
		"past max serial": {Batch: 1, From: 1, To: codegen.MaxSerial + 1},
		"batch 0":         {Batch: 0, From: 1, To: 5},
		"unknown format":  {Batch: 1, From: 1, To: 5, Format: "xlsx"},
		"unknown key":     {Batch: 1, From: 1, To: 5, Key: 30},
		"comma in URL":    {Batch: 1, From: 1, To: 5, BaseURL: "HTTPS://A,B"},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			if n, err := printing.Export(context.Background(), io.Discard, ks, opts); err == nil || n != 0 {
				t.Fatalf("Export = %d, %v; want an error", n, err)
			}
		})
	}
}

func TestExportCancel(t *testing.T) {
	ks := codegentest.Keyset(t)
	opts := printing.ExportOptions{Batch: 1, From: 1, To: 1_000_000, Format: printing.FormatTXT, ChunkSize: 1000}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := printing.Export(ctx, io.Discard, ks, opts); !errors.Is(err, context.Canceled) || n != 0 {
		t.Fatalf("Export with a cancelled context = %d, %v; want 0, context.Canceled", n, err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	opts.Progress = func(done uint64) {
		if done >= 5000 {
			cancel()
		}
	}
	start := time.Now()
	n, err := printing.Export(ctx, io.Discard, ks, opts)
	if !errors.Is(err, context.Canceled) || n != 5000 {
		t.Fatalf("Export cancelled after 5000 codes = %d, %v; want 5000, context.Canceled", n, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancelled export took %v", d)
	}
}

type failingWriter struct{ left int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.left <= 0 {
		return 0, errors.New("disk full")
	}
	w.left--
	return len(p), nil
}

func TestExportWriteError(t *testing.T) {
	ks := codegentest.Keyset(t)
	opts := printing.ExportOptions{Batch: 1, From: 1, To: 100_000, Format: printing.FormatCSV, ChunkSize: 100}
	n, err := printing.Export(context.Background(), &failingWriter{left: 3}, ks, opts)
	if err == nil || !strings.Contains(err.Error(), "disk full") || n != 200 {
		t.Fatalf("Export to a writer failing at its 4th write = %d, %v; want 200 codes (after the header and two chunks) and the write error", n, err)
	}
}

func BenchmarkExport(b *testing.B) {
	ks := codegentest.Keyset(b)
	const codes = 1_000_000
	for _, f := range []printing.Format{printing.FormatTXT, printing.FormatCSV} {
		b.Run(string(f), func(b *testing.B) {
			opts := printing.ExportOptions{Batch: 1, From: 1, To: codes, Format: f}
			var bytes int64
			cw := writeCounter{&bytes}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := printing.Export(context.Background(), cw, ks, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(codes*b.N)/b.Elapsed().Seconds(), "codes/s")
			b.ReportMetric(float64(bytes)/float64(codes*b.N), "B/code")
		})
	}
}

type writeCounter struct{ n *int64 }

func (w writeCounter) Write(p []byte) (int, error) { *w.n += int64(len(p)); return len(p), nil }

// BenchmarkExportFile is the target case: ten million txt codes into a
// file, about 510 MB, page cache included (not fsync).
func BenchmarkExportFile(b *testing.B) {
	ks := codegentest.Keyset(b)
	const codes = 10_000_000
	path := filepath.Join(b.TempDir(), "codes.txt")
	opts := printing.ExportOptions{Batch: 1, From: 1, To: codes, Format: printing.FormatTXT}
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := printing.Export(context.Background(), f, ks, opts); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(codes*b.N)/b.Elapsed().Seconds(), "codes/s")
}
