package node_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan/node"
)

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
	hc := &http.Client{Timeout: 20 * time.Second}
	scanOn := func(n *node.Node, code, member string) int {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"code": code, "member": member})
		req, _ := http.NewRequest("POST", n.URL()+"/v1/scans", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
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
