package main

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests in this file run yima mint and yima verify: codes to files,
// pipes and images, what a failed mint leaves, and offline verification.

// TestMintAndVerify mints a batch to a CSV file and verifies its codes
// offline, in every spelling a person types, then refuses what is not a
// code. Each step is a subtest; a step that needs the minted codes is
// skipped when the mint failed.
func TestMintAndVerify(t *testing.T) {
	data := newData(t)
	outDir := t.TempDir()
	csvPath := filepath.Join(outDir, "codes.csv")
	var codes []string
	minted := false
	t.Run("mint to a csv file", func(t *testing.T) {
		r := mustYima(t, "mint", "--data", data, "--product", "SKU-A", "--count", "20", "--activate", "--points", "7", "--out", csvPath)
		minted = true
		if !strings.Contains(r.stderr, "minted batch 1") {
			t.Errorf("the summary does not name the batch: %q", r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("mint --out wrote to stdout: %q", r.stdout)
		}
		lines := readLines(t, csvPath)
		if len(lines) != 21 || lines[0] != "serial,code,url" {
			t.Fatalf("csv has %d lines starting %q; want a header and 20 codes", len(lines), lines[0])
		}
		for _, p := range []string{filepath.Join(data, "admin.token"), filepath.Join(data, "keys.json")} {
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v, mode %v; want 0600", p, err, fi.Mode().Perm())
			}
		}
		var got []string
		for i, line := range lines[1:] {
			f := strings.Split(line, ",")
			if len(f) != 3 || f[0] != fmt.Sprint(i+1) || f[2] != "HTTPS://YIMA.EXAMPLE/C/"+f[1] {
				t.Fatalf("line %d: %q", i+2, line)
			}
			got = append(got, f[1])
		}
		codes = got
	})

	type description struct {
		Genuine bool   `json:"genuine"`
		Code    string `json:"code"`
		Batch   uint32 `json:"batch"`
		Serial  uint32 `json:"serial"`
		Product string `json:"product"`
		State   string `json:"state"`
		Reason  string `json:"reason"`
	}
	t.Run("verify genuine", func(t *testing.T) {
		if len(codes) != 20 {
			t.Skip("needs the minted codes, which the mint failed to write")
		}
		for _, tc := range []struct {
			name, text string
			serial     uint32
		}{
			{"canonical", codes[4], 5},
			{"lower case", strings.ToLower(codes[9]), 10},
			{"hyphenated", codes[0][:9] + "-" + codes[0][9:], 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := yima(t, "verify", "--data", data, tc.text)
				var d description
				if r.code != 0 || json.Unmarshal([]byte(r.stdout), &d) != nil {
					t.Fatalf("verify %s: %v", tc.name, r)
				}
				if !d.Genuine || d.Batch != 1 || d.Serial != tc.serial || d.Product != "SKU-A" || d.State != "active" || d.Code != codes[tc.serial-1] {
					t.Errorf("verify %s: %+v", tc.name, d)
				}
			})
		}
	})
	t.Run("verify refuses", func(t *testing.T) {
		if len(codes) != 20 {
			t.Skip("needs the minted codes, which the mint failed to write")
		}
		for _, tc := range []struct{ name, text, reason string }{
			{"forged", forge(codes[3]), "forged"},
			{"truncated", codes[3][:20], "malformed"},
			{"garbage", "HELLO", "malformed"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := yima(t, "verify", "--data", data, tc.text)
				var d description
				if r.code != 1 || json.Unmarshal([]byte(r.stdout), &d) != nil || d.Genuine || d.Reason != tc.reason {
					t.Errorf("verify %s: want exit 1 and reason %s; %v", tc.name, tc.reason, r)
				}
			})
		}
	})

	t.Run("mint txt to stdout", func(t *testing.T) {
		r := mustYima(t, "mint", "--data", data, "--product", "SKU-B", "--count", "5", "--format", "txt")
		if got := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(got) != 5 || !strings.HasPrefix(got[0], "HTTPS://YIMA.EXAMPLE/C/") {
			t.Errorf("txt to stdout: %q", r.stdout)
		}
		if !minted {
			t.Skip("the batch list needs the first mint, which failed")
		}
		if ids := batchIDs(t, data); strings.Join(ids, ",") != "1,2" {
			t.Fatalf("batches after two mints: %v", ids)
		}
	})
}

// TestMintFailures checks that a mint that fails says why, exits non-zero,
// leaves no file under the final name (nor a partial one beside it) and
// records no batch.
func TestMintFailures(t *testing.T) {
	data := newMinted(t, "--product", "SKU-A", "--count", "3")
	outDir := t.TempDir()
	existingDir := filepath.Join(outDir, "already-a-directory")
	if err := os.Mkdir(existingDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		out  string
		args []string
		msg  string
	}{
		{"nonexistent directory", filepath.Join(outDir, "no", "such", "dir", "codes.csv"), nil, "cannot write"},
		{"count zero", filepath.Join(outDir, "zero.csv"), []string{"--count", "0"}, "--count"},
		{"negative count", filepath.Join(outDir, "neg.csv"), []string{"--count", "-5"}, "count"},
		{"count beyond the layout", filepath.Join(outDir, "huge.csv"), []string{"--count", "200000000"}, "count"},
		{"bad format", filepath.Join(outDir, "fmt.csv"), []string{"--format", "xlsx"}, "--format"},
		{"no product", filepath.Join(outDir, "noproduct.csv"), []string{"--product", ""}, "--product"},
		{"bad gtin", filepath.Join(outDir, "gtin.csv"), []string{"--gtin", "12AB"}, "gtin"},
		{"out is a directory", existingDir, nil, "directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"mint", "--data", data, "--product", "SKU-F", "--count", "10", "--out", tc.out}
			r := yima(t, append(args, tc.args...)...)
			if r.code == 0 {
				t.Fatalf("mint succeeded: %v", r)
			}
			if !strings.Contains(r.stderr, tc.msg) || !strings.HasPrefix(r.stderr, "yima: ") {
				t.Errorf("stderr %q does not explain (want %q)", r.stderr, tc.msg)
			}
			if tc.out != existingDir {
				if _, err := os.Stat(tc.out); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s exists after a failed mint: %v", tc.out, err)
				}
			} else if fi, err := os.Stat(tc.out); err != nil || !fi.IsDir() {
				t.Errorf("the directory named by --out was replaced: %v", err)
			}
			if ids := batchIDs(t, data); len(ids) != 1 {
				t.Errorf("a failed mint recorded a batch: %v", ids)
			}
		})
	}
	left, _ := filepath.Glob(filepath.Join(outDir, "*"))
	if len(left) != 1 || left[0] != existingDir {
		t.Errorf("failed mints left files behind: %v", left)
	}
	dirLeft, _ := os.ReadDir(existingDir)
	if len(dirLeft) != 0 {
		t.Errorf("failed mints left files in %s: %v", existingDir, dirLeft)
	}
}

