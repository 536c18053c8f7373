package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/node"
	"github.com/yima-dev/yima/scan/node/datadir"
)

// The whole node runs on 127.0.0.1:0: a scan over HTTP pays, Run stops on
// its context and closes the store, and the data directory opens again
// with the payout in it.
func TestNodeRunsAndStops(t *testing.T) {
	dir := t.TempDir()
	n, err := node.Open(node.Options{Dir: dir, Server: scan.Options{Addr: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{datadir.KeysFile, datadir.AdminTokenFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("the node made no %s: %v", f, err)
		}
	}
	admin := n.Admin()
	b, err := admin.CreateBatch(reward.BatchSpec{Product: "SKU", Count: 2, Points: new(int64(7)), Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := admin.CreateToken(reward.RoleApp, "node-test", "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := n.Dir.Engine.Signer(b.Batch)
	if err != nil {
		t.Fatal(err)
	}
	code := s.Code(1)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()

	var res reward.ScanResult
	if status := api(t, n, "POST", "/v1/scans", tok, map[string]string{"code": code, "member": "m1"}, &res); status != 200 || res.Points != 7 {
		t.Fatalf("scan answered %d %+v, want 200 and 7 points", status, res)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after its context ended: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if err := n.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}

	app, err := datadir.Open(dir, datadir.Options{})
	if err != nil {
		t.Fatalf("the data directory after Run: %v", err)
	}
	defer app.Close()
	m, err := app.Engine.Member("m1", "", 10)
	if err != nil || m.Points != 7 {
		t.Fatalf("member after a restart: %+v, %v", m, err)
	}
}

// A second node on a held data directory is refused with a message that
// says to use the running one, and the first keeps its directory.
func TestNodeHoldsItsDirectory(t *testing.T) {
	dir := t.TempDir()
	n, err := node.Open(node.Options{Dir: dir, Server: scan.Options{Addr: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := node.Open(node.Options{Dir: dir, Server: scan.Options{Addr: "127.0.0.1:0"}}); !errors.Is(err, datadir.ErrLocked) {
		t.Fatalf("a second node on %s: %v, want ErrLocked", dir, err)
	}
	resp, err := http.Get(n.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d after a refused second node", resp.StatusCode)
	}
}

// api sends method path to n with the bearer token tok (and body as JSON,
// when there is one), decodes a JSON answer into out when out is not nil,
// and returns the answer's status.
func api(t *testing.T, n *node.Node, method, path, tok string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, n.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Close = true // no idle connection for the server to wait on
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s answered %d: %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}

var apiClient = &http.Client{Timeout: 20 * time.Second}
