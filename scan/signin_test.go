package scan_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/identity"
	"github.com/yima-dev/yima/scan/identity/fakewechat"
)

// smsBox is an SMS sender that keeps the last code sent to each number,
// as a phone would show it.
type smsBox struct {
	mu   sync.Mutex
	last map[string]string
}

func (s *smsBox) Send(_ context.Context, phone, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]string{}
	}
	s.last[phone] = code
	return nil
}

func (s *smsBox) code(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[phone]
}

type signinServer struct {
	*testServer
	sms   *smsBox
	clock *clock
}

// startSigninServer runs a server with a gift coupon on every scan of
// SKU-TEST, an SMS box and a settable clock.
func startSigninServer(t *testing.T, opts scan.Options) *signinServer {
	t.Helper()
	c := &clock{t: time.Now().UTC()}
	box := &smsBox{}
	opts.SignIn.SMS = box
	opts.SignIn.Now = c.now
	ts := startClocked(t, c, opts)
	rewardtest.MustApply(t, ts.App.Engine, `{"id":"spring","products":["SKU-TEST"],"starts_at":"2020-01-01T00:00:00Z","ends_at":"2100-01-01T00:00:00Z","points":10,
		"coupon":{"title":"Free sample","probability":1,"stock":1000,"valid_days":30}}`)
	return &signinServer{testServer: ts, sms: box, clock: c}
}

// signIn signs browser b in with phone through the SMS pages, returning
// to next.
func (ss *signinServer) signIn(t *testing.T, b *browser, phone, next string) {
	t.Helper()
	b.get("/signin?next=" + url.QueryEscape(next))
	if status, body := b.post("/signin", url.Values{"step": {"send"}, "phone": {phone}, "next": {next}}); status != 200 || !strings.Contains(body, `name="code"`) {
		t.Fatalf("sending a code: %d\n%s", status, body)
	}
	norm, _ := reward.NormalizePhone(phone)
	code := ss.sms.code(norm)
	if len(code) != 6 {
		t.Fatalf("the SMS box holds %q for %s", code, norm)
	}
	status, body := b.post("/signin", url.Values{"step": {"verify"}, "phone": {phone}, "code": {code}, "next": {next}})
	if status != 303 {
		t.Fatalf("signing in with the code: %d\n%s", status, body)
	}
	if b.cookie("/", "yima_m") == "" {
		t.Fatal("signed in without a session cookie")
	}
}

// me reads GET /v1/me as browser b.
func (b *browser) me(t *testing.T) (int, *reward.MemberCentre) {
	t.Helper()
	status, body := b.get("/v1/me")
	if status != 200 {
		return status, nil
	}
	var c reward.MemberCentre
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	return status, &c
}

func claim(t *testing.T, b *browser, code string) string {
	t.Helper()
	b.get("/C/" + code)
	status, body := b.post("/C/"+code, nil)
	if status != 200 || !strings.Contains(body, "Reward claimed") {
		t.Fatalf("claim of %s: %d\n%s", code, status, body)
	}
	return body
}

