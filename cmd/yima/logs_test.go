package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeFromTheEnvironment: every serve flag has a YIMA_ form, so a
// service configured by its environment needs no flags; logs can be JSON,
// the storage engine's chatter is at debug level, and the access log
// names each request by the id its answer carries.
func TestServeFromTheEnvironment(t *testing.T) {
	data := newMinted(t, "--product", "SKU-L", "--count", "1", "--out", filepath.Join(t.TempDir(), "c.csv"))
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv, err := tryServeAs(t, addr, []string{
		"YIMA_DATA=" + data, "YIMA_ADDR=" + addr, "YIMA_BASE_URL=https://scan.example",
		"YIMA_LOG_FORMAT=json", "YIMA_LOG_LEVEL=info", "YIMA_ACCESS_LOG=true",
		"YIMA_TRUSTED_PROXY=127.0.0.1", // the test's client stands for a proxy
	}, "serve")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", srv.url+"/v1/batches/1/codes?from=1&to=1", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken(t, data))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&body)
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != 200 || !strings.Contains(body.String(), "https://scan.example/C/") || id == "" {
		t.Fatalf("codes: %d %q (X-Request-Id %q); YIMA_BASE_URL not applied?", resp.StatusCode, body.String(), id)
	}
	// A trusted proxy's request id is kept.
	req, _ = http.NewRequest("GET", srv.url+"/healthz", nil)
	req.Header.Set("X-Request-Id", "edge-42")
	if resp, err := hc.Do(req); err != nil || resp.Header.Get("X-Request-Id") != "edge-42" {
		t.Errorf("a proxy's X-Request-Id was not kept: %v %v", err, resp.Header)
	} else {
		resp.Body.Close()
	}
	hc.CloseIdleConnections()
	if err := srv.stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, srv.stderr)
	}

	var access map[string]any
	for _, line := range strings.Split(strings.TrimSpace(srv.stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("a log line that is not JSON: %q", line)
			continue
		}
		if rec["component"] == "pebble" || strings.Contains(fmt.Sprint(rec["msg"]), "WAL") {
			t.Errorf("the storage engine's chatter at level %v: %q", rec["level"], line)
		}
		if rec["msg"] == "request" && rec["path"] == "/v1/batches/1/codes" {
			access = rec
		}
	}
	if access == nil {
		t.Fatalf("no access log line for the request:\n%s", srv.stderr)
	}
	if access["id"] != id || access["status"] != float64(200) || access["method"] != "GET" {
		t.Errorf("access log %v, want id %s, status 200, method GET", access, id)
	}
}

// TestEnvironmentErrors: an unusable variable is a usage error that names
// it, and the command line wins over the environment.
func TestEnvironmentErrors(t *testing.T) {
	data := newData(t)
	r := yimaEnv(t, []string{"YIMA_READ_TIMEOUT=soon"}, "serve", "--data", data)
	if r.code != 2 || !strings.Contains(r.stderr, "YIMA_READ_TIMEOUT") {
		t.Errorf("a bad YIMA_READ_TIMEOUT: %v", r)
	}
	r = yimaEnv(t, []string{"YIMA_LOG_FORMAT=xml"}, "serve", "--data", data)
	if r.code != 2 || !strings.Contains(r.stderr, "--log-format") {
		t.Errorf("a bad YIMA_LOG_FORMAT: %v", r)
	}
	// YIMA_SERVER is --server: with nothing listening there, the command
	// fails reaching it rather than opening the data directory.
	r = yimaEnv(t, []string{"YIMA_SERVER=http://127.0.0.1:1", "YIMA_TOKEN=x"}, "batch", "list", "--data", data)
	if r.code != 1 || !strings.Contains(r.stderr, "127.0.0.1:1") {
		t.Errorf("YIMA_SERVER was not used: %v", r)
	}
	// ... unless --server says otherwise on the command line.
	r = yimaEnv(t, []string{"YIMA_SERVER=http://127.0.0.1:1"}, "batch", "list", "--data", data, "--server", "")
	if r.code != 0 {
		t.Errorf("--server \"\" did not win over YIMA_SERVER: %v", r)
	}
}
