package scan_test

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestCrossSiteFormsRefused posts the pages' forms the way another site's
// page would: with its own Origin, or without this browser's form token.
// Nothing is claimed or joined; the same browser's own taps still work.
func TestCrossSiteFormsRefused(t *testing.T) {
	ts := startServer(t, scan.Options{})
	code := ts.MintActive(1, 10)[0]
	ts.MustStore("S")
	if _, _, err := ts.App.Engine.AddGuide(reward.Guide{ID: "G1", Store: "S"}); err != nil {
		t.Fatal(err)
	}
	q, err := ts.App.Engine.EnrolmentQR("S", false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.App.Engine.Enrol(q.Code, "tel:+8613800000001", "王芳"); err != nil {
		t.Fatal(err)
	}
	pending, _, err := ts.App.Engine.EnrolmentPage("S", reward.EnrolmentPending, "", 0)
	if err != nil || len(pending) != 1 {
		t.Fatal(pending, err)
	}
	phone := newBrowser(t, ts)
	phone.get("/C/" + code)
	token := phone.csrf()
	if token == "" {
		t.Fatal("the landing page's form has no token")
	}
	for _, tc := range []struct {
		name   string
		path   string
		form   url.Values
		origin string
	}{
		{"claim from another site", "/C/" + code, url.Values{"csrf": {token}}, "https://evil.example"},
		{"claim with an opaque origin", "/C/" + code, url.Values{"csrf": {token}}, "null"},
		{"claim without the form token", "/C/" + code, url.Values{}, ts.URL},
		{"claim with another browser's token", "/C/" + code, url.Values{"csrf": {"AAAA"}}, ts.URL},
		{"join from another site", "/G/G1", url.Values{"csrf": {token}}, "https://evil.example"},
		{"join without the form token", "/G/G1", url.Values{}, ts.URL},
		{"enrol from another site", "/E/" + q.Code, url.Values{"csrf": {token}, "name": {"x"}}, "https://evil.example"},
		{"enrol without the form token", "/e/" + q.Code, url.Values{"name": {"x"}}, ts.URL},
		{"approve from another site", "/store/S", url.Values{"csrf": {token}, "action": {"approve"}, "enrolment": {pending[0].ID}}, "https://evil.example"},
		{"approve without the form token", "/store/S", url.Values{"action": {"approve"}, "enrolment": {pending[0].ID}}, ts.URL},
		{"store sign-in from another site", "/store/S", url.Values{"csrf": {token}, "action": {"token"}, "token": {ts.Admin}}, "https://evil.example"},
	} {
		if tc.form.Get("csrf") == "" {
			tc.form.Set("csrf", "-") // post() would fill in the real one
		}
		status, body := phone.do("POST", tc.path, tc.form, tc.origin)
		if status != 403 {
			t.Errorf("%s: %d, want 403\n%s", tc.name, status, body)
		}
	}
	if st := ts.CodeStatus(code); st.Redeemed {
		t.Fatal("a cross-site form claimed the code")
	}
	if g, err := ts.App.Engine.GuideView("G1", reward.GuidePage{}); err != nil || len(g.BoundMembers) != 0 {
		t.Fatalf("a cross-site form joined the guide: %v %v", g, err)
	}
	if en, _, err := ts.App.Engine.EnrolmentPage("S", reward.EnrolmentPending, "", 0); err != nil || len(en) != 1 {
		t.Fatalf("a cross-site form decided a request: %v %v", en, err)
	}
	if phone.cookie("/store/S", "yima_s") != "" {
		t.Fatal("a cross-site form signed the store's page in")
	}
	phone.get("/C/" + code)
	if status, body := phone.post("/C/"+code, nil); status != 200 || !strings.Contains(body, "Reward claimed") {
		t.Fatalf("the phone's own claim: %d\n%s", status, body)
	}
}

// TestDashboardSession signs in, checks what the cookie holds and the
// headers of the page, signs out, and replays the old cookie.
func TestDashboardSession(t *testing.T) {
	for _, base := range []string{"", "https://yima.test"} {
		ts := startServer(t, scan.Options{BaseURL: base})
		b := newBrowser(t, ts)
		b.get("/admin")
		// A browser without Origin (the https site's Origin would not be
		// the test's 127.0.0.1) and a forged Host: the redirect is a path.
		form := url.Values{"token": {ts.Admin}, "csrf": {b.csrf()}}
		req := ts.rawRequest("POST", "/admin", form.Encode())
		req.Host = "evil.example"
		for _, c := range b.c.Jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
		r := ts.send(req)
		if r.Status != 303 || r.Header.Get("Location") != "/admin" {
			t.Fatalf("signing in (base %q): %d Location %q, want 303 /admin", base, r.Status, r.Header.Get("Location"))
		}
		var sid, setCookie string
		for _, c := range r.Header.Values("Set-Cookie") {
			if v, ok := strings.CutPrefix(c, "yima_a="); ok {
				sid, _, _ = strings.Cut(v, ";")
				setCookie = c
			}
		}
		if sid == "" || strings.Contains(setCookie, ts.Admin) {
			t.Fatalf("the dashboard's cookie %q: want a session id, not the token", setCookie)
		}
		if secure := strings.Contains(strings.ToLower(setCookie), "secure"); secure != (base != "") {
			t.Errorf("base %q: cookie %q, Secure %v", base, setCookie, secure)
		}
		if !strings.Contains(setCookie, "HttpOnly") || !strings.Contains(setCookie, "SameSite=Strict") {
			t.Errorf("cookie %q is not HTTP-only and strict", setCookie)
		}
		// The session opens the dashboard; the page forbids framing and
		// scripts.
		page := ts.rawRequest("GET", "/admin", "")
		ck := httpCookie{"yima_a", sid}.c()
		page.AddCookie(&ck)
		for _, c := range b.c.Jar.Cookies(page.URL) {
			page.AddCookie(c)
		}
		r = ts.send(page)
		if r.Status != 200 || !strings.Contains(string(r.Body), "Sign out") {
			t.Fatalf("dashboard with the session: %v", r)
		}
		for h, want := range map[string]string{
			"Content-Security-Policy": "frame-ancestors 'none'",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
			"X-Content-Type-Options":  "nosniff",
		} {
			if !strings.Contains(r.Header.Get(h), want) {
				t.Errorf("%s: %q, want %q", h, r.Header.Get(h), want)
			}
		}
		if !strings.Contains(r.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("the policy allows scripts: %q", r.Header.Get("Content-Security-Policy"))
		}
		// Sign out: the session ends, whoever kept the cookie.
		csrf := csrfField.FindStringSubmatch(string(r.Body))[1]
		out := ts.rawRequest("POST", "/admin", url.Values{"signout": {"1"}, "csrf": {csrf}}.Encode())
		for _, c := range page.Cookies() {
			out.AddCookie(c)
		}
		if r := ts.send(out); r.Status != 303 || r.Header.Get("Location") != "/admin" {
			t.Fatalf("signing out: %v", r)
		}
		if r := ts.send(page); r.Status != 401 {
			t.Fatalf("the old session after signing out: %d, want 401", r.Status)
		}
	}
}

// TestMetricsNeedAToken reads /metrics as a client from the network
// (through a trusted proxy on loopback) without a token, with one of
// another role and with a metrics token; and as a local scraper, which
// needs none.
func TestMetricsNeedAToken(t *testing.T) {
	ts := startServer(t, scan.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	for _, tc := range []struct {
		token  string
		status int
	}{{"", 401}, {ts.Token("app"), 403}, {ts.Token("metrics"), 200}, {ts.Admin, 200}} {
		req := ts.rawRequest("GET", "/metrics", "")
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		if r := ts.send(req); r.Status != tc.status {
			t.Errorf("GET /metrics from the network with %.8q: %d, want %d", tc.token, r.Status, tc.status)
		}
	}
	if r := ts.send(ts.rawRequest("GET", "/metrics", "")); r.Status != 200 {
		t.Errorf("GET /metrics from loopback without a token: %d, want 200", r.Status)
	}
	if r := ts.Do("GET", "/metrics", ts.Token("app"), nil); r.Status != 403 {
		t.Errorf("GET /metrics from loopback with an app token: %d, want 403 (a token sent is checked)", r.Status)
	}
	if r := ts.Do("GET", "/v1/batches", ts.Token("metrics"), nil); r.Status != 403 {
		t.Errorf("a metrics token listing batches: %v, want 403", r)
	}
}