// TestSignInKeepsPointsAcrossPhones: a phone claims, signs in by SMS code
// and finds its claim again; a second phone that claimed too signs in with
// the same number: one member with both claims and coupons, the audit
// clean; a stranger learns only when a code was claimed.
func TestSignInKeepsPointsAcrossPhones(t *testing.T) {
	ss := startSigninServer(t, scan.Options{})
	codes := ss.MintActive(3, 0)
	const phone = "138 1234 5678"

	a := newBrowser(t, ss.testServer)
	claim(t, a, codes[0])
	if status, _ := a.me(t); status != 401 {
		t.Fatalf("GET /v1/me before signing in: %d, want 401", status)
	}
	ss.signIn(t, a, phone, "/C/"+codes[0])
	status, body := a.get("/C/" + codes[0])
	if status != 200 || !strings.Contains(body, "You claimed this") || !strings.Contains(body, "10 points") || !strings.Contains(body, "qr.svg") {
		t.Fatalf("the claimer reopening the code: %d\n%s", status, body)
	}

	b := newBrowser(t, ss.testServer)
	claim(t, b, codes[1])
	ss.clock.add(reward.OTPResend)
	ss.signIn(t, b, phone, "/me")
	for name, br := range map[string]*browser{"first phone": a, "second phone": b} {
		_, c := br.me(t)
		if c == nil || c.Points != 20 || len(c.Coupons) != 2 || len(c.Scanned) != 2 || len(c.Identities) != 1 || c.Identities[0] != "tel:+8613812345678" {
			t.Fatalf("%s's centre: %+v", name, c)
		}
	}
	// The second phone reopening the first phone's code is the same person.
	if _, body := b.get("/C/" + codes[0]); !strings.Contains(body, "You claimed this") {
		t.Fatalf("the same member on another phone reopening the code:\n%s", body)
	}
	stranger := newBrowser(t, ss.testServer)
	if _, body := stranger.get("/C/" + codes[0]); strings.Contains(body, "You claimed this") || strings.Contains(body, "qr.svg") || !strings.Contains(body, "already redeemed") {
		t.Fatalf("a stranger reopening the code:\n%s", body)
	}
	_, body = a.get("/me")
	for _, want := range []string{"Points: 20", "Free sample", "SKU-TEST", "Phone 138****5678", "Sign out", "Moved in from another device"} {
		if !strings.Contains(body, want) {
			t.Errorf("/me lacks %q\n%s", want, body)
		}
	}
	rep, err := ss.App.Engine.Audit()
	if err != nil || len(rep.Violations) > 0 {
		t.Fatalf("audit: %+v %v", rep, err)
	}

	// Signing out: the session ends and the phone is nobody's.
	a.get("/me")
	if status, _ := a.post("/signout", nil); status != 303 {
		t.Fatalf("sign-out: %d", status)
	}
	if status, _ := a.me(t); status != 401 {
		t.Fatalf("GET /v1/me after signing out: %d", status)
	}
	if _, body := a.get("/me"); !strings.Contains(body, "Points: 0") || !strings.Contains(body, "not signed in") {
		t.Fatalf("/me after signing out:\n%s", body)
	}
}

// TestSMSCodeRefusals: a wrong code says how many tries are left, the
// fifth wrong one ends the code, a code is good once and for five
// minutes, one number gets one code a minute, and a bad number is
// refused; each answers the form again, never an error page.
func TestSMSCodeRefusals(t *testing.T) {
	ss := startSigninServer(t, scan.Options{})
	const phone = "+8613912345678"
	b := newBrowser(t, ss.testServer)
	send := func() (int, string) {
		b.get("/signin")
		return b.post("/signin", url.Values{"step": {"send"}, "phone": {phone}})
	}
	verify := func(code string) (int, string) {
		b.get("/signin")
		return b.post("/signin", url.Values{"step": {"verify"}, "phone": {phone}, "code": {code}})
	}
	wrong := func(right string) string {
		if right == "000000" {
			return "000001"
		}
		return "000000"
	}
	if status, body := verify("123456"); status != 400 || !strings.Contains(body, "Ask for a code first") {
		t.Fatalf("a code before any was sent: %d\n%s", status, body)
	}
	if status, _ := send(); status != 200 {
		t.Fatal("send")
	}
	if status, body := send(); status != 429 || !strings.Contains(body, "wait a minute") {
		t.Fatalf("a second code at once: %d\n%s", status, body)
	}
	code := ss.sms.code(phone)
	if status, body := verify(wrong(code)); status != 401 || !strings.Contains(body, "4 tries left") {
		t.Fatalf("a wrong code: %d\n%s", status, body)
	}
	if status, _ := verify(code); status != 303 {
		t.Fatalf("the right code: %d", status)
	}
	if status, body := verify(code); status != 401 || !strings.Contains(body, "already used") {
		t.Fatalf("the code reused: %d\n%s", status, body)
	}

	ss.clock.add(reward.OTPResend)
	send()
	code = ss.sms.code(phone)
	ss.clock.add(reward.OTPTTL)
	if status, body := verify(code); status != 401 || !strings.Contains(body, "expired") {
		t.Fatalf("an expired code: %d\n%s", status, body)
	}

	send()
	code = ss.sms.code(phone)
	for i := 1; i <= reward.OTPMaxTries; i++ {
		status, _ := verify(wrong(code))
		if want := map[bool]int{true: 429, false: 401}[i == reward.OTPMaxTries]; status != want {
			t.Fatalf("wrong try %d: %d, want %d", i, status, want)
		}
	}
	if status, body := verify(code); status != 429 || !strings.Contains(body, "Too many wrong tries") {
		t.Fatalf("the right code after too many tries: %d\n%s", status, body)
	}

	b.get("/signin")
	if status, body := b.post("/signin", url.Values{"step": {"send"}, "phone": {"<script>alert(1)</script>"}}); status != 400 || strings.Contains(body, "<script>alert") {
		t.Fatalf("a number that is a script: %d\n%s", status, body)
	}
	// The forms need their token like every other.
	if status, _ := b.do("POST", "/signin", url.Values{"step": {"send"}, "phone": {phone}}, ss.URL); status != 403 {
		t.Fatalf("sending without the form token: %d", status)
	}
	if status, _ := b.do("POST", "/signout", url.Values{"csrf": {"x"}}, ss.URL); status != 403 {
		t.Fatalf("signing out without the form token: %d", status)
	}
}

