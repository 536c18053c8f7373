package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRewardCommands: the example reward applies as written, voucher files
// go up with their duplicates refused before anything is stored, and the
// brand's purchase rate is set.
func TestRewardCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var v struct {
		ID    string `json:"id"`
		Stock int64  `json:"stock"`
		Left  int64  `json:"left"`
	}
	decode(t, yimaOK(t, data, "reward", "apply", "../../docs/examples/reward-mug.json"), &v)
	if v.ID != "mug-2026" || v.Left != v.Stock || v.Stock == 0 {
		t.Fatalf("apply: %+v", v)
	}
	doc := filepath.Join(t.TempDir(), "coffee.json")
	os.WriteFile(doc, []byte(`{"id":"coffee","title":"Coffee","kind":"voucher","price":20,"stock":100}`), 0o600)
	yimaOK(t, data, "reward", "apply", doc)
	dup := filepath.Join(t.TempDir(), "dup.txt")
	os.WriteFile(dup, []byte("A1\nA2\nA1\n"), 0o600)
	wantExit(t, data, exitFailed, "lines 1 and 3", "reward", "vouchers", "coffee", dup)
	var codes []string
	for i := range 400 { // more than one part
		codes = append(codes, strings.Repeat("X", 60)+string(rune('a'+i%26))+strings.Repeat("y", i/26))
	}
	list := filepath.Join(t.TempDir(), "codes.txt")
	os.WriteFile(list, []byte(strings.Join(codes, "\n")+"\n"), 0o600)
	var up struct {
		Added, Uploaded, Left int
	}
	decode(t, yimaOK(t, data, "reward", "vouchers", "coffee", list), &up)
	if up.Added != 400 || up.Uploaded != 400 || up.Left != 400 {
		t.Fatalf("upload: %+v", up)
	}
	wantExit(t, data, exitFailed, "voucher_duplicate", "reward", "vouchers", "coffee", list)
	out := yimaOK(t, data, "reward", "list")
	if !strings.Contains(out, "coffee") || strings.Index(out, "coffee") > strings.Index(out, "mug-2026") {
		t.Fatalf("list, cheapest first:\n%s", out)
	}
	yimaOK(t, data, "brand", "set", "--order-points-per-yuan", "0.5")
	wantExit(t, data, exitFailed, "order_points_per_yuan", "brand", "set", "--order-points-per-yuan", "0.123")
}
