package scan_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/scan"
)

// TestScanBadInput sends requests that must be refused with a clear 4xx and
// a JSON error code, and checks after each that nothing was stored: the
// genuine code stays unredeemed and unscanned, and the member has no account.
func TestScanBadInput(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(8, 10)
	good := codes[0]
	const member = "m-bad"
	scanJSON := func(code, member string) string {
		raw, _ := json.Marshal(map[string]string{"code": code, "member": member})
		return string(raw)
	}
	// Look-alikes: the same text with one symbol swapped for a character
	// that renders like it.
	fullwidth := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r - '0' + '０'
		}
		return r
	}, good)
	// Cyrillic О for the digit 0 too: every code's header has zeros, so the
	// look-alike differs whatever letters the random key produced.
	cyrillic := strings.NewReplacer("0", "О", "A", "А", "B", "В", "E", "Е", "K", "К", "M", "М", "H", "Н", "P", "Р", "C", "С", "T", "Т", "X", "Х").Replace(good)
	if fullwidth == good || cyrillic == good {
		t.Fatalf("look-alike of %s is not different: %s %s", good, fullwidth, cyrillic)
	}
	forged := good[:len(good)-1] + flip(good[len(good)-1])

	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   string
		status int
		code   string
	}{
		{"malformed JSON", "POST", "/v1/scans", `{"code":`, 400, "invalid_json"},
		{"not an object", "POST", "/v1/scans", `["` + good + `"]`, 400, "invalid_json"},
		{"trailing object", "POST", "/v1/scans", scanJSON(good, member) + ` {"code":"x"}`, 400, "invalid_json"},
		{"trailing garbage", "POST", "/v1/scans", scanJSON(good, member) + `garbage`, 400, "invalid_json"},
		{"trailing brace", "POST", "/v1/scans", scanJSON(good, member) + `}`, 400, "invalid_json"},
		{"trailing bracket", "POST", "/v1/scans", scanJSON(good, member) + `]`, 400, "invalid_json"},
		{"unknown field", "POST", "/v1/scans", fmt.Sprintf(`{"code":%q,"member":%q,"points":1000}`, good, member), 400, "invalid_json"},
		{"wrong type", "POST", "/v1/scans", fmt.Sprintf(`{"code":%q,"member":42}`, good), 400, "invalid_json"},
		{"empty body", "POST", "/v1/scans", ``, 400, "invalid_json"},
		{"whitespace body", "POST", "/v1/scans", " \n", 400, "invalid_json"},
		{"null", "POST", "/v1/scans", `null`, 400, "invalid_json"},
		{"missing code", "POST", "/v1/scans", fmt.Sprintf(`{"member":%q}`, member), 400, "invalid_request"},
		{"missing member", "POST", "/v1/scans", fmt.Sprintf(`{"code":%q}`, good), 400, "invalid_request"},
		{"empty member", "POST", "/v1/scans", scanJSON(good, ""), 400, "invalid_request"},
		{"forged code", "POST", "/v1/scans", scanJSON(forged, member), 400, "invalid_code"},
		{"truncated code", "POST", "/v1/scans", scanJSON(good[:len(good)-1], member), 400, "invalid_code"},
		{"code with an extra symbol", "POST", "/v1/scans", scanJSON(good+"0", member), 400, "invalid_code"},
		{"code with U", "POST", "/v1/scans", scanJSON("U"+good[1:], member), 400, "invalid_code"},
		{"fullwidth digits", "POST", "/v1/scans", scanJSON(fullwidth, member), 400, "invalid_code"},
		{"cyrillic letters", "POST", "/v1/scans", scanJSON(cyrillic, member), 400, "invalid_code"},
		{"code with NUL", "POST", "/v1/scans", scanJSON(good[:5]+"\x00"+good[5:], member), 400, "invalid_code"},
		{"code with tab", "POST", "/v1/scans", scanJSON(good[:5]+"\t"+good[5:], member), 400, "invalid_code"},
		{"megabyte code", "POST", "/v1/scans", scanJSON(strings.Repeat("0", 8000), member), 400, "invalid_code"},
		{"over-long member", "POST", "/v1/scans", scanJSON(good, strings.Repeat("m", 129)), 400, "invalid_request"},
		{"member with newline", "POST", "/v1/scans", scanJSON(good, "m\nx"), 400, "invalid_request"},
		{"member with NUL", "POST", "/v1/scans", scanJSON(good, "m\x00x"), 400, "invalid_request"},
		{"member with DEL", "POST", "/v1/scans", scanJSON(good, "m\x7fx"), 400, "invalid_request"},
		{"member with a slash, which no URL could name", "POST", "/v1/scans", scanJSON(good, "wx/1"), 400, "invalid_request"},
		{"guide with a slash", "POST", "/v1/guides", `{"id":"G/1","store":"S"}`, 400, "invalid_request"},
		{"member with invalid UTF-8", "POST", "/v1/scans", "{\"code\":\"" + good + "\",\"member\":\"m\xff\"}", 400, "invalid_json"},
		{"over-long request_id", "POST", "/v1/scans", fmt.Sprintf(`{"code":%q,"member":%q,"request_id":%q}`, good, member, strings.Repeat("r", 200)), 400, "invalid_request"},
		{"guide with control char", "POST", "/v1/scans", fmt.Sprintf(`{"code":%q,"member":%q,"guide":"g\u0001"}`, good, member), 400, "invalid_request"},
		{"region with control char", "POST", "/v1/scans", fmt.Sprintf(`{"code":%q,"member":%q,"region":"r\u001b[2J"}`, good, member), 400, "invalid_request"},
		{"unknown route", "GET", "/v1/nope", "", 404, "route_not_found"},
		{"unknown path at the root", "GET", "/nope", "", 404, "route_not_found"}, // GET / itself is a page: TestPagesWithoutACode
		{"route prefix without argument", "GET", "/v1/codes/", "", 404, "route_not_found"},
		{"scans with a suffix", "POST", "/v1/scans/x", scanJSON(good, member), 404, "route_not_found"},
		{"wrong method on scans", "GET", "/v1/scans", "", 405, "method_not_allowed"},
		{"wrong method on codes", "DELETE", "/v1/codes/" + good, "", 405, "method_not_allowed"},
		{"wrong method on tokens", "PUT", "/v1/tokens", `{}`, 405, "method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" || tc.method == "POST" {
				body = tc.body
			}
			r := ts.Do(tc.method, tc.path, ts.Admin, body)
			if r.Status != tc.status || r.ErrCode() != tc.code {
				t.Fatalf("got %.300s, want %d %s", r.String(), tc.status, tc.code)
			}
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q, want JSON", r.Header.Get("Content-Type"))
			}
			if tc.status == 405 && r.Header.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
			if tc.status == 405 && tc.method != "GET" && !strings.Contains(r.Header.Get("Allow"), "GET") && tc.path != "/v1/tokens" {
				t.Errorf("Allow %q does not name GET", r.Header.Get("Allow"))
			}
			if st := ts.CodeStatus(good); st.Redeemed || st.Scans != 0 {
				t.Fatalf("refused request left a trace on the code: %+v", st)
			}
			if m, ok := ts.Member(member); ok {
				t.Fatalf("refused request created an account: %+v", m)
			}
		})
	}
	// The server still works after all that.
	if r := ts.Scan(good, member); r.Status != 200 {
		t.Fatalf("genuine scan after the bad ones: %v", r)
	}
}

