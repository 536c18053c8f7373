package node_test

import (
	"testing"

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
		return api(t, n, "POST", "/v1/scans", tok, map[string]string{"code": code, "member": member}, nil)
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
