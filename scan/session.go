package scan

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Browser sessions and forms. A cookie carries a random session id, never
// a token: the admin's and a guide's tokens stay in the server's table,
// which signing out (or a restart) empties. Every form a page posts
// carries a CSRF token bound to the browser's visitor cookie, and a POST
// whose Origin (or Referer) names another site is refused, so a page on
// another site cannot claim a code, join a guide or sign in for the
// person who opens it.

// sessionTTL is how long a signed-in browser stays signed in.
const sessionTTL = 12 * time.Hour

// maxSessions bounds the table: signing in needs a token, so only the
// brand's operators and guides fill it; past this the oldest go.
const maxSessions = 4096

type session struct {
	token   string // the admin or guide token this browser signed in with
	expires time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]session
}

// start stores token under a fresh session id and returns the id.
func (t *sessions) start(token string) string {
	var b [24]byte
	rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]session{}
	}
	if len(t.m) >= maxSessions {
		var oldest string
		for k, s := range t.m {
			if s.expires.Before(now) {
				delete(t.m, k)
			} else if oldest == "" || s.expires.Before(t.m[oldest].expires) {
				oldest = k
			}
		}
		if len(t.m) >= maxSessions {
			delete(t.m, oldest)
		}
	}
	t.m[id] = session{token: token, expires: now.Add(sessionTTL)}
	return id
}

// token is the token of session id, "" when there is none or it expired.
func (t *sessions) token(id string) string {
	if id == "" {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.m[id]
	if !ok || time.Now().After(s.expires) {
		delete(t.m, id)
		return ""
	}
	return s.token
}

func (t *sessions) end(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, id)
}

// secure reports whether cookies must be Secure: the site is served over
// https.
func (s *Server) secure() bool {
	return strings.HasPrefix(strings.ToLower(s.opts.BaseURL), "https://")
}

// setSessionCookie keeps session id in the browser for the pages under
// path: HTTP-only, so no script reads it, strict, so no other site's
// request carries it, and Secure on an https site. An empty id clears it.
func (s *Server) setSessionCookie(ctx *fasthttp.RequestCtx, name, id, path string) {
	var ck fasthttp.Cookie
	ck.SetKey(name)
	ck.SetValue(id)
	ck.SetPath(path)
	ck.SetHTTPOnly(true)
	ck.SetSecure(s.secure())
	ck.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	if id == "" {
		ck.SetMaxAge(-1)
	}
	ctx.Response.Header.SetCookie(&ck)
}

// csrfToken is the form token for a browser with visitor cookie v: a MAC
// of it under a key derived from the admin token, so that it is stable
// across restarts and no one without the key can make one.
func (s *Server) csrfToken(v string) string {
	csrf, _ := s.macs()
	return csrf.token(v, 0)
}

// checkForm refuses a page's POST that another site could have made: one
// whose Origin or Referer names another host, one without the visitor
// cookie, or one whose form token is not the cookie's.
func (s *Server) checkForm(ctx *fasthttp.RequestCtx) error {
	if !s.sameSite(ctx) {
		return errorf(codeForbidden, "This form was sent from another site. Open the page again and use its button.")
	}
	v := string(ctx.Request.Header.Cookie(visitorCookie))
	got := ctx.PostArgs().Peek("csrf")
	if v == "" || len(got) == 0 || !hmac.Equal(got, []byte(s.csrfToken(v))) {
		return errorf(codeForbidden, "This page has expired. Open it again and use its button.")
	}
	return nil
}

// sameSite reports whether a POST's Origin, or without one its Referer,
// names this site: the base URL's host, or without a base URL the host the
// request was sent to. A request with neither header (an old browser, a
// privacy setting) passes on its form token alone.
func (s *Server) sameSite(ctx *fasthttp.RequestCtx) bool {
	from := ctx.Request.Header.Peek("Origin")
	if len(from) == 0 {
		from = ctx.Request.Header.Peek("Referer")
	}
	if len(from) == 0 {
		return true
	}
	u, err := url.Parse(string(from))
	if err != nil || u.Host == "" {
		return false // "null" and the like: an opaque origin
	}
	return strings.EqualFold(u.Host, s.siteHost(ctx))
}

func (s *Server) siteHost(ctx *fasthttp.RequestCtx) string {
	if u, err := url.Parse(s.opts.BaseURL); err == nil && u.Host != "" {
		return u.Host
	}
	return string(ctx.Host())
}

// securityHeaders go on every page: no scripts, styles and images from
// this site only, forms post here only, no framing, no referrer to other
// sites.
func securityHeaders(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}
