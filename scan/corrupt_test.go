package scan_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/node"
	"github.com/yima-dev/yima/scan/node/datadir"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
)

// TestAuditOfADamagedStoreIs503: an audit that meets a file failing its
// checksum answers 503 with a code and a message saying what to do, not
// a 500, and the server goes on serving what it can read.
func TestAuditOfADamagedStoreIs503(t *testing.T) {
	dir := t.TempDir()
	ts := startServerIn(t, dir, node.Options{}, scan.Options{})
	codes := ts.MintActive(300, 5)
	for i, c := range codes {
		if r := ts.Scan(c, "m"+string(rune('a'+i%20))); r.Status != 200 {
			t.Fatal(r)
		}
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening replays the log into sstables; then damage them.
	app, err := datadir.Open(dir, datadir.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	app.Close()
	pebbletest.Corrupt(t, filepath.Join(dir, "db"))

	ts = startServerIn(t, dir, node.Options{}, scan.Options{})
	r := ts.Do("GET", "/v1/audit", ts.Admin, nil)
	if r.Status != 503 || r.ErrCode() != string(reward.CodeUnavailable) || !strings.Contains(string(r.Body), "backup") {
		t.Fatalf("audit of a damaged store: %v, want 503 unavailable saying to restore a backup", r)
	}
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("a 503 without Retry-After")
	}
	if r := ts.Do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Errorf("the server stopped serving after the audit: %v", r)
	}
	if r := ts.Do("GET", "/openapi.yaml", "", nil); r.Status != 200 {
		t.Errorf("the server stopped serving after the audit: %v", r)
	}
}
