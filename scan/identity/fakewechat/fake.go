// Package fakewechat is a local stand-in for WeChat's web sign-in: it
// answers connect/oauth2/authorize (consenting at once as the person the
// test names), sns/oauth2/access_token and sns/userinfo as WeChat
// documents them, errors included: an unknown or expired code is errcode
// 40029, a code used twice 40163, a wrong app id 40013, a wrong secret
// 40125, a profile asked with a snsapi_base token 48001. Codes last five
// minutes and are good once, as WeChat's are.
package fakewechat

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Person is who consents at the authorize step.
type Person struct {
	OpenID, UnionID, Nickname string
}

// Fake answers one official account's endpoints.
type Fake struct {
	AppID, Secret string
	// Now is the clock codes expire by; default time.Now.
	Now func() time.Time

	mu     sync.Mutex
	next   Person
	codes  map[string]*grant
	tokens map[string]*grant
	// Exchanges counts access_token calls, for tests.
	Exchanges int
	// scopes are the scopes the authorize step was asked for, in order.
	scopes []string
}

type grant struct {
	p       Person
	scope   string
	expires time.Time
	used    bool
}

// New returns a fake for app id and secret.
func New(appID, secret string) *Fake {
	return &Fake{AppID: appID, Secret: secret, codes: map[string]*grant{}, tokens: map[string]*grant{}}
}

// SignInAs makes p the person who consents at the next authorize.
// LastScope is the scope the latest authorize step was asked for.
func (f *Fake) LastScope() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.scopes) == 0 {
		return ""
	}
	return f.scopes[len(f.scopes)-1]
}

func (f *Fake) SignInAs(p Person) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = p
}

// IssueCode returns a code for p as the authorize step would, for tests
// that skip the browser's round trip.
func (f *Fake) IssueCode(p Person, scope string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issue(p, scope)
}

func (f *Fake) issue(p Person, scope string) string {
	c := random()
	f.codes[c] = &grant{p: p, scope: scope, expires: f.now().Add(5 * time.Minute)}
	return c
}

func (f *Fake) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// ServeHTTP answers the endpoints.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch r.URL.Path {
	case "/connect/oauth2/authorize":
		f.authorize(w, r, q)
	case "/sns/oauth2/access_token":
		f.accessToken(w, q)
	case "/sns/userinfo":
		f.userInfo(w, q)
	default:
		http.NotFound(w, r)
	}
}

func (f *Fake) authorize(w http.ResponseWriter, r *http.Request, q url.Values) {
	if q.Get("appid") != f.AppID || q.Get("response_type") != "code" {
		http.Error(w, "invalid appid or response_type", http.StatusBadRequest)
		return
	}
	scope := q.Get("scope")
	if scope != "snsapi_base" && scope != "snsapi_userinfo" {
		http.Error(w, "invalid scope", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || back.Host == "" {
		http.Error(w, "invalid redirect_uri", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	code := f.issue(f.next, scope)
	f.scopes = append(f.scopes, scope)
	f.mu.Unlock()
	bq := back.Query()
	bq.Set("code", code)
	bq.Set("state", q.Get("state"))
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (f *Fake) accessToken(w http.ResponseWriter, q url.Values) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Exchanges++
	switch {
	case q.Get("appid") != f.AppID:
		answer(w, map[string]any{"errcode": 40013, "errmsg": "invalid appid"})
		return
	case q.Get("secret") != f.Secret:
		answer(w, map[string]any{"errcode": 40125, "errmsg": "invalid appsecret"})
		return
	case q.Get("grant_type") != "authorization_code":
		answer(w, map[string]any{"errcode": 40002, "errmsg": "invalid grant_type"})
		return
	}
	g := f.codes[q.Get("code")]
	switch {
	case g == nil || !f.now().Before(g.expires):
		answer(w, map[string]any{"errcode": 40029, "errmsg": "invalid code"})
		return
	case g.used:
		answer(w, map[string]any{"errcode": 40163, "errmsg": "code been used"})
		return
	}
	g.used = true
	tok := random()
	f.tokens[tok] = g
	out := map[string]any{"access_token": tok, "expires_in": 7200, "refresh_token": random(), "openid": g.p.OpenID, "scope": g.scope}
	if g.p.UnionID != "" {
		out["unionid"] = g.p.UnionID
	}
	answer(w, out)
}

func (f *Fake) userInfo(w http.ResponseWriter, q url.Values) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.tokens[q.Get("access_token")]
	switch {
	case !ok || g.p.OpenID != q.Get("openid"):
		answer(w, map[string]any{"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"})
		return
	case g.scope != "snsapi_userinfo":
		answer(w, map[string]any{"errcode": 48001, "errmsg": "api unauthorized"})
		return
	}
	p := g.p
	out := map[string]any{"openid": p.OpenID, "nickname": p.Nickname, "sex": 0, "province": "", "city": "", "country": "", "headimgurl": "", "privilege": []string{}}
	if p.UnionID != "" {
		out["unionid"] = p.UnionID
	}
	answer(w, out)
}

// answer writes v as WeChat does: status 200, JSON, errors included.
func answer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	json.NewEncoder(w).Encode(v)
}

func random() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
