package scan_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/docs/apitest"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/node"
	"github.com/yima-dev/yima/scan/node/datadir"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
)

// testServer is a node (a data directory and its scan server) on
// 127.0.0.1:0 over a fresh data directory, with the admin token and an HTTP
// client. Close is idempotent and also runs at cleanup.
type testServer struct {
	t   testing.TB
	Dir string
	// App is the open data directory: its engine, keys and store.
	App   *datadir.Dir
	Node  *node.Node
	Srv   *scan.Server
	URL   string // http://127.0.0.1:PORT
	Admin string // the admin token
	HTTP  *http.Client

	closeOnce sync.Once
	closeErr  error
}

// quietLogger discards the server's logs; failures show up as answers.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startServer opens a fresh data directory and serves it on 127.0.0.1:0.
// Zero fields of opts take the server's defaults.
func startServer(tb testing.TB, opts scan.Options) *testServer {
	tb.Helper()
	return startServerApp(tb, node.Options{}, opts)
}

// startServerApp is startServer with options for the node's data
// directory (a clock, a time zone); its Dir and Server are set here.
func startServerApp(tb testing.TB, aopts node.Options, opts scan.Options) *testServer {
	tb.Helper()
	return startServerIn(tb, tb.TempDir(), aopts, opts)
}

// bareAdmin is the admin token of a bareServer.
const bareAdmin = "admin-secret"

// noDir is the data directory of a server that has none: no keys to
// reload, no backups.
type noDir struct{}

func (noDir) ReloadKeys() (bool, error) { return false, nil }
func (noDir) Backup(string) error       { return errors.New("no backups here") }
func (noDir) Err() error                { return nil }

// newStore is an empty store, closed at the end of tb, for a test that
// wraps it to fail or hold where it needs it to.
func newStore(tb testing.TB) store.DB {
	tb.Helper()
	return pebbletest.Open(tb, nil)
}

// bareServer is a scan server, not started, over a fresh engine on db and
// no data directory, on 127.0.0.1:0 with the admin token bareAdmin. The
// caller starts and closes it.
func bareServer(tb testing.TB, db store.DB) (*reward.Engine, *scan.Server) {
	tb.Helper()
	eng := rewardtest.NewEngine(tb, db, reward.Options{})
	srv := scan.NewServer(scan.Backend{Engine: eng, AdminToken: bareAdmin, Dir: noDir{}}, scan.Options{Addr: "127.0.0.1:0", Logger: quietLogger()})
	return eng, srv
}

// clock is a settable clock for the engine and the sessions, safe to read
// from the server's sweepers while the test moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// startClocked serves a fresh data directory whose engine reads the clock
// c.
func startClocked(tb testing.TB, c *clock, opts scan.Options) *testServer {
	tb.Helper()
	return startServerApp(tb, node.Options{Now: c.now}, opts)
}

// shanghai is the brand's time zone in the tests of the brand's day:
// Asia/Shanghai, eight hours ahead of UTC. Without the system's time zone
// data the test is skipped.
func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	return loc
}

// startInShanghai serves a brand in Asia/Shanghai (see shanghai) whose
// clock stands at now.
func startInShanghai(t *testing.T, now time.Time) *testServer {
	t.Helper()
	return startServerApp(t, node.Options{Zone: shanghai(t), Now: func() time.Time { return now }}, scan.Options{})
}

// startServerIn is startServerApp on the data directory dir.
func startServerIn(tb testing.TB, dir string, aopts node.Options, opts scan.Options) *testServer {
	tb.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	if opts.Language == "" {
		// The suite reads the pages' words in English; the Chinese
		// default has tests of its own (i18n_test.go), which ask for it.
		opts.Language = "en"
	}
	aopts.Dir, aopts.Server = dir, opts
	n, err := node.Open(aopts)
	if err != nil {
		tb.Fatalf("node.Open: %v", err)
	}
	ts := &testServer{
		t: tb, Dir: dir, App: n.Dir, Node: n, Srv: n.Server, Admin: n.Dir.AdminToken(),
		URL: n.URL(),
		// Every answer the tests read is held to docs/openapi.yaml.
		HTTP: apitest.Wrap(tb, &http.Client{
			Timeout:   20 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 0},
		}),
	}
	tb.Cleanup(func() { ts.Close() })
	return ts
}

// Close shuts the server down gracefully and closes the store, once. It
// first drops the client's idle connections: the transport may hold
// connections it dialed but never used, which the server, like net/http,
// counts as busy for their first 5 seconds and waits for.
func (ts *testServer) Close() error {
	ts.closeOnce.Do(func() {
		ts.HTTP.CloseIdleConnections()
		ts.closeErr = ts.Node.Close()
	})
	return ts.closeErr
}

// Local is the admin's commands on the server's data directory, in this
// process. Closing it is the server's business (Close).
func (ts *testServer) Local() scan.Local { return ts.Node.Admin() }

