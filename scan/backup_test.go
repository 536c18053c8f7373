package scan_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/node/datadir"
)

// TestBackupWhileServing writes a backup while scans go on: every scan
// acknowledged before the backup began is in it, nothing in it is unknown
// to the live store, its audit is clean, and it opens as a data directory
// with the same admin token.
func TestBackupWhileServing(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(300, 3)
	for _, c := range codes[:50] {
		if r := ts.Scan(c, "m-before"); r.Status != 200 {
			t.Fatalf("scan before the backup: %v", r)
		}
	}
	dest := filepath.Join(t.TempDir(), "backup-1")
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 50 + w; i < len(codes); i += 4 {
				if r := ts.Scan(codes[i], "m-during"); r.Status != 200 {
					t.Errorf("scan during the backup: %v", r)
					return
				}
			}
		}()
	}
	r := ts.Do("POST", "/v1/backups", ts.Admin, map[string]string{"dir": dest})
	wg.Wait()
	if r.Status != 201 {
		t.Fatalf("backup: %v", r)
	}
	for _, tc := range []struct {
		name, token, dir string
		status           int
		code             string
	}{
		{"into the same directory again", ts.Admin, dest, 400, "invalid_request"},
		{"to a relative path", ts.Admin, "backups/x", 400, "invalid_request"},
		{"with an app token", ts.Token("app"), filepath.Join(t.TempDir(), "b"), 403, "forbidden"},
	} {
		if r := ts.Do("POST", "/v1/backups", tc.token, map[string]string{"dir": tc.dir}); r.Status != tc.status || r.ErrCode() != tc.code {
			t.Errorf("backup %s: %v, want %d %s", tc.name, r, tc.status, tc.code)
		}
	}

	bk, err := datadir.Open(dest, datadir.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatalf("opening the backup: %v", err)
	}
	defer bk.Close()
	for i, c := range codes {
		st, err := bk.Engine.Status(c)
		if err != nil {
			t.Fatal(err)
		}
		if i < 50 && !st.Redeemed {
			t.Fatalf("code %d, acknowledged before the backup, is not redeemed in it", i+1)
		}
		if st.Redeemed && !ts.CodeStatus(c).Redeemed {
			t.Fatalf("code %d is redeemed in the backup but not in the live store", i+1)
		}
	}
	rep, err := bk.Engine.Audit()
	if err != nil || len(rep.Violations) != 0 || rep.Redemptions < 50 {
		t.Fatalf("audit of the backup: %+v, %v", rep, err)
	}
	if tok, err := datadir.AdminToken(dest); err != nil || tok != ts.Admin {
		t.Errorf("the backup's admin token: %q, %v", tok, err)
	}
}
