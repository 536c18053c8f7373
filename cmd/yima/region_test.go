package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRegionSources: a region header that no trusted proxy sets, and
// a region table that does not parse, stop serve with a usage error that
// says what to fix, before it opens the store.
func TestServeRegionSources(t *testing.T) {
	data := newData(t)
	r := yimaEnv(t, nil, "serve", "--data", data, "--region-header", "X-Region")
	if r.code != 2 || !strings.Contains(r.stderr, "--trusted-proxy") {
		t.Errorf("--region-header without a trusted proxy: %v", r)
	}
	table := filepath.Join(t.TempDir(), "regions.csv")
	if err := os.WriteFile(table, []byte("10.0.0.0/8,north\nnot-a-range,east\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = yimaEnv(t, nil, "serve", "--data", data, "--region-table", table)
	if r.code != 2 || !strings.Contains(r.stderr, "line 2") {
		t.Errorf("a region table with a bad line: %v", r)
	}
	r = yimaEnv(t, nil, "serve", "--data", data, "--region-table", filepath.Join(t.TempDir(), "missing.csv"))
	if r.code != 2 || !strings.Contains(r.stderr, "--region-table") {
		t.Errorf("a missing region table: %v", r)
	}
}
