package scan_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/yima-dev/yima/scan"
)

// TestCookielessVisitsAreNoOne: three `curl -I` on an unsold code raised
// many_scanners and warned its buyer. HEAD counts nothing, a GET without
// the session cookie counts a scan but no person, and neither raises a
// flag; a browser's views with its cookie are one person.
func TestCookielessVisitsAreNoOne(t *testing.T) {
	ts := startServer(t, scan.Options{})
	code := ts.MintActive(1, 10)[0]
	// HEAD is served as GET is, and openapi.yaml says so in words rather
	// than as operations: a plain client, not the one that holds answers
	// to the documented operations.
	curl := &http.Client{}
	for range 3 {
		resp, err := curl.Head(ts.URL + "/C/" + code)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HEAD: %d", resp.StatusCode)
		}
	}
	if st := ts.CodeStatus(code); st.Scans != 0 || st.Scanners != 0 {
		t.Fatalf("after three HEADs: %+v, want nothing counted", st)
	}
	for range 3 {
		r := ts.Do("GET", "/C/"+code, "", nil)
		if strings.Contains(string(r.Body), "scanned by several people") {
			t.Fatalf("a cookieless view warns of several people:\n%s", r.Body)
		}
	}
	if st := ts.CodeStatus(code); st.Scans != 3 || st.Scanners != 0 {
		t.Fatalf("after three cookieless GETs: %+v, want 3 scans by no one", st)
	}
	if err := ts.App.Engine.FlushStats(); err != nil {
		t.Fatal(err)
	}
	r := ts.Do("GET", "/v1/flags", ts.Admin, nil)
	var page struct{ Flags []json.RawMessage }
	if json.Unmarshal(r.Body, &page) != nil || len(page.Flags) != 0 {
		t.Fatalf("flags after crawlers: %v", r)
	}
}

// TestCookielessClaimClaimsNothing: a POST to /C/ without the session
// cookie of an earlier view claimed for a fresh identity each time, paying
// the new-member bonus every time (100 of 100) and escaping per-member
// daily limits. It now claims nothing and answers the page with its claim
// button, the cookie set; the claim from that page goes through.
func TestCookielessClaimClaimsNothing(t *testing.T) {
	ts := startServer(t, scan.Options{})
	code := ts.MintActive(1, 10)[0]
	resp, err := ts.HTTP.Post(ts.URL+"/C/"+code, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	body := string(raw)
	cookie := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Claim my reward") || !strings.HasPrefix(cookie, "yima_v=") {
		t.Fatalf("a cookieless claim: %d, cookie %q:\n%s", resp.StatusCode, cookie, body)
	}
	if st := ts.CodeStatus(code); st.Redeemed {
		t.Fatal("a cookieless POST redeemed the code")
	}
	// The page the cookieless POST got has the form of its new session.
	csrf := csrfField.FindStringSubmatch(body)
	if csrf == nil {
		t.Fatalf("the page has no form token:\n%s", body)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/C/"+code, strings.NewReader("csrf="+csrf[1]))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", strings.SplitN(cookie, ";", 2)[0])
	resp, err = ts.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if st := ts.CodeStatus(code); !st.Redeemed || resp.StatusCode != http.StatusOK {
		t.Fatalf("the claim with the session: %d, %+v", resp.StatusCode, st)
	}
}
