package scan_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/node/datadir"
	"github.com/yima-dev/yima/store"
)

func TestAuth(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(4, 10)
	app, factory := ts.Token("app"), ts.Token("factory")
	scanBody := reward.ScanRequest{Code: codes[0], Member: "m-auth"}

	for _, tc := range []struct {
		name         string
		method, path string
		header       string // the whole Authorization header; "" sends none
		body         any
		status       int
		code         string // error code, "" for success
	}{
		{"scan without token", "POST", "/v1/scans", "", scanBody, 401, "unauthorized"},
		{"scan with unknown token", "POST", "/v1/scans", "Bearer yt_not-a-token", scanBody, 401, "unauthorized"},
		{"scan with empty bearer", "POST", "/v1/scans", "Bearer ", scanBody, 401, "unauthorized"},
		{"scan with basic auth", "POST", "/v1/scans", "Basic " + ts.Admin, scanBody, 401, "unauthorized"},
		{"scan with admin token in lower-case scheme", "POST", "/v1/scans", "bearer yt_x", scanBody, 401, "unauthorized"},
		{"scan with factory token", "POST", "/v1/scans", "Bearer " + factory, scanBody, 403, "forbidden"},
		{"batch with app token", "POST", "/v1/batches", "Bearer " + app, reward.BatchSpec{Product: "P", Count: 1}, 403, "forbidden"},
		{"batch list with app token", "GET", "/v1/batches", "Bearer " + app, nil, 403, "forbidden"},
		{"token with app token", "POST", "/v1/tokens", "Bearer " + app, map[string]string{"role": "app"}, 403, "forbidden"},
		{"token with factory token", "POST", "/v1/tokens", "Bearer " + factory, map[string]string{"role": "app"}, 403, "forbidden"},
		{"token list with app token", "GET", "/v1/tokens", "Bearer " + app, nil, 403, "forbidden"},
		{"flags with app token", "GET", "/v1/flags", "Bearer " + app, nil, 403, "forbidden"},
		{"flags with a bad day", "GET", "/v1/flags?from=yesterday", "Bearer " + ts.Admin, nil, 400, "invalid_request"},
		{"flags with the admin token", "GET", "/v1/flags?kind=diverted&limit=5", "Bearer " + ts.Admin, nil, 200, ""},
		{"token revocation with app token", "DELETE", "/v1/tokens/" + reward.TokenID(app), "Bearer " + app, nil, 403, "forbidden"},
		{"token revocation with factory token", "DELETE", "/v1/tokens/" + reward.TokenID(app), "Bearer " + factory, nil, 403, "forbidden"},
		{"member with factory token", "GET", "/v1/members/m-auth", "Bearer " + factory, nil, 403, "forbidden"},
		{"member without token", "GET", "/v1/members/m-auth", "", nil, 401, "unauthorized"},
		{"code status is public", "GET", "/v1/codes/" + codes[1], "", nil, 200, ""},
		{"code status with junk token still public", "GET", "/v1/codes/" + codes[1], "Bearer junk", nil, 200, ""},
		{"batch with factory token", "POST", "/v1/batches", "Bearer " + factory, reward.BatchSpec{Product: "P", Count: 1}, 201, ""},
		{"batch with points from a factory token", "POST", "/v1/batches", "Bearer " + factory, reward.BatchSpec{Product: "P", Count: 1, Points: new(int64(1000))}, 403, "forbidden"},
		{"batch with campaign from a factory token", "POST", "/v1/batches", "Bearer " + factory, reward.BatchSpec{Product: "P", Count: 1, Campaign: "c"}, 403, "forbidden"},
		{"batch with points from the admin token", "POST", "/v1/batches", "Bearer " + ts.Admin, reward.BatchSpec{Product: "P", Count: 1, Points: new(int64(5))}, 201, ""},
		{"scan with app token", "POST", "/v1/scans", "Bearer " + app, reward.ScanRequest{Code: codes[2], Member: "m-auth"}, 200, ""},
		{"scan naming its device", "POST", "/v1/scans", "Bearer " + app, reward.ScanRequest{Code: codes[3], Member: "m-auth", Device: "phone-1"}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rd *bytes.Reader
			if tc.body != nil {
				raw, _ := json.Marshal(tc.body)
				rd = bytes.NewReader(raw)
			} else {
				rd = bytes.NewReader(nil)
			}
			req, _ := http.NewRequest(tc.method, ts.URL+tc.path, rd)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := ts.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
			r := response{Status: resp.StatusCode, Header: resp.Header, Body: buf.Bytes()}
			if r.Status != tc.status || r.ErrCode() != tc.code {
				t.Fatalf("got %v, want %d %q", r, tc.status, tc.code)
			}
			if tc.status >= 400 && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("error answer has Content-Type %q, want JSON", r.Header.Get("Content-Type"))
			}
			if tc.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer (RFC 7235 §3.1, RFC 6750 §3): %q", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// None of the refused scans counted: only the app token's scan of
	// codes[2] is recorded, and codes[0] is untouched.
	if st := ts.CodeStatus(codes[0]); st.Redeemed || st.Scans != 0 {
		t.Errorf("refused scans left a trace on %s: %+v", codes[0], st)
	}
}

func TestScanExactlyOnceOverHTTP(t *testing.T) {
	ts := startServer(t, scan.Options{})
	code := ts.MintActive(1, 25)[0]
	const n = 100
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results = make([]response, n)
		errs    = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = ts.TryDo("POST", "/v1/scans", ts.Admin,
				reward.ScanRequest{Code: code, Member: fmt.Sprintf("m%03d", i)})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	conflicts := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("scan %d: %v", i, errs[i])
		}
		switch {
		case r.Status == 200:
			if winner >= 0 {
				t.Fatalf("two winners: m%03d and m%03d", winner, i)
			}
			winner = i
		case r.Status == 409 && r.ErrCode() == "already_redeemed":
			conflicts++
		default:
			t.Errorf("scan %d: unexpected answer %v", i, r)
		}
	}
	if winner < 0 || conflicts != n-1 {
		t.Fatalf("got winner %d and %d conflicts, want one winner and %d", winner, conflicts, n-1)
	}
	var res reward.ScanResult
	if err := json.Unmarshal(results[winner].Body, &res); err != nil {
		t.Fatal(err)
	}
	if res.Result != "redeemed" || res.Points != 25 || res.Balance != 25 || res.Code != code {
		t.Errorf("winner's answer: %+v", res)
	}
	st := ts.CodeStatus(code)
	// Distinct scanners are exact up to 64 and floored there.
	if want := min(n, 64); !st.Redeemed || st.Scans != n || st.Scanners != uint64(want) {
		t.Errorf("status after the race: %+v, want redeemed with %d scans by %d scanners", st, n, want)
	}
	for i := range n {
		m, ok := ts.Member(fmt.Sprintf("m%03d", i))
		if i == winner {
			if !ok || m.Points != 25 || len(m.Ledger) != 1 || m.Ledger[0].Code != code {
				t.Errorf("winner's account: %+v", m)
			}
		} else if ok {
			t.Errorf("loser m%03d has an account: %+v", i, m)
		}
	}
}

