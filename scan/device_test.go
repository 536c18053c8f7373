package scan_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// forget drops the browser's cookie name, as a script that clears its
// cookie jar (or a private window) does.
func (b *browser) forget(name string) {
	u, _ := url.Parse(b.ts.URL + "/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: "", Path: "/", MaxAge: -1}})
}

// claim opens a code's page and claims it: the page's message.
func (b *browser) claim(code string) string {
	b.t.Helper()
	if status, _ := b.get("/C/" + code); status != http.StatusOK {
		b.t.Fatalf("GET /C/%s: %d", code, status)
	}
	status, body := b.post("/C/"+code, nil)
	if status != http.StatusOK && status != http.StatusTooManyRequests {
		b.t.Fatalf("claim of %s: %d\n%s", code, status, body)
	}
	return body
}

// TestWebClaimsCarryTheDevice: a claim on the page named no device, so a
// browser that made itself a new member (a fresh visitor cookie) was paid
// the new-member bonus again and escaped the campaign's per-device daily
// limit. Claims now carry the browser's long-lived device cookie, apart
// from the visitor's: the bonus is paid once on the device and the
// per-device limit holds whatever member the browser claims as.
func TestWebClaimsCarryTheDevice(t *testing.T) {
	ts := startServer(t, scan.Options{})
	camp := `{"id":"c1","name":"C","products":["SKU-D"],"starts_at":"2020-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z",
		"points":10,"new_member_bonus":50,"daily_limit_per_device":2}`
	if r := ts.Do("PUT", "/v1/campaigns/c1", ts.Admin, camp); r.Status != 200 && r.Status != 201 {
		t.Fatalf("campaign: %v", r)
	}
	_, codes := ts.Mint(reward.BatchSpec{Product: "SKU-D", Count: 5, Activate: true})
	phone := newBrowser(t, ts)
	if body := phone.claim(codes[0]); !strings.Contains(body, "Reward claimed") || !strings.Contains(body, "welcome bonus of 50") {
		t.Fatalf("the first claim on the phone:\n%s", body)
	}
	device := phone.cookie("/", "yima_d")
	if device == "" {
		t.Fatal("the page set no device cookie")
	}
	// A new member on the same phone: claimed, but no second bonus.
	phone.forget("yima_v")
	body := phone.claim(codes[1])
	if !strings.Contains(body, "Reward claimed") || strings.Contains(body, "welcome bonus") {
		t.Fatalf("a fresh member on the same device:\n%s", body)
	}
	if got := phone.cookie("/", "yima_d"); got != device {
		t.Fatalf("the device cookie changed with the member: %q, was %q", got, device)
	}
	// A third member on the phone is past the device's daily limit of 2.
	phone.forget("yima_v")
	if body := phone.claim(codes[2]); !strings.Contains(body, "No reward this time") || !strings.Contains(body, "limit") {
		t.Fatalf("a third member on the device, limit 2:\n%s", body)
	}
	if st := ts.CodeStatus(codes[2]); st.Redeemed {
		t.Fatal("the device's third claim redeemed the code")
	}
	// Another phone is a new device: its first claim has the bonus.
	if body := newBrowser(t, ts).claim(codes[3]); !strings.Contains(body, "welcome bonus of 50") {
		t.Fatalf("another phone's first claim:\n%s", body)
	}
	// A device cookie the server did not sign is replaced, not believed.
	other := newBrowser(t, ts)
	u, _ := url.Parse(ts.URL + "/")
	other.c.Jar.SetCookies(u, []*http.Cookie{{Name: "yima_d", Value: strings.SplitN(device, ".", 2)[0] + ".forged", Path: "/"}})
	other.get("/C/" + codes[4])
	if got := other.cookie("/", "yima_d"); got == "" || strings.HasSuffix(got, ".forged") {
		t.Fatalf("a forged device cookie was kept: %q", got)
	}
}

// TestFreshDevicesPerAddress: a script that drops every cookie is a new
// member on a new device on each claim. Such claims from one address are
// held to Limits.NewDeviceBurst, then 429 with a page.
func TestFreshDevicesPerAddress(t *testing.T) {
	ts := startServer(t, scan.Options{Limits: scan.Limits{NewDevices: 1, NewDeviceBurst: 3}})
	codes := ts.MintActive(6, 10)
	claimed, refused := 0, 0
	for _, code := range codes[:5] {
		script := newBrowser(t, ts)
		script.get("/C/" + code)
		switch status, body := script.post("/C/"+code, nil); {
		case status == http.StatusOK && strings.Contains(body, "Reward claimed"):
			claimed++
		case status == http.StatusTooManyRequests && strings.Contains(body, "<html"):
			refused++
		default:
			t.Fatalf("a claim from a fresh device: %d\n%s", status, body)
		}
	}
	if claimed != 3 || refused != 2 {
		t.Fatalf("5 claims from fresh devices at a burst of 3: %d claimed, %d refused", claimed, refused)
	}
	if r := ts.CodeStatus(codes[4]); r.Redeemed {
		t.Fatal("a refused claim redeemed its code")
	}
}

// TestLongCookieAsFasthttpWritesIt: a first sight sets the visitor and
// the device cookies by writing their Set-Cookie lines itself (without a
// fasthttp.Cookie's allocations). Each line must be the one a
// fasthttp.Cookie with the cookies' attributes writes: kept two years,
// for the whole site, HttpOnly, SameSite=Lax, and Secure on an https site.
func TestLongCookieAsFasthttpWritesIt(t *testing.T) {
	for _, base := range []string{"", "HTTPS://yima.example"} {
		ts := startServer(t, scan.Options{BaseURL: base, Limits: scan.Limits{Off: true}})
		_, codes := ts.Mint(reward.BatchSpec{Product: "SKU-MILK", Count: 1, Points: new(int64(10)), Activate: true})
		var ctx fasthttp.RequestCtx
		getLanding(ts.Srv, &ctx, codes[0])
		lines := map[string]string{}
		for key, value := range ctx.Response.Header.Cookies() {
			lines[string(key)] = string(value)
		}
		for _, name := range []string{"yima_v", "yima_d"} {
			var got fasthttp.Cookie
			if err := got.Parse(lines[name]); err != nil || len(got.Value()) < 27 {
				t.Fatalf("%q: Set-Cookie %s %q: %v", base, name, lines[name], err)
			}
			var want fasthttp.Cookie
			want.SetKey(name)
			want.SetValueBytes(got.Value())
			want.SetPath("/")
			want.SetMaxAge(2 * 365 * 24 * 3600)
			want.SetHTTPOnly(true)
			want.SetSecure(base != "")
			want.SetSameSite(fasthttp.CookieSameSiteLaxMode)
			if lines[name] != want.String() {
				t.Errorf("%q: Set-Cookie %s\n%s\nwant\n%s", base, name, lines[name], want.String())
			}
		}
		if len(lines) != 2 {
			t.Errorf("%q: cookies set %v, want yima_v and yima_d", base, lines)
		}
	}
}

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