// TestScanSpellings checks that the spellings the code format allows name
// one code: any of them redeems it once, and every other spelling then gets
// 409.
func TestScanSpellings(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(3, 10)
	spell := func(c string) map[string]string {
		return map[string]string{
			"canonical":  c,
			"lower case": strings.ToLower(c),
			"hyphens":    c[:4] + "-" + c[4:8] + "-" + c[8:16] + "-" + c[16:],
			"spaces":     c[:9] + " " + c[9:18] + " " + c[18:],
			"mixed":      strings.ToLower(c[:10]) + "-" + c[10:],
		}
	}
	first := map[int]string{0: "lower case", 1: "hyphens", 2: "spaces"}
	for i, code := range codes {
		spellings := spell(code)
		r := ts.Scan(spellings[first[i]], fmt.Sprintf("m%d", i))
		if r.Status != 200 {
			t.Fatalf("%s spelling of a genuine code: %v, want 200", first[i], r)
		}
		if !bytes.Contains(r.Body, []byte(`"code":"`+code+`"`)) {
			t.Errorf("answer does not name the canonical code %s: %s", code, r.Body)
		}
		for name, s := range spellings {
			r := ts.Scan(s, "m-second")
			if r.Status != 409 || r.ErrCode() != "already_redeemed" {
				t.Errorf("code %d scanned %s after %s: %v, want 409 already_redeemed", i, name, first[i], r)
			}
		}
		if st := ts.CodeStatus(strings.ToLower(code)); !st.Redeemed || st.Code != code {
			t.Errorf("status by lower-case spelling: %+v", st)
		}
	}
	if m, ok := ts.Member("m-second"); ok {
		t.Errorf("second spellings paid out: %+v", m)
	}
}

