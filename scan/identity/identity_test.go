package identity_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/scan/identity"
	"github.com/yima-dev/yima/scan/identity/fakewechat"
)

func TestHTTPSenderSignsItsBody(t *testing.T) {
	key := []byte("gateway key")
	var got []byte
	var sig string
	status := http.StatusOK
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		sig = r.Header.Get(identity.SignatureHeader)
		w.WriteHeader(status)
	}))
	defer gw.Close()
	s := identity.HTTPSender{URL: gw.URL, Key: key, Now: func() time.Time { return time.Unix(1700000000, 0) }}
	if err := s.Send(context.Background(), "+8613812345678", "123456"); err != nil {
		t.Fatal(err)
	}
	if want := `{"phone":"+8613812345678","code":"123456","ttl_seconds":300,"sent_at":1700000000}`; string(got) != want {
		t.Fatalf("body %s, want %s", got, want)
	}
	if !identity.Verify(key, got, sig) || identity.Verify([]byte("another key"), got, sig) {
		t.Fatalf("signature %q does not verify under the key alone", sig)
	}
	status = http.StatusBadGateway
	if err := s.Send(context.Background(), "+8613812345678", "123456"); !errors.Is(err, identity.ErrSend) {
		t.Fatalf("a gateway answering 502: %v", err)
	}
}

func TestWeChatAgainstTheFake(t *testing.T) {
	now := time.Unix(1700000000, 0)
	fake := fakewechat.New("wxapp", "s3cret")
	fake.Now = func() time.Time { return now }
	srv := httptest.NewServer(fake)
	defer srv.Close()
	w := &identity.WeChat{AppID: "wxapp", Secret: "s3cret", APIBase: srv.URL, OpenBase: srv.URL}
	ctx := context.Background()

	// The authorize step sends the browser back with a code and the state.
	fake.SignInAs(fakewechat.Person{OpenID: "o-1", UnionID: "u-1", Nickname: "小明"})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(w.AuthorizeURL("https://brand.test/signin/wechat/callback", identity.ScopeUserInfo, "st-1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || back.Query().Get("state") != "st-1" || back.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok, err := w.Exchange(ctx, back.Query().Get("code"))
	if err != nil || tok.OpenID != "o-1" || tok.UnionID != "u-1" {
		t.Fatalf("exchange: %+v %v", tok, err)
	}
	if u, err := w.UserInfo(ctx, tok); err != nil || u.Nickname != "小明" {
		t.Fatalf("userinfo: %+v %v", u, err)
	}

	// In this order: the expired case moves the clock past every code
	// issued so far, the reused one's included.
	for _, c := range []struct {
		name string
		w    *identity.WeChat
		code func() string
		want int
	}{
		{"reused code", w, func() string { return back.Query().Get("code") }, identity.ErrCodeCodeUsed},
		{"unknown code", w, func() string { return "nope" }, identity.ErrCodeInvalidCode},
		{"expired code", w, func() string {
			c := fake.IssueCode(fakewechat.Person{OpenID: "o-2"}, identity.ScopeBase)
			now = now.Add(6 * time.Minute)
			return c
		}, identity.ErrCodeInvalidCode},
		{"wrong secret", &identity.WeChat{AppID: "wxapp", Secret: "x", APIBase: srv.URL}, func() string {
			return fake.IssueCode(fakewechat.Person{OpenID: "o-3"}, identity.ScopeBase)
		}, identity.ErrCodeBadSecret},
	} {
		_, err := c.w.Exchange(ctx, c.code())
		var we *identity.Error
		if !errors.As(err, &we) || we.Code != c.want {
			t.Errorf("%s: %v, want errcode %d", c.name, err, c.want)
		}
	}
	down := &identity.WeChat{AppID: "wxapp", Secret: "s3cret", APIBase: "http://127.0.0.1:1"}
	if _, err := down.Exchange(ctx, "c"); !errors.Is(err, identity.ErrUnreachable) || containsSecret(err) {
		t.Fatalf("unreachable WeChat: %v", err)
	}
}

func containsSecret(err error) bool {
	return err != nil && strings.Contains(err.Error(), "s3cret")
}