func TestScanRequestIDRetry(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(2, 10)
	req := reward.ScanRequest{Code: codes[0], Member: "m-retry", RequestID: "req-1"}
	first := ts.Do("POST", "/v1/scans", ts.Admin, req)
	if first.Status != 200 {
		t.Fatalf("first scan: %v", first)
	}
	// A retry, spelled the same or differently, gets the same bytes back.
	time.Sleep(5 * time.Millisecond) // a fresh answer would show a new time
	for _, code := range []string{codes[0], strings.ToLower(codes[0]), codes[0][:5] + "-" + codes[0][5:]} {
		again := ts.Do("POST", "/v1/scans", ts.Admin, reward.ScanRequest{Code: code, Member: "m-retry", RequestID: "req-1"})
		if again.Status != 200 || !bytes.Equal(again.Body, first.Body) {
			t.Errorf("retry spelled %s: got %v, want 200 and the first body\n%s", code, again, first.Body)
		}
	}
	// The same request_id for a different request is refused, and changes
	// nothing.
	for name, other := range map[string]reward.ScanRequest{
		"other member": {Code: codes[0], Member: "m-other", RequestID: "req-1"},
		"other code":   {Code: codes[1], Member: "m-retry", RequestID: "req-1"},
		"with a guide": {Code: codes[0], Member: "m-retry", Guide: "g1", RequestID: "req-1"},
	} {
		r := ts.Do("POST", "/v1/scans", ts.Admin, other)
		if r.Status != 422 || r.ErrCode() != "idempotency_key_reused" {
			t.Errorf("%s: got %v, want 422 idempotency_key_reused", name, r)
		}
	}
	if st := ts.CodeStatus(codes[1]); st.Redeemed || st.Scans != 0 {
		t.Errorf("a refused reuse of request_id touched %s: %+v", codes[1], st)
	}
	if _, ok := ts.Member("m-other"); ok {
		t.Error("a refused reuse of request_id created an account")
	}
	// A new request_id for the same code is a new scan: 409.
	r := ts.Do("POST", "/v1/scans", ts.Admin, reward.ScanRequest{Code: codes[0], Member: "m-retry", RequestID: "req-2"})
	if r.Status != 409 || r.ErrCode() != "already_redeemed" {
		t.Errorf("new request_id on a redeemed code: %v, want 409", r)
	}
	m, _ := ts.Member("m-retry")
	if m.Points != 10 || len(m.Ledger) != 1 {
		t.Errorf("retries paid more than once: %+v", m)
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	ts := startServer(t, scan.Options{})
	if r := ts.Do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz: %v", r)
	}
	// The scans counter is exported before the first scan, so dashboards
	// and alerts see a zero rather than no series.
	before := ts.Do("GET", "/metrics", ts.Admin, nil)
	if before.Status != 200 || !bytes.Contains(before.Body, []byte("yima_scans_total")) {
		t.Errorf("metrics before any scan lack yima_scans_total:\n%.2000s", before.Body)
	}
	codes := ts.MintActive(2, 1)
	ts.Scan(codes[0], "m1")
	ts.Scan(codes[0], "m2")
	ts.Scan("0000000000000000000000000", "m3")
	r := ts.Do("GET", "/metrics", ts.Admin, nil)
	if r.Status != 200 {
		t.Fatalf("metrics: %v", r)
	}
	for _, want := range []string{
		`yima_scans_total{result="redeemed"} 1`,
		`yima_scans_total{result="already_redeemed"} 1`,
		`yima_scans_total{result="invalid_code"} 1`,
		"yima_commit_group_size_bucket",
		"yima_commit_group_size_count",
		"yima_request_duration_seconds",
	} {
		if !bytes.Contains(r.Body, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestLandingPage(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(3, 5)
	_, inactive := ts.Mint(reward.BatchSpec{Product: "SKU-LATER", Count: 1})
	redeemed := codes[1]
	if r := ts.Scan(redeemed, "m-page"); r.Status != 200 {
		t.Fatal(r)
	}
	forged := codes[0][:len(codes[0])-1] + flip(codes[0][len(codes[0])-1])

	page := func(path string) (response, string) {
		t.Helper()
		r := ts.Do("GET", path, "", nil)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %v (%s)", path, r.Status, r.Header.Get("Content-Type"))
		}
		return r, string(r.Body)
	}
	for _, tc := range []struct {
		name, path string
		want, not  []string
	}{
		{"genuine", "/c/" + codes[0], []string{"Genuine product", "not been claimed", "SKU-TEST"}, []string{"already redeemed", "Not a genuine"}},
		{"genuine, as printed in the QR", "/C/" + codes[2], []string{"Genuine product", "not been claimed"}, []string{"Not a genuine"}},
		{"redeemed", "/c/" + redeemed, []string{"Genuine", "already redeemed"}, []string{"not been claimed", "Not a genuine"}},
		{"inactive", "/c/" + inactive[0], []string{"Genuine product", "not available yet"}, []string{"Not a genuine", "already redeemed"}},
		{"forged", "/c/" + forged, []string{"Not a genuine code"}, []string{"Genuine product", "already redeemed", "SKU-TEST"}},
		{"malformed", "/c/HELLO", []string{"Not a genuine code"}, []string{"Genuine product", "\x00"}},
		{"script in the path", "/c/%3Cscript%3Ealert(1)%3C%2Fscript%3E", []string{"Not a genuine code"}, []string{"<script>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, body := page(tc.path)
			checkPage(t, body, tc.want, tc.not)
		})
	}
	// A view counts as a scan; the same browser (cookie) is one scanner.
	before := ts.CodeStatus(codes[0])
	r, _ := page("/c/" + codes[0])
	cookie := r.Header.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, "yima_v=") {
		t.Fatalf("no visitor cookie: %q", cookie)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/c/"+codes[0], nil)
	req.Header.Set("Cookie", strings.SplitN(cookie, ";", 2)[0])
	resp, err := ts.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	after := ts.CodeStatus(codes[0])
	if after.Scans != before.Scans+2 || after.Scanners != before.Scanners+1 {
		t.Errorf("two views by one browser: scans %d→%d, scanners %d→%d; want +2 and +1",
			before.Scans, after.Scans, before.Scanners, after.Scanners)
	}
	if after.Redeemed {
		t.Error("viewing the page redeemed the code")
	}
}

// flip returns a different symbol of the code alphabet.
func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func TestDataDirLocked(t *testing.T) {
	ts := startServer(t, scan.Options{})
	app, err := datadir.Open(ts.Dir, datadir.Options{Logger: quietLogger()})
	if err == nil {
		app.Close()
		t.Fatal("a second Open of a held data directory succeeded")
	}
	if !errors.Is(err, datadir.ErrLocked) {
		t.Fatalf("Open of a held data directory: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "--server") {
		t.Errorf("the message does not say what to do: %v", err)
	}
	// The server is unaffected and, once closed, the directory opens.
	if r := ts.Do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz after the refused Open: %v", r)
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	app, err = datadir.Open(ts.Dir, datadir.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatalf("Open after the server closed: %v", err)
	}
	app.Close()
}

// TestGracefulShutdown closes the server while scans are in flight: every
// scan that was answered 200 is durable, every request got an answer or a
// transport error (never a half answer), and the store ends closed.
func TestGracefulShutdown(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(3000, 3)
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		acked  = map[string]string{} // code → member that got the 200
		other  = map[int]int{}
		closed = make(chan struct{})
	)
	started := make(chan struct{}, 64)
	for w := range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(codes) {
					return
				}
				member := fmt.Sprintf("m%02d", w)
				r, err := ts.TryDo("POST", "/v1/scans", ts.Admin, reward.ScanRequest{Code: codes[i], Member: member})
				select {
				case started <- struct{}{}:
				default:
				}
				mu.Lock()
				switch {
				case err != nil:
					other[-1]++
				case r.Status == 200:
					acked[codes[i]] = member
				default:
					other[r.Status]++
				}
				mu.Unlock()
				if err != nil {
					select {
					case <-closed:
						return
					default:
					}
				}
			}
		})
	}
	for range 64 { // let the burst get going
		<-started
	}
	if err := ts.Close(); err != nil {
		t.Errorf("Close with requests in flight: %v", err)
	}
	close(closed)
	wg.Wait()
	if err := ts.App.DB.Err(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("store after Close: %v, want ErrClosed", err)
	}
	if _, _, err := ts.App.DB.Get([]byte("x")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	for status := range other {
		if status != -1 && status != 503 {
			t.Errorf("%d answers with status %d during shutdown", other[status], status)
		}
	}
	t.Logf("%d scans acknowledged before and during Close; others: %v", len(acked), other)
	if len(acked) == 0 {
		t.Fatal("no scan was acknowledged; the test did not exercise shutdown")
	}

	app, err := datadir.Open(ts.Dir, datadir.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	perMember := map[string]int64{}
	for code, member := range acked {
		st, err := app.Engine.Status(code)
		if err != nil || !st.Redeemed {
			t.Errorf("acknowledged scan of %s lost after Close: %+v %v", code, st, err)
		}
		perMember[member] += 3
	}
	for member, want := range perMember {
		m, err := app.Engine.Member(member, "", 1)
		if err != nil || m.Points != want {
			t.Errorf("member %s: %+v %v, want %d points", member, m, err, want)
		}
	}
}

// TestRevokedTokenStopsAtOnce revokes tokens a running server has already
// accepted (and so remembers): the next request with each is refused.
func TestRevokedTokenStopsAtOnce(t *testing.T) {
	ts := startServer(t, scan.Options{})
	app, keep := ts.Token("app"), ts.Token("app")
	ts.MustStore("S1")
	guide := ts.Do("POST", "/v1/guides", ts.Admin, map[string]string{"id": "G-leaves", "store": "S1"})
	if guide.Status != 201 {
		t.Fatalf("adding a guide: %v", guide)
	}
	var g struct {
		Token   string `json:"token"`
		TokenID string `json:"token_id"`
	}
	json.Unmarshal(guide.Body, &g)
	if g.TokenID != reward.TokenID(g.Token) {
		t.Fatalf("guide answer names token id %q, want %q", g.TokenID, reward.TokenID(g.Token))
	}
	for _, tok := range []string{app, keep} {
		if r := ts.Do("GET", "/v1/members/nobody", tok, nil); r.Status != 404 {
			t.Fatalf("before revocation: %v, want 404 not_found", r)
		}
	}
	if r := ts.Do("GET", "/v1/guides/G-leaves", g.Token, nil); r.Status != 200 {
		t.Fatalf("guide before revocation: %v", r)
	}

	list := ts.Do("GET", "/v1/tokens", ts.Admin, nil)
	if list.Status != 200 || bytes.Contains(list.Body, []byte(app)) || bytes.Contains(list.Body, []byte(g.Token)) {
		t.Fatalf("token list must answer 200 without secrets: %v", list)
	}
	var listed struct{ Tokens []reward.Token }
	json.Unmarshal(list.Body, &listed)
	ids := map[string]string{}
	for _, tk := range listed.Tokens {
		ids[tk.ID] = tk.Role
	}
	if ids[reward.TokenID(app)] != "app" || ids[reward.TokenID(keep)] != "app" || ids[g.TokenID] != "guide" {
		t.Fatalf("listed %v, want both app tokens and the guide's by id", ids)
	}

	for _, id := range []string{reward.TokenID(app), g.TokenID} {
		if r := ts.Do("DELETE", "/v1/tokens/"+id, ts.Admin, nil); r.Status != 200 {
			t.Fatalf("revoking %s: %v", id, r)
		}
	}
	if r := ts.Do("GET", "/v1/members/nobody", app, nil); r.Status != 401 || r.ErrCode() != "unauthorized" {
		t.Fatalf("revoked app token: %v, want 401 unauthorized", r)
	}
	if r := ts.Do("GET", "/v1/guides/G-leaves", g.Token, nil); r.Status != 401 {
		t.Fatalf("revoked guide token: %v, want 401", r)
	}
	if r := ts.Do("GET", "/v1/members/nobody", keep, nil); r.Status != 404 {
		t.Fatalf("a token not revoked must keep working: %v", r)
	}
	// The guide stays, for the admin, with its members and ledger.
	if r := ts.Do("GET", "/v1/guides/G-leaves", ts.Admin, nil); r.Status != 200 {
		t.Fatalf("guide after its token was revoked: %v", r)
	}

	for _, c := range []struct {
		id     string
		status int
		code   string
	}{
		{reward.TokenID(app), 404, "not_found"},
		{"0123456789abcdef", 404, "not_found"},
		{"not-an-id", 400, "invalid_request"},
		{reward.TokenID(keep)[:8], 400, "invalid_request"},
	} {
		if r := ts.Do("DELETE", "/v1/tokens/"+c.id, ts.Admin, nil); r.Status != c.status || r.ErrCode() != c.code {
			t.Errorf("revoking %q: %v, want %d %s", c.id, r, c.status, c.code)
		}
	}
}

// TestGuideLeavesOverHTTP: when a guide leaves, the token the server has
// already accepted stops at once, their members go to the successor, and
// their QR page no longer binds anyone.
func TestGuideLeavesOverHTTP(t *testing.T) {
	ts := startServer(t, scan.Options{})
	app := ts.Token("app")
	var tokens = map[string]string{}
	ts.MustStore("S1")
	for _, id := range []string{"G1", "G2"} {
		r := ts.Do("POST", "/v1/guides", ts.Admin, map[string]string{"id": id, "store": "S1"})
		var g struct {
			Token string `json:"token"`
		}
		if r.Status != 201 || json.Unmarshal(r.Body, &g) != nil {
			t.Fatalf("adding %s: %v", id, r)
		}
		tokens[id] = g.Token
	}
	if r := ts.Do("POST", "/v1/members/mother-1/guide", app, map[string]string{"guide": "G1"}); r.Status != 200 {
		t.Fatalf("the app binding a member to G1: %v", r)
	}
	if r := ts.Do("POST", "/v1/guides/G1/leave", tokens["G1"], map[string]string{"successor": "G2"}); r.Status != 403 {
		t.Fatalf("a guide recording their own departure: %v, want 403", r)
	}
	r := ts.Do("POST", "/v1/guides/G1/leave", ts.Admin, map[string]string{"successor": "G2"})
	var out reward.GuideLeaving
	if r.Status != 200 || json.Unmarshal(r.Body, &out) != nil || out.Moved != 1 || len(out.RevokedTokens) != 1 {
		t.Fatalf("G1 leaving: %v", r)
	}
	if r := ts.Do("GET", "/v1/guides/G1", tokens["G1"], nil); r.Status != 401 {
		t.Fatalf("the departed guide's token: %v, want 401", r)
	}
	if r := ts.Do("GET", "/v1/guides/G2", tokens["G2"], nil); r.Status != 200 || !bytes.Contains(r.Body, []byte(`"mother-1"`)) {
		t.Fatalf("the successor's view: %v", r)
	}
	if r := ts.Do("POST", "/v1/members/walk-in/guide", app, map[string]string{"guide": "G1"}); r.Status != 409 || r.ErrCode() != "guide_left" {
		t.Fatalf("binding to the departed guide: %v, want 409 guide_left", r)
	}
	if r := ts.Do("POST", "/v1/guides/G1/leave", ts.Admin, map[string]string{"successor": "nobody"}); r.Status != 409 || r.ErrCode() != "guide_left" {
		t.Fatalf("leaving again for another successor: %v, want 409 guide_left", r)
	}
	if r := ts.Do("POST", "/v1/guides/G1/stay", ts.Admin, nil); r.Status != 404 {
		t.Fatalf("an unknown guide action: %v, want 404", r)
	}
	phone := newBrowser(t, ts)
	phone.get("/G/G1")
	if status, page := phone.post("/G/G1", nil); status != 200 || !strings.Contains(page, "You have joined") {
		t.Fatalf("joining through the departed guide's QR: %d %s", status, page)
	}
	// The visitor joined the successor, who looks after G1's customers.
	r = ts.Do("GET", "/v1/guides/G2", ts.Admin, nil)
	var g2 reward.GuideView
	if json.Unmarshal(r.Body, &g2) != nil || g2.Members != 2 {
		t.Fatalf("the successor after a visitor joined through G1's QR: %v", r)
	}
}

// TestLandingViewAndClaimAreOneScanner: a phone that opens a code's page and
// then claims it is one scanner, not two, so a code is not made to look
// copied by its own buyer.
func TestLandingViewAndClaimAreOneScanner(t *testing.T) {
	ts := startServer(t, scan.Options{})
	code := ts.MintActive(1, 10)[0]
	phone := newBrowser(t, ts)
	for _, method := range []string{"GET", "POST", "GET"} {
		status := 0
		if method == "GET" {
			status, _ = phone.get("/C/" + code)
		} else {
			status, _ = phone.post("/C/"+code, nil)
		}
		if status != 200 {
			t.Fatalf("%s /C/%s: %d", method, code, status)
		}
	}
	if st := ts.CodeStatus(code); !st.Redeemed || st.Scans != 3 || st.Scanners != 1 {
		t.Fatalf("after one phone viewed, claimed and viewed again: %+v", st)
	}
}