// TestMintImages draws one image per code into a directory (named with a
// trailing slash, as people type it) and into a zip archive.
func TestMintImages(t *testing.T) {
	data := newData(t)
	out := t.TempDir()
	dir := filepath.Join(out, "labels")
	mustYima(t, "mint", "--data", data, "--product", "SKU-Q", "--count", "3", "--format", "txt",
		"--out", filepath.Join(out, "codes.txt"), "--qr", "svg", "--qr-dir", dir+"/")
	files, err := os.ReadDir(dir)
	if err != nil || len(files) != 3 || !strings.HasSuffix(files[0].Name(), ".svg") {
		t.Fatalf("image directory: %v, %d files; want 3 SVG files", err, len(files))
	}
	zipPath := filepath.Join(out, "dm.zip")
	mustYima(t, "mint", "--data", data, "--product", "SKU-Q", "--count", "2", "--qr", "png",
		"--symbology", "datamatrix", "--qr-dir", zipPath)
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 2 || !strings.HasSuffix(zr.File[0].Name, ".png") {
		t.Fatalf("archive holds %d files; want 2 PNG files", len(zr.File))
	}
}

// TestMintToAPipe mints into a named pipe, as into a printer's port: the
// codes arrive through it, and it is still a pipe afterwards rather than a
// plain file renamed over it.
func TestMintToAPipe(t *testing.T) {
	data := newData(t)
	fifo := filepath.Join(t.TempDir(), "printer")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	got := make(chan []byte, 1)
	go func() {
		raw, _ := os.ReadFile(fifo)
		got <- raw
	}()
	mustYima(t, "mint", "--data", data, "--product", "SKU-A", "--count", "5", "--format", "txt", "--out", fifo)
	select {
	case raw := <-got:
		if lines := strings.Split(strings.TrimSpace(string(raw)), "\n"); len(lines) != 5 {
			t.Errorf("read %d lines through the pipe: %q", len(lines), raw)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("nothing came through the pipe")
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("after the mint the pipe is %v, %v", fi.Mode(), err)
	}
}

// TestMintWithPINs: mint --claim pin writes each code's PIN in the CSV and,
// with --pin-out, serial,pin lines for the inner print station; batch
// codes --format pins writes them again, the same.
func TestMintWithPINs(t *testing.T) {
	data := newData(t)
	dir := t.TempDir()
	csv, pins := filepath.Join(dir, "codes.csv"), filepath.Join(dir, "pins.csv")
	r := mustYima(t, "mint", "--data", data, "--product", "SKU-PIN", "--count", "5", "--claim", "pin", "--pin-digits", "7", "--out", csv, "--pin-out", pins)
	if !strings.Contains(r.stderr, "7-digit inner PIN") {
		t.Errorf("mint's summary: %s", r.stderr)
	}
	lines, inner := readLines(t, csv), readLines(t, pins)
	if lines[0] != "serial,code,url,pin" || inner[0] != "serial,pin" || len(lines) != 6 || len(inner) != 6 {
		t.Fatalf("codes %q, pins %q", lines, inner)
	}
	for i := 1; i < 6; i++ {
		f := strings.Split(lines[i], ",")
		if len(f[3]) != 7 || inner[i] != f[0]+","+f[3] {
			t.Fatalf("line %d: %q against %q", i, lines[i], inner[i])
		}
	}
	again := mustYima(t, "batch", "codes", "1", "--data", data, "--format", "pins")
	if strings.TrimSpace(again.stdout) != strings.Join(inner, "\n") {
		t.Errorf("batch codes --format pins: %q", again.stdout)
	}
	for _, args := range [][]string{
		{"mint", "--product", "P", "--count", "1", "--claim", "sms"},
		{"mint", "--product", "P", "--count", "1", "--claim", "pin", "--pin-digits", "9"},
		{"mint", "--product", "P", "--count", "1", "--pin-out", filepath.Join(dir, "x.csv")},
	} {
		if r := yima(t, append(args, "--data", data)...); r.code != 2 {
			t.Errorf("yima %s: %v, want exit 2", strings.Join(args, " "), r)
		}
	}
	// A batch without PINs has none to print.
	mustYima(t, "mint", "--data", data, "--product", "SKU-PLAIN", "--count", "1", "--out", filepath.Join(dir, "plain.csv"))
	if r := yima(t, "batch", "codes", "2", "--data", data, "--format", "pins"); r.code != 1 || !strings.Contains(r.stderr, "without PINs") {
		t.Errorf("pins of a plain batch: %v", r)
	}
}