// TestSlowClient checks that a client trickling a request is cut off: the
// connection is closed within a bounded time and never gets a 2xx.
func TestSlowClient(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	ts := startServer(t, scan.Options{ReadTimeout: readTimeout})
	code := ts.MintActive(1, 10)[0]
	body := fmt.Sprintf(`{"code":%q,"member":"slow"}`, code)
	for _, tc := range []struct {
		name   string
		prefix string // sent at once
		trick  string // then one byte at a time
	}{
		{"header", "POST /v1/scans HTTP/1.1\r\nHost: x\r\n", "Authorization: Bearer " + ts.Admin + "\r\nX-Pad: " + strings.Repeat("a", 200)},
		{"body", "POST /v1/scans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ts.Admin + "\r\nContent-Type: application/json\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n", body},
		{"nothing", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ts.Srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			if _, err := io.WriteString(conn, tc.prefix); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				for i := 0; i < len(tc.trick); i++ {
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Millisecond):
					}
					if _, err := conn.Write([]byte{tc.trick[i]}); err != nil {
						return
					}
				}
			}()
			conn.SetReadDeadline(time.Now().Add(20 * readTimeout))
			got, err := io.ReadAll(conn)
			elapsed := time.Since(start)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("the server kept a trickling connection open for %v (read timeout %v); read %q", elapsed, readTimeout, got)
			}
			if elapsed > 10*readTimeout { // generous: -race on a busy machine
				t.Errorf("connection closed after %v, want about %v", elapsed, readTimeout)
			}
			if bytes.HasPrefix(got, []byte("HTTP/1.1 2")) {
				t.Fatalf("a slow request was answered %q", got)
			}
			if len(got) > 0 {
				resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(got)), nil)
				if err != nil {
					t.Fatalf("the server's last words are not HTTP: %q", got)
				}
				resp.Body.Close()
				if resp.StatusCode < 400 {
					t.Errorf("slow request answered %d", resp.StatusCode)
				}
			}
			t.Logf("closed after %v with %q", elapsed.Round(time.Millisecond), firstLine(got))
		})
	}
	if st := ts.CodeStatus(code); st.Redeemed || st.Scans != 0 {
		t.Errorf("a slow request was acted on: %+v", st)
	}
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\r\n"))
	return string(line)
}

// TestBodyTooLarge sends bodies over the limit, with a length and chunked,
// over a raw connection (a client that writes the whole megabyte first would
// see the server hang up instead of reading its answer).
func TestBodyTooLarge(t *testing.T) {
	ts := startServer(t, scan.Options{})
	code := ts.MintActive(1, 10)[0]
	big := `{"code":"` + code + `","member":"` + strings.Repeat("m", 1<<20) + `"}`
	chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big)
	for name, req := range map[string]string{
		"content-length": "POST /v1/scans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ts.Admin +
			"\r\nContent-Type: application/json\r\nContent-Length: " + fmt.Sprint(len(big)) + "\r\n\r\n" + big,
		"chunked": "POST /v1/scans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ts.Admin +
			"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ts.Srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			go io.WriteString(conn, req) // fails once the server hangs up
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer to a large body: %v", err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r := response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
			if r.Status != 413 || r.ErrCode() != "body_too_large" {
				t.Fatalf("got %.300s, want 413 body_too_large", r.String())
			}
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q, want JSON", r.Header.Get("Content-Type"))
			}
		})
	}
	if st := ts.CodeStatus(code); st.Redeemed || st.Scans != 0 {
		t.Errorf("a refused large body was acted on: %+v", st)
	}
}
