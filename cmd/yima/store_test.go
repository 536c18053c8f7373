package main

import (
	"strings"
	"testing"
)

// TestStoreCommands: yima store add/show/list on a data directory, pages
// with --after, and bad values exit with what to give instead.
func TestStoreCommands(t *testing.T) {
	data := newData(t)
	r := mustYima(t, "store", "add", "SH-001", "--data", data, "--name", "徐汇旗舰店", "--region", "east", "--code", "310104-01")
	if !strings.Contains(r.stdout, `"name": "徐汇旗舰店"`) || !strings.Contains(r.stdout, `"code": "310104-01"`) {
		t.Fatalf("store add printed %q", r.stdout)
	}
	mustYima(t, "store", "add", "SH-001", "--data", data, "--address", "漕溪北路88号")
	if r := mustYima(t, "store", "show", "SH-001", "--data", data); !strings.Contains(r.stdout, `"address": "漕溪北路88号"`) || !strings.Contains(r.stdout, "徐汇旗舰店") {
		t.Errorf("store show after a second add: %q", r.stdout)
	}
	mustYima(t, "store", "add", "SH-002", "--data", data, "--name", "静安店")
	if r := mustYima(t, "store", "list", "--data", data, "--limit", "1"); !strings.Contains(r.stdout, "SH-001") || strings.Contains(r.stdout, "SH-002") || !strings.Contains(r.stdout, "more: --after SH-001") {
		t.Errorf("store list --limit 1: %q", r.stdout)
	}
	if r := mustYima(t, "store", "list", "--data", data, "--after", "SH-001", "--json"); !strings.Contains(r.stdout, `"id": "SH-002"`) || strings.Contains(r.stdout, `"SH-001"`) {
		t.Errorf("store list --after SH-001 --json: %q", r.stdout)
	}
	if r := yima(t, "store", "add", "SH-003", "--data", data); r.code != 2 || !strings.Contains(r.stderr, "--name") {
		t.Errorf("store add with no flag: %v", r)
	}
	if r := yima(t, "store", "add", "SH-003", "--data", data, "--region", "east"); r.code != 1 || !strings.Contains(r.stderr, "name") {
		t.Errorf("a new store without a name: %v", r)
	}
	if r := yima(t, "store", "show", "SH-003", "--data", data); r.code != 1 || !strings.Contains(r.stderr, "no store") {
		t.Errorf("store show of a store never made: %v", r)
	}
}

// TestManagerTokenCommand: yima token create --role manager --store S
// makes a token that manages S (token list says so); without --store, or
// for a store with no record, nothing is made.
func TestManagerTokenCommand(t *testing.T) {
	data := newData(t)
	mustYima(t, "store", "add", "SH-001", "--data", data, "--name", "徐汇旗舰店")
	if r := yima(t, "token", "create", "--role", "manager", "--data", data); r.code != 2 || !strings.Contains(r.stderr, "--store") {
		t.Errorf("a manager token without --store: %v", r)
	}
	if r := yima(t, "token", "create", "--role", "app", "--store", "SH-001", "--data", data); r.code != 2 || !strings.Contains(r.stderr, "--store is for --role manager") {
		t.Errorf("an app token with --store: %v", r)
	}
	if r := yima(t, "token", "create", "--role", "manager", "--store", "SH-404", "--data", data); r.code != 1 || !strings.Contains(r.stderr, "no store") {
		t.Errorf("a manager token of a store with no record: %v", r)
	}
	if r := mustYima(t, "token", "list", "--data", data); strings.Contains(r.stdout, "manager") {
		t.Fatalf("refused tokens were stored: %q", r.stdout)
	}
	r := mustYima(t, "token", "create", "--role", "manager", "--store", "SH-001", "--name", "店长", "--data", data)
	if tok := strings.TrimSpace(r.stdout); !strings.HasPrefix(tok, "yt_") {
		t.Fatalf("token create --role manager printed %q", r.stdout)
	}
	if r := mustYima(t, "token", "list", "--data", data); !strings.Contains(r.stdout, "manager") || !strings.Contains(r.stdout, "SH-001") {
		t.Errorf("token list: %q", r.stdout)
	}
}
