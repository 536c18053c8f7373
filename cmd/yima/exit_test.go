package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExitCodes holds the contract scripts rely on: 0 done, 1 a failed
// operation, 2 a wrong command line (and then nothing was done).
func TestExitCodes(t *testing.T) {
	data := newData(t)
	code := mintCodes(t, data, "--product", "SKU-X", "--count", "2")[0]
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string // a part of what stderr must say
	}{
		{"a misspelt subcommand", []string{"batch", "activte", "1"}, 2, `unknown command "activte" for "yima batch"; did you mean activate?`},
		{"a misspelt command", []string{"mnt"}, 2, `unknown command "mnt"`},
		{"an unknown flag", []string{"mint", "--no-such-flag"}, 2, "unknown flag"},
		{"a flag value of the wrong type", []string{"mint", "--product", "P", "--count", "many"}, 2, `invalid argument "many"`},
		{"a missing argument", []string{"batch", "show"}, 2, "accepts 1 arg"},
		{"an extra argument", []string{"audit", "now"}, 2, "unknown command"},
		{"a bad batch id", []string{"batch", "show", "first"}, 2, "not a positive number"},
		{"a bad range", []string{"batch", "revoke", "1", "--from", "5"}, 2, "give both --from and --to"},
		{"a bad flag value", []string{"mint", "--product", "P", "--count", "0"}, 2, "--count"},
		{"a bad role", []string{"token", "create", "--role", "root"}, 2, "--role"},
		{"a bad time zone", []string{"serve", "--stats-tz", "Mars/Olympus"}, 2, "--stats-tz"},
		{"an SMS gateway without its key", []string{"serve", "--sms-sender", "http", "--sms-url", "https://sms.test/send"}, 2, "--sms-key"},
		{"an unknown SMS sender", []string{"serve", "--sms-sender", "pigeon"}, 2, "--sms-sender"},
		{"a WeChat app id without its secret", []string{"serve", "--wechat-app-id", "wx1"}, 2, "--wechat-secret"},
		{"a bad WeChat scope", []string{"serve", "--wechat-scope", "all"}, 2, "--wechat-scope"},
		{"a batch that does not exist", []string{"batch", "show", "9"}, 1, "not_found"},
		{"a token that does not exist", []string{"token", "revoke", "0123456789abcdef"}, 1, "not_found"},
		{"a forged code", []string{"verify", forge(code)}, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := yima(t, append(tc.args, "--data", data)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d: %v", r.code, tc.code, r)
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr %q, want it to say %q", r.stderr, tc.stderr)
			}
			if tc.code == 2 && !strings.Contains(r.stderr, "--help") {
				t.Errorf("a usage error does not point at --help: %q", r.stderr)
			}
		})
	}
	// A group alone shows its help; that is not an error.
	if r := yima(t, "batch", "--data", data); r.code != 0 || !strings.Contains(r.stdout, "activate") {
		t.Errorf("yima batch: %v", r)
	}
	// A usage error did nothing.
	if ids := batchIDs(t, data); len(ids) != 1 {
		t.Errorf("batches after the refused commands: %v", ids)
	}
}

// TestJSONListings: every command that prints a table prints the same
// records as JSON with --json, and an empty list as [].
func TestJSONListings(t *testing.T) {
	data := newData(t)
	for _, tc := range []struct {
		args  []string
		empty string // the JSON for a fresh data directory
	}{
		{[]string{"batch", "list"}, "[]"},
		{[]string{"token", "list"}, "[]"},
		{[]string{"campaign", "list"}, "[]"},
		{[]string{"stats", "--by", "product"}, "[]"},
		{[]string{"flags"}, `{"flags":[],"time_zone":"Asia/Shanghai"}`},
	} {
		r := mustYima(t, append(tc.args, "--data", data, "--json")...)
		var got, want any
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Errorf("yima %s --json: %v in %q", strings.Join(tc.args, " "), err, r.stdout)
			continue
		}
		json.Unmarshal([]byte(tc.empty), &want)
		if g, _ := json.Marshal(got); string(g) != tc.empty {
			t.Errorf("yima %s --json on a fresh directory: %s, want %s", strings.Join(tc.args, " "), g, tc.empty)
		}
	}

	mustYima(t, "mint", "--data", data, "--product", "SKU-J", "--count", "3", "--out", filepath.Join(t.TempDir(), "c.csv"))
	mustYima(t, "token", "create", "--role", "app", "--name", "shop", "--data", data)
	var batches []struct {
		ID      uint32 `json:"id"`
		Product string `json:"product"`
		Count   uint32 `json:"count"`
	}
	r := mustYima(t, "batch", "list", "--data", data, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &batches); err != nil || len(batches) != 1 || batches[0].Product != "SKU-J" || batches[0].Count != 3 {
		t.Errorf("batch list --json: %v %+v in %s", err, batches, r.stdout)
	}
	var tokens []struct {
		ID   string `json:"id"`
		Role string `json:"role"`
		Name string `json:"name"`
	}
	r = mustYima(t, "token", "list", "--data", data, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &tokens); err != nil || len(tokens) != 1 || tokens[0].Role != "app" || tokens[0].Name != "shop" || len(tokens[0].ID) != 16 {
		t.Errorf("token list --json: %v %+v in %s", err, tokens, r.stdout)
	}
	var audit struct {
		Redemptions int      `json:"redemptions"`
		Violations  []string `json:"violations"`
	}
	r = mustYima(t, "audit", "--data", data, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &audit); err != nil || audit.Violations == nil || len(audit.Violations) != 0 {
		t.Errorf("audit --json: %v %+v in %s", err, audit, r.stdout)
	}
}

// TestTablesInTheBrandsZone: batch list and token list printed their
// CREATED column in UTC, eight hours off a Shanghai brand's clock. Tables
// show times in the brand's zone and name it in the header; --json keeps
// the records' own times.
func TestTablesInTheBrandsZone(t *testing.T) {
	for _, zone := range []string{"", "America/New_York"} {
		want := zone
		if want == "" {
			want = "Asia/Shanghai" // the default
		}
		loc, err := time.LoadLocation(want)
		if err != nil {
			t.Skip("no time zone data:", err)
		}
		data := filepath.Join(t.TempDir(), "data")
		yimaOK(t, data, "brand", "set", "--base-url", "HTTPS://YIMA.BRAND.CN", "--time-zone", zone)
		yimaOK(t, data, "mint", "--product", "SKU-Z", "--count", "1", "--format", "txt")
		yimaRun(t, "", "--data", data, "token", "create", "--role", "app", "--name", "shop")
		for _, list := range [][]string{{"batch", "list"}, {"token", "list"}} {
			var recs []struct{ Created time.Time }
			decode(t, yimaOK(t, data, append(list, "--json")...), &recs)
			out := yimaOK(t, data, list...)
			if len(recs) != 1 || !strings.Contains(out, "CREATED ("+want+")") || !strings.Contains(out, recs[0].Created.In(loc).Format("2006-01-02 15:04")) {
				t.Errorf("zone %q, yima %s: %+v\n%s\nwant the time in %s and the header naming it", zone, strings.Join(list, " "), recs, out, want)
			}
		}
	}
}