// TestSMSLimitPerAddress: one client address asks for codes for many
// numbers; past its hourly bound it is refused, whatever the number.
func TestSMSLimitPerAddress(t *testing.T) {
	ss := startSigninServer(t, scan.Options{SignIn: scan.SignInOptions{SMSPerAddress: 3}})
	b := newBrowser(t, ss.testServer)
	for i, want := range []int{200, 200, 200, 429} {
		b.get("/signin")
		phone := "+861381234000" + string(rune('0'+i))
		if status, _ := b.post("/signin", url.Values{"step": {"send"}, "phone": {phone}}); status != want {
			t.Fatalf("code %d from one address: %d, want %d", i+1, status, want)
		}
	}
}

// TestSessionCookiesThatDoNotHoldUp: a tampered, an expired and another
// deployment's session cookie each leave the browser signed out, with its
// page and no error: /me asks it to sign in again and shows no member's
// data (not the account's, not the browser's own).
func TestSessionCookiesThatDoNotHoldUp(t *testing.T) {
	ss := startSigninServer(t, scan.Options{})
	other := startSigninServer(t, scan.Options{})
	const phone = "13812345678"

	foreign := newBrowser(t, other.testServer)
	other.signIn(t, foreign, phone, "/me")
	good := newBrowser(t, ss.testServer)
	ss.signIn(t, good, phone, "/me")
	cookie := good.cookie("/", "yima_m")

	for name, value := range map[string]string{
		"tampered":           cookie[:len(cookie)-2] + map[bool]string{true: "AA", false: "BB"}[strings.HasSuffix(cookie, "BB")],
		"another deployment": foreign.cookie("/", "yima_m"),
		"not a session":      "garbage",
	} {
		b := newBrowser(t, ss.testServer)
		b.get("/me")
		u, _ := url.Parse(ss.URL)
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "yima_m", Value: value, Path: "/"}})
		status, body := b.get("/me")
		if status != 200 || !strings.Contains(body, "not signed in") {
			t.Errorf("%s cookie: /me %d\n%s", name, status, body)
		}
		endedPage(t, name+" cookie", body)
		if b.cookie("/", "yima_m") != "" {
			t.Errorf("%s cookie: not cleared", name)
		}
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "yima_m", Value: value, Path: "/"}})
		if status, _ := b.me(t); status != 401 {
			t.Errorf("%s cookie: /v1/me %d, want 401", name, status)
		}
	}
	if status, _ := good.me(t); status != 200 {
		t.Fatalf("the good cookie: %d", status)
	}
	claim(t, good, ss.MintActive(1, 0)[0])
	ss.clock.add(31 * 24 * time.Hour)
	status, body := good.get("/me")
	if status != 200 || !strings.Contains(body, "not signed in") {
		t.Fatalf("an expired session: /me %d\n%s", status, body)
	}
	endedPage(t, "an expired session", body)
	if !strings.Contains(body, "expired") {
		t.Errorf("an expired session: /me does not say the sign-in expired\n%s", body)
	}
	// Signed in again, the member's points are all there.
	ss.clock.add(reward.OTPResend)
	ss.signIn(t, good, phone, "/me")
	if _, c := good.me(t); c == nil || c.Points != 10 {
		t.Fatalf("signed in again: %+v", c)
	}
}

