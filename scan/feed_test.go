package scan_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

type feedPage struct {
	Events []struct {
		Seq  uint64 `json:"seq"`
		Type string `json:"type"`
	} `json:"events"`
	Next uint64 `json:"next"`
	Head uint64 `json:"head"`
}

func (ts *testServer) events(path, token string) feedPage {
	ts.t.Helper()
	r := ts.Do("GET", path, token, nil)
	if r.Status != http.StatusOK {
		ts.t.Fatalf("GET %s: %s", path, r)
	}
	var p feedPage
	if err := json.Unmarshal(r.Body, &p); err != nil {
		ts.t.Fatal(err)
	}
	return p
}

// TestEventsEndpoint: the feed over HTTP for admin and app tokens, its
// paging and filter, the refusals, and a long poll that outlives the read
// timeout and is woken by a scan.
func TestEventsEndpoint(t *testing.T) {
	ts := startServer(t, scan.Options{ReadTimeout: 300 * time.Millisecond})
	codes := ts.MintActive(5, 10)
	app := ts.Token("app")
	if r := ts.Scan(codes[0], "alice"); r.Status != http.StatusOK {
		t.Fatal(r)
	}
	p := ts.events("/v1/events?after=0&limit=2", app)
	if len(p.Events) != 2 || p.Events[0].Seq != 1 || p.Events[1].Seq != 2 || p.Next != 2 || p.Head < 3 {
		t.Fatalf("first page: %+v", p)
	}
	p = ts.events("/v1/events?types=code.redeemed", ts.Admin)
	if len(p.Events) != 1 || p.Events[0].Type != reward.FeedCodeRedeemed || p.Next != p.Head {
		t.Fatalf("filtered: %+v", p)
	}
	for _, path := range []string{
		"/v1/events?after=x",
		"/v1/events?limit=0",
		"/v1/events?limit=1001",
		"/v1/events?types=code.eaten",
		"/v1/events?wait=31s",
	} {
		if r := ts.Do("GET", path, app, nil); r.Status != http.StatusBadRequest || r.ErrCode() != "invalid_request" {
			t.Errorf("GET %s: %s, want 400 invalid_request", path, r)
		}
	}
	if r := ts.Do("GET", "/v1/events", ts.Token("factory"), nil); r.Status != http.StatusForbidden {
		t.Errorf("a factory token reads the feed: %s", r)
	}
	if r := ts.Do("GET", "/v1/events/replay", app, nil); r.Status != http.StatusForbidden {
		t.Errorf("an app token replays the feed: %s", r)
	}
	var rep reward.ReplayReport
	if r := ts.Do("GET", "/v1/events/replay", ts.Admin, nil); r.Status != http.StatusOK || json.Unmarshal(r.Body, &rep) != nil || len(rep.Violations) != 0 || rep.Events == 0 {
		t.Fatalf("replay: %s", r)
	}

	// A long poll: nothing new for longer than the read timeout, then a
	// scan wakes it.
	head := p.Head
	go func() {
		time.Sleep(800 * time.Millisecond)
		ts.Scan(codes[1], "bob")
	}()
	start := time.Now()
	p = ts.events("/v1/events?types=code.redeemed&wait=10s&after="+seqArg(head), app)
	if len(p.Events) != 1 || p.Events[0].Seq <= head || time.Since(start) < 700*time.Millisecond || time.Since(start) > 8*time.Second {
		t.Fatalf("long poll after %v: %+v", time.Since(start), p)
	}
	// Nothing new: the wait ends with an empty page.
	p = ts.events("/v1/events?wait=200ms&after="+seqArg(p.Head), app)
	if len(p.Events) != 0 {
		t.Fatalf("empty long poll: %+v", p)
	}
}

// TestEventsCompactedIs410: a reader behind the retention is told where
// the feed now starts.
func TestEventsCompactedIs410(t *testing.T) {
	// The server's sweepers read the clock too: it is set under a lock.
	c := &clock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	ts := startClocked(t, c, scan.Options{EventsRetention: -1})
	codes := ts.MintActive(5, 10)
	ts.Scan(codes[0], "alice")
	c.add(48 * time.Hour)
	ts.Scan(codes[1], "bob")
	if _, err := ts.App.Engine.CompactFeed(t.Context(), 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	r := ts.Do("GET", "/v1/events?after=0", ts.Admin, nil)
	var e struct {
		Error struct {
			Code    string         `json:"code"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	if r.Status != http.StatusGone || json.Unmarshal(r.Body, &e) != nil || e.Error.Code != "events_compacted" || e.Error.Details["first_seq"] == nil {
		t.Fatalf("reading compacted events: %s", r)
	}
	first := uint64(e.Error.Details["first_seq"].(float64))
	p := ts.events("/v1/events?after="+seqArg(first-1), ts.Admin)
	if len(p.Events) == 0 || p.Events[0].Seq != first {
		t.Fatalf("from the first held: %+v", p)
	}
}

func seqArg(n uint64) string { return strconv.FormatUint(n, 10) }
