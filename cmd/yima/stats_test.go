package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
)

// TestStatsBySourceAndStoreCommand: scans through the server with
// different sources and guides show by source and by store, as a table
// and as JSON, over the server and on the data directory; an unknown
// dimension is a usage error that lists the known ones.
func TestStatsBySourceAndStoreCommand(t *testing.T) {
	data := newData(t)
	codes := mintCodes(t, data, "--product", "SKU-S", "--count", "3", "--activate")
	mustYima(t, "store", "add", "S1", "--name", "Store 1", "--data", data)
	mustYima(t, "guide", "add", "--id", "G1", "--store", "S1", "--data", data)
	admin := adminToken(t, data)
	srv := startServe(t, data)
	hc := &http.Client{Timeout: 10 * time.Second}
	for i, scan := range []map[string]string{
		{"code": codes[0], "member": "m1", "guide": "G1", "source": "tmall"},
		{"code": codes[1], "member": "m2", "source": "tmall"},
		{"code": codes[2], "member": "m3"},
	} {
		if status, body, err := call(hc, "POST", srv.url+"/v1/scans", admin, scan); err != nil || status != 200 {
			t.Fatalf("scan %d: %d %s %v", i, status, body, err)
		}
	}
	hc.CloseIdleConnections()
	r := mustYima(t, "stats", "--by", "store", "--server", srv.url, "--token", admin)
	for _, want := range []string{
		"STORE                    DAY        REDEEMED     POINTS  COUPONS VERIFIED      NEW COMMISSION DIVERTED",
		"(none)                   -                 2         20        0        0        2          0        0",
		"S1                       -                 1         10        0        0        1          0        0",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stats --by store --server:\n%s\nwant the line\n%s", r.stdout, want)
		}
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	var lines []reward.Stat
	r = mustYima(t, "stats", "--by", "source", "--json", "--data", data)
	if err := json.Unmarshal([]byte(r.stdout), &lines); err != nil {
		t.Fatalf("stats --by source --json: %v in %s", err, r.stdout)
	}
	if len(lines) != 2 || lines[0].Value != reward.NoValue || lines[0].Redeemed != 1 || lines[1].Value != "tmall" || lines[1].Redeemed != 2 || lines[1].NewMembers != 2 {
		t.Errorf("stats --by source --json: %+v, want (none) 1 and tmall 2", lines)
	}
	// One line a day, on the day of the scans; a range before it has none.
	r = mustYima(t, "stats", "--by", "store", "--daily", "--json", "--data", data)
	if err := json.Unmarshal([]byte(r.stdout), &lines); err != nil || len(lines) != 2 || lines[1].Value != "S1" || len(lines[1].Day) != 8 {
		t.Fatalf("stats --by store --daily --json: %v %+v", err, lines)
	}
	day := lines[1].Day
	if r := mustYima(t, "stats", "--by", "store", "--from", day, "--to", day, "--data", data); !strings.Contains(r.stdout, "\nS1 ") {
		t.Errorf("stats --from %s --to %s:\n%s", day, day, r.stdout)
	}
	if r := mustYima(t, "stats", "--by", "store", "--to", "20260101", "--json", "--data", data); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("stats before the scans: %s, want []", r.stdout)
	}
	wantExit(t, data, exitUsage, "use one of product, batch, region, guide, campaign, source, store", "stats", "--by", "nonsense")
}