// endedPage checks that /me, after a session that did not hold up, asks
// the browser to sign in again and shows no member's data.
func endedPage(t *testing.T, what, body string) {
	t.Helper()
	if !strings.Contains(body, `href="/signin?next=/me"`) {
		t.Errorf("%s: /me has no way to sign in again\n%s", what, body)
	}
	for _, data := range []string{"Points:", "Growth:", "My coupons", "Points history", "Products I scanned"} {
		if strings.Contains(body, data) {
			t.Errorf("%s: /me shows %q, a member's data\n%s", what, data, body)
		}
	}
}

// TestSessionCookieAttributes: HttpOnly, SameSite=Lax, and Secure on an
// https site.
func TestSessionCookieAttributes(t *testing.T) {
	for _, base := range []string{"", "https://yima.test"} {
		ss := startSigninServer(t, scan.Options{BaseURL: base})
		b := newBrowser(t, ss.testServer)
		b.get("/signin")
		origin := ss.URL
		if base != "" {
			origin = base
		}
		if status, _ := b.do("POST", "/signin", url.Values{"step": {"send"}, "phone": {"13812345678"}, "csrf": {b.csrf()}}, origin); status != 200 {
			t.Fatalf("base %q: sending a code: %d", base, status)
		}
		form := url.Values{"step": {"verify"}, "phone": {"13812345678"}, "code": {ss.sms.code("+8613812345678")}, "csrf": {b.csrf()}}
		req := ss.rawRequest("POST", "/signin", form.Encode())
		u, _ := url.Parse(ss.URL)
		for _, c := range b.c.Jar.Cookies(u) {
			req.AddCookie(c)
		}
		r := ss.send(req)
		var set string
		for _, c := range r.Header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "yima_m=") {
				set = c
			}
		}
		if r.Status != 303 || !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Lax") || strings.Contains(set, "secure") != (base != "") {
			t.Fatalf("base %q: %d, Set-Cookie %q", base, r.Status, set)
		}
		if loc := r.Header.Get("Location"); loc != "/me" {
			t.Fatalf("base %q: returns to %q", base, loc)
		}
	}
}

// TestSignInReturnsOnlyToThisSite: next naming another host returns to /me.
func TestSignInReturnsOnlyToThisSite(t *testing.T) {
	ss := startSigninServer(t, scan.Options{})
	for _, next := range []string{"https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"} {
		b := newBrowser(t, ss.testServer)
		_, body := b.get("/signin?next=" + url.QueryEscape(next))
		if strings.Contains(body, "evil.example") || strings.Contains(body, "javascript:") {
			t.Fatalf("next %q is on the page:\n%s", next, body)
		}
	}
}

// wechatServer runs a server whose WeChat sign-in talks to a fake WeChat
// on 127.0.0.1.
func wechatServer(t *testing.T, scope string) (*signinServer, *fakewechat.Fake) {
	t.Helper()
	fake := fakewechat.New("wx-app", "wx-secret")
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	ss := startSigninServer(t, scan.Options{SignIn: scan.SignInOptions{
		WeChat:      &identity.WeChat{AppID: "wx-app", Secret: "wx-secret", APIBase: srv.URL, OpenBase: srv.URL},
		WeChatScope: scope,
	}})
	return ss, fake
}

