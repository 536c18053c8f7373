package main

import (
	"path/filepath"
	"strings"
	"testing"
)

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
