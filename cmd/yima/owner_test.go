package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestFactoryScopingCommands: every batch command run with a second
// factory's token against a server is refused (exit 1, the refusal on
// stderr, no file written), the batch listing shows it none of the first
// factory's batches, and the first factory's other token is served. The
// print log the admin lists names who printed.
func TestFactoryScopingCommands(t *testing.T) {
	data := newData(t)
	srv := startServe(t, data)
	admin := adminToken(t, data)
	remote := func(token string, args ...string) result {
		return yima(t, append(args, "--server", srv.url, "--token", token)...)
	}
	token := func(factory string) string {
		r := remote(admin, "token", "create", "--role", "factory", "--factory", factory)
		if r.code != 0 {
			t.Fatal(r)
		}
		return strings.TrimSpace(r.stdout)
	}
	a1, a2, b := token("F-A"), token("F-A"), token("F-B")
	// The factory prints batch 1 four times over here; the limit has its
	// own test (scan's TestPrintLog).
	if r := remote(admin, "brand", "set", "--factory-prints", "10"); r.code != 0 {
		t.Fatal(r)
	}
	dir := t.TempDir()
	if r := remote(a1, "mint", "--product", "SKU-OWN", "--count", "5", "--out", filepath.Join(dir, "a.csv")); r.code != 0 {
		t.Fatal(r)
	}
	if r := remote(admin, "mint", "--product", "SKU-BRAND", "--count", "5", "--out", filepath.Join(dir, "brand.csv")); r.code != 0 {
		t.Fatal(r)
	}
	for _, id := range []string{"1", "2"} {
		commands := []struct {
			name string
			args []string
			file string
		}{
			{"show", []string{"batch", "show", id}, ""},
			{"codes", []string{"batch", "codes", id, "--out", filepath.Join(dir, "b"+id+".csv")}, "b" + id + ".csv"},
			{"codes txt range", []string{"batch", "codes", id, "--format", "txt", "--from", "1", "--to", "2", "--out", filepath.Join(dir, "b"+id+".txt")}, "b" + id + ".txt"},
			{"labels", []string{"batch", "labels", id, "--out", filepath.Join(dir, "b"+id+".pdf")}, "b" + id + ".pdf"},
			{"activate", []string{"batch", "activate", id, "--from", "1", "--to", "2"}, ""},
			{"revoke", []string{"batch", "revoke", id, "--from", "5", "--to", "5"}, ""},
			{"release", []string{"batch", "release", id}, ""},
		}
		for _, c := range commands {
			t.Run("batch"+id+"/"+c.name, func(t *testing.T) {
				r := remote(b, c.args...)
				if r.code != 1 || !strings.Contains(r.stderr, "forbidden") {
					t.Fatalf("a second factory's token: %v, want exit 1 and forbidden", r)
				}
				if m, _ := filepath.Glob(filepath.Join(dir, c.file+"*")); c.file != "" && len(m) != 0 {
					t.Fatalf("a refused command left %v", m)
				}
			})
		}
		if id == "1" {
			// The first factory's other token may do what the batch's owner
			// may: all but release, which is the brand's.
			for _, c := range commands {
				r := remote(a2, c.args...)
				if want := c.name != "release"; (r.code == 0) != want {
					t.Errorf("the same factory's token, %s: %v", c.name, r)
				}
			}
		}
	}
	list := func(token string) []int {
		r := remote(token, "batch", "list", "--json")
		var bs []struct{ ID int }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &bs) != nil {
			t.Fatal(r)
		}
		var ids []int
		for _, b := range bs {
			ids = append(ids, b.ID)
		}
		return ids
	}
	if got := list(b); len(got) != 0 {
		t.Errorf("a second factory lists batches %v", got)
	}
	if got := list(a2); len(got) != 1 || got[0] != 1 {
		t.Errorf("the same factory lists batches %v, want [1]", got)
	}
	if got := list(admin); len(got) != 2 {
		t.Errorf("the admin lists batches %v, want both", got)
	}
	// The print log: the admin lists it, a factory may not.
	if r := remote(b, "prints"); r.code != 1 {
		t.Fatalf("a factory read the print log: %v", r)
	}
	r := remote(admin, "prints", "--json")
	var page struct {
		Prints []struct {
			Role, Action, Factory string
			Batch                 int
		}
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &page) != nil {
		t.Fatal(r)
	}
	var got []string
	for _, p := range page.Prints {
		got = append(got, p.Role+"/"+p.Factory+"/"+p.Action)
	}
	// The mint of each, then the second token's codes, codes and labels.
	want := []string{"factory/F-A/codes", "admin//codes", "factory/F-A/codes", "factory/F-A/codes", "factory/F-A/labels"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("print log %v, want %v", got, want)
	}
	r = remote(admin, "prints")
	if r.code != 0 || !strings.Contains(r.stdout, "F-A") || !strings.Contains(r.stdout, testBaseURL) {
		t.Errorf("yima prints: %v", r)
	}
}