// wechatRound takes browser b to WeChat and back: the callback URL WeChat
// sends it to.
func wechatRound(t *testing.T, b *browser, next string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", b.ts.URL+"/signin/wechat?next="+url.QueryEscape(next), nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 {
		t.Fatalf("starting WeChat sign-in: %d", resp.StatusCode)
	}
	// WeChat is not this server: a plain client, not one held to
	// openapi.yaml.
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = plain.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back := resp.Header.Get("Location")
	if resp.StatusCode != 302 || !strings.HasPrefix(back, b.ts.URL+"/signin/wechat/callback?") {
		t.Fatalf("WeChat's authorize: %d to %q", resp.StatusCode, back)
	}
	return strings.TrimPrefix(back, b.ts.URL)
}

func TestWeChatSignIn(t *testing.T) {
	ss, fake := wechatServer(t, identity.ScopeUserInfo)
	codes := ss.MintActive(2, 0)
	fake.SignInAs(fakewechat.Person{OpenID: "o-1", UnionID: "u-1", Nickname: "<script>alert(1)</script>小明"})

	b := newBrowser(t, ss.testServer)
	claim(t, b, codes[0])
	_, page := b.get("/signin?next=/C/" + codes[0])
	if !strings.Contains(page, "/signin/wechat?next=") {
		t.Fatalf("the sign-in page has no WeChat link:\n%s", page)
	}
	back := wechatRound(t, b, "/me")
	if status, body := b.get(back); status != 303 {
		t.Fatalf("WeChat's callback: %d\n%s", status, body)
	}
	_, c := b.me(t)
	if c == nil || c.Points != 10 || c.Nickname != "<script>alert(1)</script>小明" || strings.Join(c.Identities, ",") != "wx:o-1,wxu:u-1" {
		t.Fatalf("centre after WeChat sign-in: %+v", c)
	}
	if _, body := b.get("/me"); strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;") {
		t.Fatalf("the nickname is not escaped on /me:\n%s", body)
	}

	// The same callback again: the state was used up with its cookie.
	if status, _ := b.get(back); status != 403 {
		t.Fatalf("the callback replayed: %d, want 403", status)
	}
	// Another browser's state with this browser: refused.
	other := newBrowser(t, ss.testServer)
	otherBack := wechatRound(t, other, "/me")
	mine := wechatRound(t, b, "/me")
	_ = mine
	if status, _ := b.get(otherBack); status != 403 {
		t.Fatalf("another browser's state: %d, want 403", status)
	}
	// A fresh state with a code WeChat already took: 40163, refused.
	q, _ := url.ParseQuery(strings.SplitN(back, "?", 2)[1])
	fresh := wechatRound(t, b, "/me")
	fq, _ := url.ParseQuery(strings.SplitN(fresh, "?", 2)[1])
	if status, body := b.get("/signin/wechat/callback?code=" + q.Get("code") + "&state=" + fq.Get("state")); status != 401 || !strings.Contains(body, "did not complete") {
		t.Fatalf("a reused code: %d\n%s", status, body)
	}
	// An expired one: WeChat's codes last five minutes.
	fake.Now = func() time.Time { return time.Now().Add(-10 * time.Minute) }
	expired := wechatRound(t, b, "/me")
	fake.Now = nil
	if status, _ := b.get(expired); status != 401 {
		t.Fatalf("an expired code: %d, want 401", status)
	}
	// Declined: WeChat returns without a code.
	declined := wechatRound(t, b, "/me")
	dq, _ := url.ParseQuery(strings.SplitN(declined, "?", 2)[1])
	if status, _ := b.get("/signin/wechat/callback?state=" + dq.Get("state")); status != 401 {
		t.Fatalf("declined: %d, want 401", status)
	}
}

func TestWeChatNotConfigured(t *testing.T) {
	ss := startSigninServer(t, scan.Options{})
	b := newBrowser(t, ss.testServer)
	if _, body := b.get("/signin"); strings.Contains(body, "/signin/wechat") {
		t.Fatal("a WeChat link without an official account")
	}
	if status, _ := b.get("/signin/wechat"); status != 404 {
		t.Fatalf("/signin/wechat without an official account: %d", status)
	}
}

