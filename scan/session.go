package scan

import (
	"crypto/hmac"
	"crypto/subtle"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// Browser sessions and forms. A cookie carries a random session id, never
// a token: the session is a record in the store (reward's page sessions)
// that names the admin or guide token it signed in with by its hash, so
// every node of a cluster knows it, signing out through any node ends it
// everywhere, and revoking the token ends its sessions. Every form a page
// posts carries a CSRF token bound to the browser's visitor cookie, and a
// POST whose Origin (or Referer) names another site is refused, so a page
// on another site cannot claim a code, join a guide or sign in for the
// person who opens it.

// sessionTTL is how long a signed-in browser stays signed in.
const sessionTTL = 12 * time.Hour

// sessionSweep is how often expired sessions' records are deleted (they
// are refused from their expiry on, swept or not).
const sessionSweep = 10 * time.Minute

// startPageSession records a browser signed in with tok, which the caller
// checked, and returns the session id for its cookie.
func (s *Server) startPageSession(tok string) (string, error) {
	return s.app.Engine.StartPageSession(tok, sessionTTL)
}

// session is who the browser with session id signed in as; ok is false
// when it signed in as no one, its session ended or expired, or its token
// was revoked.
func (s *Server) session(id string) (who caller, ok bool, err error) {
	sum, ok, err := s.app.Engine.PageSession(id)
	if err != nil || !ok {
		return caller{}, false, err
	}
	if s.app.AdminToken != "" && subtle.ConstantTimeCompare(sum[:], s.adminHash[:]) == 1 {
		return caller{role: reward.RoleAdmin}, true, nil
	}
	t, err := s.app.Engine.TokenByHash(sum)
	if err != nil || t == nil {
		return caller{}, false, err
	}
	who = caller{role: t.Role, subject: t.Subject, id: t.ID}
	if t.Role == reward.RoleAdmin {
		who.id = "" // as caller does for an admin token record
	}
	return who, true, nil
}

// endSession signs the browser with session id out, on every node.
func (s *Server) endSession(id string) error {
	return s.app.Engine.EndPageSession(id)
}

// sweepSessions deletes expired sessions' records every sessionSweep until
// the server closes.
func (s *Server) sweepSessions() {
	t := time.NewTicker(sessionSweep)
	defer t.Stop()
	for {
		select {
		case <-s.stopKeys:
			return
		case <-t.C:
		}
		if _, err := s.app.Engine.EndExpiredPageSessions(); err != nil {
			s.log.Warn("expired page sessions not swept; they are refused all the same", "err", err)
		}
	}
}

// secure reports whether cookies must be Secure: the site is served over
// https.
func (s *Server) secure() bool {
	return strings.HasPrefix(strings.ToLower(s.opts.BaseURL), "https://")
}

// pageSession is the session cookie of one part of the site: its name, and
// the path of the pages it is sent to.
type pageSession struct{ cookie, path string }

var (
	adminSession   = pageSession{adminCookie, "/admin"}
	guideSession   = pageSession{guideSessionCookie, "/"}
	managerSession = pageSession{managerSessionCookie, "/store/"}
)

// pageCaller is who the browser's session p signed in as (see session).
func (s *Server) pageCaller(ctx *fasthttp.RequestCtx, p pageSession) (who caller, ok bool, err error) {
	return s.session(string(ctx.Request.Header.Cookie(p.cookie)))
}

// keepSession signs the browser in with tok, whose caller the page
// accepted: a new session, whose id cookie p keeps.
func (s *Server) keepSession(ctx *fasthttp.RequestCtx, p pageSession, tok string) error {
	id, err := s.startPageSession(tok)
	if err != nil {
		return err
	}
	s.setSessionCookie(ctx, p, id)
	return nil
}

// signIn is keepSession, after which the browser goes on to next.
func (s *Server) signIn(ctx *fasthttp.RequestCtx, p pageSession, tok, next string) error {
	if err := s.keepSession(ctx, p, tok); err != nil {
		return err
	}
	seeOther(ctx, next)
	return nil
}

// signOut ends the browser's session p and clears its cookie; the browser
// goes on to next.
func (s *Server) signOut(ctx *fasthttp.RequestCtx, p pageSession, next string) error {
	if err := s.endSession(string(ctx.Request.Header.Cookie(p.cookie))); err != nil {
		return err
	}
	s.setSessionCookie(ctx, p, "")
	seeOther(ctx, next)
	return nil
}

// setSessionCookie keeps session id in the browser's cookie p:
// HTTP-only, so no script reads it, strict, so no other site's request
// carries it, and Secure on an https site. An empty id clears it.
func (s *Server) setSessionCookie(ctx *fasthttp.RequestCtx, p pageSession, id string) {
	var ck fasthttp.Cookie
	ck.SetKey(p.cookie)
	ck.SetValue(id)
	ck.SetPath(p.path)
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
	// Names already in canonical form and values without line breaks:
	// set as they are, not normalised again on every page.
	for _, kv := range securityHeaderLines {
		h.SetCanonical(kv[0], kv[1])
	}
}

var securityHeaderLines = [][2][]byte{
	{[]byte("Content-Security-Policy"), []byte("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")},
	{[]byte("X-Frame-Options"), []byte("DENY")},
	{[]byte("Referrer-Policy"), []byte("same-origin")},
}