// Mint creates a batch through scan.Local and returns it with the canonical
// codes of all its serials (index i is serial i+1).
func (ts *testServer) Mint(spec reward.BatchSpec) (*scan.BatchView, []string) {
	ts.t.Helper()
	b, err := ts.Local().CreateBatch(spec)
	if err != nil {
		ts.t.Fatalf("CreateBatch(%+v): %v", spec, err)
	}
	signer, err := ts.App.Engine.Signer(b.Batch)
	if err != nil {
		ts.t.Fatalf("Signer: %v", err)
	}
	return b, rewardtest.Codes(signer, int(b.Count))
}

// MintActive mints an active batch of n codes worth points each.
func (ts *testServer) MintActive(n uint32, points int64) []string {
	ts.t.Helper()
	_, codes := ts.Mint(reward.BatchSpec{Product: "SKU-TEST", Count: n, Points: new(int64(points)), Activate: true})
	return codes
}

// Token creates an API token for role ("app", "factory" or "guide").
func (ts *testServer) Token(role string) string {
	ts.t.Helper()
	tok, err := ts.App.Engine.CreateToken(role, "test-"+role, "")
	if err != nil {
		ts.t.Fatalf("CreateToken(%s): %v", role, err)
	}
	return tok
}

// response is an HTTP answer read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// ErrCode is the code of a JSON error answer, or "" when the body is not one.
func (r response) ErrCode() string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(r.Body, &e) != nil {
		return ""
	}
	return e.Error.Code
}

func (r response) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body))
}

// Do sends a request. body may be nil, a string or []byte (sent as is), or
// any other value (sent as JSON). token "" sends no Authorization header.
// Transport errors fail the test.
func (ts *testServer) Do(method, path, token string, body any) response {
	ts.t.Helper()
	r, err := ts.TryDo(method, path, token, body)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// TryDo is Do that returns transport errors.
func (ts *testServer) TryDo(method, path, token string, body any) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		return response{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ts.HTTP.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}

// Scan posts a scan with the admin token.
func (ts *testServer) Scan(code, member string) response {
	ts.t.Helper()
	return ts.Do("POST", "/v1/scans", ts.Admin, reward.ScanRequest{Code: code, Member: member})
}

// CodeStatus reads GET /v1/codes/{code} (public).
func (ts *testServer) CodeStatus(code string) reward.CodeStatus {
	ts.t.Helper()
	r := ts.Do("GET", "/v1/codes/"+pathEscape(code), "", nil)
	if r.Status != http.StatusOK {
		ts.t.Fatalf("GET /v1/codes/%s: %v", code, r)
	}
	var st reward.CodeStatus
	if err := json.Unmarshal(r.Body, &st); err != nil {
		ts.t.Fatalf("GET /v1/codes/%s: %v in %s", code, err, r.Body)
	}
	return st
}

// Member reads GET /v1/members/{member}; ok is false when the member has no
// account (404 not_found).
func (ts *testServer) Member(member string) (v reward.MemberView, ok bool) {
	ts.t.Helper()
	r := ts.Do("GET", "/v1/members/"+pathEscape(member)+"?limit=200", ts.Admin, nil)
	switch {
	case r.Status == http.StatusNotFound && r.ErrCode() == "not_found":
		return v, false
	case r.Status != http.StatusOK:
		ts.t.Fatalf("GET /v1/members/%s: %v", member, r)
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		ts.t.Fatalf("GET /v1/members/%s: %v in %s", member, err, r.Body)
	}
	return v, true
}

// editKeys changes the keyset file as yima keys does, beside the running
// server, which reads it again on its own (or at once: App.ReloadKeys).
func (ts *testServer) editKeys(change func(ks *codegen.Keyset) error) {
	ts.t.Helper()
	ks, err := datadir.LoadKeys(ts.Dir)
	if err != nil {
		ts.t.Fatal(err)
	}
	if err := change(ks); err != nil {
		ts.t.Fatal(err)
	}
	if err := ks.Save(filepath.Join(ts.Dir, datadir.KeysFile)); err != nil {
		ts.t.Fatal(err)
	}
}

// couponQR finds the coupon a page shows by its QR's address.
var couponQR = regexp.MustCompile(`/v1/coupons/([^/"]+)/qr.svg`)

// pageCoupon is the id of the coupon whose QR page shows; the test fails,
// naming the page (what), when it shows none.
func pageCoupon(t *testing.T, what, page string) string {
	t.Helper()
	m := couponQR.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("%s shows no coupon QR:\n%s", what, page)
	}
	return m[1]
}

// pathEscape escapes a path segment the way a browser would, keeping the
// characters codes use readable.
func pathEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// rawRequest builds a request to the server; a body is sent as a form.
func (ts *testServer) rawRequest(method, path, body string) *http.Request {
	ts.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req
}

// send sends req with the test's client, without following redirects, and
// reads the answer whole.
func (ts *testServer) send(req *http.Request) response {
	ts.t.Helper()
	c := *ts.HTTP
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}
