package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExportCommand: yima export through a running server and on the
// data directory after it stopped writes the same records; --out holds
// the whole export; bad kinds, formats and times are usage errors; the
// API refuses others than the admin and bad queries with JSON errors.
func TestExportCommand(t *testing.T) {
	data, codes := brandedData(t)
	srv := startServe(t, data)
	admin := adminToken(t, data)
	hc := &http.Client{Timeout: 10 * time.Second}
	for i, c := range codes {
		st, body, err := call(hc, "POST", srv.url+"/v1/scans", admin, map[string]string{"code": c, "member": fmt.Sprintf("会员-%d", i%2)})
		if err != nil || st != 200 {
			t.Fatalf("scan: %d %s %v", st, body, err)
		}
	}
	remote := []string{"--server", srv.url, "--token", admin}
	out, errOut, err := yimaRun(t, "", append([]string{"--data", data, "export", "redemptions", "--format", "ndjson"}, remote...)...)
	if err != nil {
		t.Fatalf("export through the server: %v %s", err, errOut)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != len(codes) {
		t.Fatalf("%d lines for %d redemptions:\n%s", len(lines), len(codes), out)
	}
	if !strings.Contains(errOut, fmt.Sprintf("exported %d redemptions as of event", len(codes))) {
		t.Errorf("stderr %q does not say what was exported", errOut)
	}
	file := filepath.Join(t.TempDir(), "members.csv")
	yimaOK(t, data, append([]string{"export", "members", "--format", "csv", "--bom", "--out", file}, remote...)...)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("\uFEFF")) {
		t.Fatal("--bom did not start the file with a BOM")
	}
	recs, err := csv.NewReader(bytes.NewReader(raw[3:])).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][0] != "member" || !strings.HasPrefix(recs[1][0], "会员-") {
		t.Fatalf("members CSV %q (%v); want a header and two members", recs, err)
	}
	// Over the API: admin only, and bad queries are JSON errors.
	for _, c := range []struct {
		path, token string
		status      int
		code        string
	}{
		{"/v1/export/orders?format=csv", admin, 400, "invalid_request"},
		{"/v1/export/members?format=xml", admin, 400, "invalid_request"},
		{"/v1/export/members?format=csv&since=yesterday", admin, 400, "invalid_request"},
		{"/v1/export/members?format=csv&bom=maybe", admin, 400, "invalid_request"},
		{"/v1/export/members?format=csv", "", 401, "unauthorized"},
	} {
		st, body, err := call(hc, "GET", srv.url+c.path, c.token, nil)
		if err != nil || st != c.status || errCode(body) != c.code {
			t.Errorf("GET %s: %d %s %v; want %d %s", c.path, st, body, err, c.status, c.code)
		}
	}
	st, body, err := call(hc, "GET", srv.url+"/v1/export/ledger?format=ndjson&since=2000-01-01", admin, nil)
	if err != nil || st != 200 || bytes.Count(body, []byte("\n")) != len(codes) {
		t.Fatalf("GET /v1/export/ledger: %d %s %v", st, body, err)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	// The data directory itself gives the same records.
	local := yimaOK(t, data, "export", "redemptions", "--format", "ndjson")
	if local != out {
		t.Fatalf("on the data directory:\n%s\nthrough the server:\n%s", local, out)
	}
	wantExit(t, data, exitUsage, "members, ledger, redemptions, coupons", "export", "orders", "--format", "csv")
	wantExit(t, data, exitUsage, "--format is required", "export", "members")
	wantExit(t, data, exitUsage, "use ndjson or csv", "export", "members", "--format", "xls")
	wantExit(t, data, exitUsage, "RFC 3339", "export", "members", "--format", "csv", "--since", "last week")
	wantExit(t, data, exitUsage, "--bom is for CSV", "export", "members", "--format", "ndjson", "--bom")
}

// TestExportCutShortLeavesNothing: an export that ends before the count
// the server announced fails with exit 1, and --out leaves no file, whole
// or part.
func TestExportCutShortLeavesNothing(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Yima-Export-Records", "5")
		w.Header().Set("Yima-Export-Seq", "9")
		w.Header().Set("Content-Type", "application/x-ndjson")
		for i := range 2 {
			json.NewEncoder(w).Encode(map[string]int{"n": i})
		}
	}))
	defer fake.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "ledger.ndjson")
	data := filepath.Join(dir, "data")
	wantExit(t, data, exitFailed, "ended after 2 of 5 records", "export", "ledger", "--format", "ndjson", "--out", file, "--server", fake.URL, "--token", "t")
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("a failed export left %s", e.Name())
	}
	// On stdout it cannot be undone: the message says to discard it.
	wantExit(t, data, exitFailed, "discard it", "export", "ledger", "--format", "ndjson", "--server", fake.URL, "--token", "t")
}
