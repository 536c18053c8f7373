package node_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen/kek"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/node"
	"github.com/yima-dev/yima/store/pgstore/pgtest"
)

// sealedNodes opens n nodes on one PostgreSQL database with empty data
// directories and one key-encryption key: all a node of a cluster needs.
func sealedNodes(t *testing.T, n int) []*node.Node {
	t.Helper()
	dsn := pgtest.Migrated(t)
	k, err := kek.Parse([]byte(kek.Generate()))
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*node.Node
	for range n {
		nd, err := node.Open(node.Options{Dir: t.TempDir(), Store: dsn, KEK: k, Server: scan.Options{Addr: "127.0.0.1:0", Language: "en"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nd.Close() })
		nodes = append(nodes, nd)
	}
	return nodes
}

// apiStatus sends method path to n with the bearer token tok (and body as
// JSON, when there is one) and returns the answer's status.
func apiStatus(t *testing.T, n *node.Node, method, path, tok string, body any) int {
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
	resp.Body.Close()
	return resp.StatusCode
}

var apiClient = &http.Client{Timeout: 20 * time.Second}

// TestNodesShareOneDatabase runs two nodes on one PostgreSQL database: a
// code paid through one is already redeemed through the other, and a token
// revoked on one is refused by the other at its next request.
func TestNodesShareOneDatabase(t *testing.T) {
	nodes := sealedNodes(t, 2)
	a, b := nodes[0], nodes[1]
	batch, err := a.Admin().CreateBatch(reward.BatchSpec{Product: "SKU", Count: 2, Points: new(int64(7)), Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.Admin().CreateToken(reward.RoleApp, "shop", "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Dir.Engine.Signer(batch.Batch)
	if err != nil {
		t.Fatal(err)
	}
	scanOn := func(n *node.Node, code, member string) int {
		t.Helper()
		return apiStatus(t, n, "POST", "/v1/scans", tok, map[string]string{"code": code, "member": member})
	}
	if got := scanOn(b, s.Code(1), "m1"); got != 200 {
		t.Fatalf("a scan on the second node with a token made on the first: %d", got)
	}
	if got := scanOn(a, s.Code(1), "m2"); got != 409 {
		t.Errorf("the code paid on the second node, scanned on the first: %d, want 409", got)
	}
	if _, err := a.Admin().RevokeToken(reward.TokenID(tok)); err != nil {
		t.Fatal(err)
	}
	if got := scanOn(b, s.Code(2), "m1"); got != 401 {
		t.Errorf("a token revoked on the first node, used on the second: %d, want 401", got)
	}
}
