package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupCommand backs a data directory up directly and through a
// running server, and reads each copy as a data directory of its own.
func TestBackupCommand(t *testing.T) {
	data := newMinted(t, "--product", "SKU-A", "--count", "3", "--activate")
	direct := filepath.Join(t.TempDir(), "direct")
	mustYima(t, "backup", "--data", data, direct)
	if ids := batchIDs(t, direct); strings.Join(ids, ",") != "1" {
		t.Errorf("batches in the direct backup: %v", ids)
	}
	if r := yima(t, "backup", "--data", data, direct); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("a backup into an existing directory: %v", r)
	}

	admin := adminToken(t, data)
	srv := startServe(t, data)
	mustYima(t, "mint", "--server", srv.url, "--token", admin, "--product", "SKU-B", "--count", "2", "--out", filepath.Join(t.TempDir(), "b.txt"))
	remote := filepath.Join(t.TempDir(), "remote")
	mustYima(t, "backup", "--server", srv.url, "--token", admin, remote)
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if ids := batchIDs(t, remote); strings.Join(ids, ",") != "1,2" {
		t.Errorf("batches in the backup made by the server: %v", ids)
	}
	if tok := adminToken(t, remote); tok != admin {
		t.Errorf("the backup's admin token differs")
	}
}