// TestTwoPhonesSignInAtOnceWhileClaiming: two phones that both earned
// sign in with one WeChat account at the same moment, while both keep
// claiming: one member in the end, holding every point paid, the audit
// clean. Run with -race.
func TestTwoPhonesSignInAtOnceWhileClaiming(t *testing.T) {
	ss, fake := wechatServer(t, identity.ScopeBase)
	codes := ss.MintActive(40, 0)
	fake.SignInAs(fakewechat.Person{OpenID: "o-same", UnionID: "u-same"})
	phones := []*browser{newBrowser(t, ss.testServer), newBrowser(t, ss.testServer)}
	backs := make([]string, len(phones))
	for i, p := range phones {
		claim(t, p, codes[i])
		backs[i] = wechatRound(t, p, "/me")
	}
	var wg sync.WaitGroup
	statuses := make([]int, len(phones))
	for i, p := range phones {
		wg.Add(2)
		go func() {
			defer wg.Done()
			statuses[i], _ = p.get(backs[i])
		}()
		go func() {
			defer wg.Done()
			// Each phone claims more codes while the sign-ins run.
			for j := 2 + i; j < len(codes); j += len(phones) {
				p.get("/C/" + codes[j])
				if status, body := p.post("/C/"+codes[j], nil); status != 200 || !strings.Contains(body, "Reward claimed") {
					t.Errorf("claim of code %d: %d", j, status)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 303 {
			t.Fatalf("phone %d's sign-in: %d", i, s)
		}
	}
	var member string
	for i, p := range phones {
		_, c := p.me(t)
		if c == nil {
			t.Fatalf("phone %d is not signed in", i)
		}
		if member == "" {
			member = c.ID
		}
		// Every code was claimed at 10 points, by one of the two phones.
		if c.ID != member || c.Points != int64(10*len(codes)) || len(c.Coupons) != len(codes) {
			t.Fatalf("phone %d sees member %s with %d points and %d coupons; want %s, %d, %d", i, c.ID, c.Points, len(c.Coupons), member, 10*len(codes), len(codes))
		}
	}
	rep, err := ss.App.Engine.Audit()
	if err != nil || len(rep.Violations) > 0 {
		t.Fatalf("audit: %+v %v", rep, err)
	}
}

// TestSignInThroughAnSMSGateway: with the http sender the code reaches
// the brand's gateway, signed, and signs in; a gateway that fails is a
// kind page, and nothing signs in.
func TestSignInThroughAnSMSGateway(t *testing.T) {
	key := []byte("gateway key")
	var mu sync.Mutex
	var got identity.SMSMessage
	failing := false
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		if !identity.Verify(key, body, r.Header.Get(identity.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		if failing {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		json.Unmarshal(body, &got)
	}))
	defer gw.Close()
	ts := startServer(t, scan.Options{SignIn: scan.SignInOptions{SMS: identity.HTTPSender{URL: gw.URL, Key: key}}})
	b := newBrowser(t, ts)
	b.get("/signin")
	if status, _ := b.post("/signin", url.Values{"step": {"send"}, "phone": {"13812345678"}}); status != 200 {
		t.Fatalf("sending through the gateway: %d", status)
	}
	mu.Lock()
	msg := got
	failing = true
	mu.Unlock()
	if msg.Phone != "+8613812345678" || len(msg.Code) != 6 {
		t.Fatalf("the gateway received %+v", msg)
	}
	if status, _ := b.post("/signin", url.Values{"step": {"verify"}, "phone": {"13812345678"}, "code": {msg.Code}}); status != 303 {
		t.Fatalf("signing in with the gateway's code: %d", status)
	}
	other := newBrowser(t, ts)
	other.get("/signin")
	if status, body := other.post("/signin", url.Values{"step": {"send"}, "phone": {"13900000000"}}); status != 503 || !strings.Contains(body, "try again") {
		t.Fatalf("a gateway that fails: %d\n%s", status, body)
	}
}

// TestMePageNamesProducts: /me lists a scanned product by its catalog
// name once the SKU has one, by the SKU before.
func TestMePageNamesProducts(t *testing.T) {
	ss := startSigninServer(t, scan.Options{})
	codes := ss.MintActive(1, 0)
	b := newBrowser(t, ss.testServer)
	claim(t, b, codes[0])
	if _, body := b.get("/me?lang=en"); !strings.Contains(body, "SKU-TEST ·") {
		t.Fatalf("/me before the catalog entry lacks the SKU:\n%s", body)
	}
	if _, _, err := ss.App.Engine.SetProduct("SKU-TEST", reward.ProductChange{Name: new("Green <b>tea</b>")}); err != nil {
		t.Fatal(err)
	}
	_, body := b.get("/me?lang=en")
	if !strings.Contains(body, "Green &lt;b&gt;tea&lt;/b&gt; ·") || strings.Contains(body, "SKU-TEST ·") {
		t.Fatalf("/me after the catalog entry should name the product:\n%s", body)
	}
}

// TestWeChatScopeIsTheBrands: whether WeChat sign-in asks for the
// person's nickname is the brand's setting (PUT /v1/brand wechat_scope),
// taking effect at the next sign-in; the server's option is only the
// fallback while the brand has not chosen, and a scope that is neither
// base nor userinfo is refused and changes nothing.
func TestWeChatScopeIsTheBrands(t *testing.T) {
	signIn := func(t *testing.T, ss *signinServer, fake *fakewechat.Fake, openID string) (scope, nickname string) {
		t.Helper()
		fake.SignInAs(fakewechat.Person{OpenID: openID, Nickname: "小红"})
		b := newBrowser(t, ss.testServer)
		if status, body := b.get(wechatRound(t, b, "/me")); status != 303 {
			t.Fatalf("WeChat's callback: %d\n%s", status, body)
		}
		_, c := b.me(t)
		if c == nil {
			t.Fatal("not signed in")
		}
		return fake.LastScope(), c.Nickname
	}
	t.Run("the brand chooses", func(t *testing.T) {
		ss, fake := wechatServer(t, "")
		if scope, nick := signIn(t, ss, fake, "o-1"); scope != identity.ScopeBase || nick != "" {
			t.Fatalf("by default: scope %q, nickname %q; want snsapi_base without one", scope, nick)
		}
		for _, bad := range []string{`{"wechat_scope":"snsapi_everything"}`, `{"wechat_scope":"USERINFO"}`} {
			if r := ss.Do("PUT", "/v1/brand", ss.Admin, bad); r.Status != 400 || r.ErrCode() != "invalid_request" || !strings.Contains(string(r.Body), "userinfo") {
				t.Errorf("PUT /v1/brand %s: %v, want 400 naming the choices", bad, r)
			}
		}
		if scope, _ := signIn(t, ss, fake, "o-2"); scope != identity.ScopeBase {
			t.Fatalf("a refused scope changed the sign-in: %q", scope)
		}
		if r := ss.Do("PUT", "/v1/brand", ss.Admin, `{"wechat_scope":"userinfo"}`); r.Status != 200 || !strings.Contains(string(r.Body), `"wechat_scope":"userinfo"`) {
			t.Fatalf("PUT /v1/brand wechat_scope: %v", r)
		}
		if scope, nick := signIn(t, ss, fake, "o-3"); scope != identity.ScopeUserInfo || nick != "小红" {
			t.Fatalf("with userinfo: scope %q, nickname %q; want snsapi_userinfo and 小红", scope, nick)
		}
	})
	t.Run("the brand's choice wins over the server's fallback", func(t *testing.T) {
		ss, fake := wechatServer(t, identity.ScopeUserInfo)
		if scope, nick := signIn(t, ss, fake, "o-1"); scope != identity.ScopeUserInfo || nick != "小红" {
			t.Fatalf("the fallback: scope %q, nickname %q", scope, nick)
		}
		if r := ss.Do("PUT", "/v1/brand", ss.Admin, `{"wechat_scope":"base"}`); r.Status != 200 {
			t.Fatalf("PUT /v1/brand wechat_scope: %v", r)
		}
		if scope, nick := signIn(t, ss, fake, "o-2"); scope != identity.ScopeBase || nick != "" {
			t.Fatalf("the brand's base: scope %q, nickname %q", scope, nick)
		}
	})
}
