package scan_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestListingsArePagedAndValidated: GET /v1/batches, /v1/tokens and
// /v1/campaigns answered everything in one response whatever the store
// held, and ignored their parameters; GET /v1/stats read every line of a
// dimension, took "daily=maybe" for false and any range of days. Each
// listing now pages with limit and after, reaching every record once, and
// every parameter out of its range is a 400 with a code.
func TestListingsArePagedAndValidated(t *testing.T) {
	ts := startServer(t, scan.Options{})
	for i := range 5 {
		ts.Mint(reward.BatchSpec{Product: "SKU-P", Count: 1})
		ts.Token("app")
		doc := fmt.Sprintf(`{"products":["SKU-%d"],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","points":10}`, i)
		if r := ts.Do("PUT", fmt.Sprintf("/v1/campaigns/c%d", i), ts.Admin, doc); r.Status != http.StatusOK {
			t.Fatal(r)
		}
	}
	codes := ts.MintActive(3, 5)
	for i, c := range codes {
		if r := ts.Scan(c, fmt.Sprintf("m%d", i)); r.Status != http.StatusOK {
			t.Fatal(r)
		}
	}
	for _, l := range []struct {
		path, items string
		want        int
	}{{"/v1/batches", "batches", 6}, {"/v1/tokens", "tokens", 5}, {"/v1/campaigns", "campaigns", 5}} {
		seen, after := map[string]bool{}, ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatalf("%s: the pages never end", l.path)
			}
			path := l.path + "?limit=2"
			if after != "" {
				path += "&after=" + after
			}
			r := ts.Do("GET", path, ts.Admin, nil)
			var page map[string]json.RawMessage
			var items []map[string]any
			if r.Status != http.StatusOK || json.Unmarshal(r.Body, &page) != nil || json.Unmarshal(page[l.items], &items) != nil || len(items) > 2 {
				t.Fatalf("GET %s: %v", path, r)
			}
			for _, it := range items {
				id := fmt.Sprint(it["id"])
				if seen[id] {
					t.Fatalf("%s: %s on two pages", l.path, id)
				}
				seen[id] = true
			}
			next := ""
			if raw, ok := page["next"]; ok {
				json.Unmarshal(raw, &next)
			}
			if next == "" {
				break
			}
			after = next
		}
		if len(seen) != l.want {
			t.Errorf("%s: the pages reached %d records, want %d", l.path, len(seen), l.want)
		}
	}
	var st reward.StatsPage
	if r := ts.Do("GET", "/v1/stats?by=product&limit=1", ts.Admin, nil); r.Status != http.StatusOK || json.Unmarshal(r.Body, &st) != nil || len(st.Stats) != 1 || st.Stats[0].Redeemed != 3 || st.Next != "" {
		t.Fatalf("GET /v1/stats: %v", r)
	}
	if r := ts.Do("GET", "/v1/stats?by=product&daily=true&from="+st.From, ts.Admin, nil); r.Status != http.StatusOK || json.Unmarshal(r.Body, &st) != nil || len(st.Stats) != 1 || st.Stats[0].Day == "" {
		t.Fatalf("GET /v1/stats daily: %v", r)
	}

	for _, path := range []string{
		"/v1/batches?limit=0", "/v1/batches?limit=201", "/v1/batches?limit=x", "/v1/batches?after=x", "/v1/batches?after=-1", "/v1/batches?after=4294967296", "/v1/batches?limt=5",
		"/v1/tokens?limit=0", "/v1/tokens?after=xyz", "/v1/tokens?after=0123", "/v1/tokens?cursor=1",
		"/v1/campaigns?limit=1000", "/v1/campaigns?after=%01", "/v1/campaigns?page=2",
		"/v1/stats?daily=maybe", "/v1/stats?daily=yes", "/v1/stats?by=shoe", "/v1/stats?from=2026", "/v1/stats?to=20261301",
		"/v1/stats?from=20000101", "/v1/stats?from=20260102&to=20260101", "/v1/stats?limit=0", "/v1/stats?after=%01",
		"/v1/stats?day=20260101",
	} {
		if r := ts.Do("GET", path, ts.Admin, nil); r.Status != http.StatusBadRequest || r.ErrCode() != "invalid_request" {
			t.Errorf("GET %s: %v, want 400 invalid_request", path, r)
		}
	}
	if r := ts.Do("GET", "/v1/batches?after=4294967295", ts.Admin, nil); r.Status != http.StatusOK {
		t.Errorf("after the last possible batch: %v", r)
	}
}
