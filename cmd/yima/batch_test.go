package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBatchLabels writes label sheets directly and through a running
// server with a factory token, and refuses a range the batch lacks without
// leaving a file.
func TestBatchLabels(t *testing.T) {
	data := newMinted(t, "--product", "SKU-A", "--count", "45")
	dir := t.TempDir()
	pages := func(path string) int {
		t.Helper()
		raw, err := os.ReadFile(path)
		if err != nil || !bytes.HasPrefix(raw, []byte("%PDF-")) {
			t.Fatalf("%s is not a PDF: %v", path, err)
		}
		return len(regexp.MustCompile(`/Type /Page\b[^s]`).FindAll(raw, -1))
	}
	all := filepath.Join(dir, "all.pdf")
	mustYima(t, "batch", "labels", "1", "--data", data, "--out", all)
	if n := pages(all); n != 2 {
		t.Errorf("45 labels at 40 a page: %d pages", n)
	}
	bad := filepath.Join(dir, "bad.pdf")
	if r := yima(t, "batch", "labels", "1", "--data", data, "--from", "41", "--to", "50", "--out", bad); r.code == 0 || !strings.Contains(r.stderr, "not within") {
		t.Errorf("labels beyond the batch: %v", r)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("a refused label sheet left a file")
	}

	admin := adminToken(t, data)
	srv := startServe(t, data)
	defer srv.stop()
	factory := strings.TrimSpace(mustYima(t, "token", "create", "--role", "factory", "--server", srv.url, "--token", admin).stdout)
	some := filepath.Join(dir, "some.pdf")
	// Batch 1 is the brand's: a factory token prints only its own batches.
	if r := yima(t, "batch", "labels", "1", "--server", srv.url, "--token", factory, "--out", some); r.code != 1 || !strings.Contains(r.stderr, "forbidden") {
		t.Errorf("a factory token printed the brand's batch: %v", r)
	}
	mustYima(t, "batch", "labels", "1", "--server", srv.url, "--token", admin, "--from", "1", "--to", "4", "--columns", "2", "--rows", "2", "--out", some)
	if n := pages(some); n != 1 {
		t.Errorf("4 labels at 4 a page, through the server: %d pages", n)
	}
}
