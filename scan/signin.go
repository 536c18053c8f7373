package scan

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan/identity"
)

// Consumers' sign-in. A browser that has not signed in is its cookie
// member, "web:<yima_v>". Signing in, by a one-time SMS code or by WeChat,
// proves an identity (tel:+86..., wx:<openid>); reward.Engine.SignIn
// attaches the cookie member to that identity's member (merging balances
// when both hold some), and the browser gets a signed session cookie,
// yima_m, that names the identity. Every page then acts for the member
// behind it: claims, guide binding, the member centre.
//
// The session cookie is the identity, its expiry and an HMAC of both
// under a key derived from the admin token, so it needs no server-side
// table and survives restarts; a cookie that is tampered with, expired or
// signed by another deployment is cleared and the browser is simply
// signed out. Signing out clears it and gives the browser a fresh visitor
// cookie, so the next person on a shared phone starts as nobody.

// SignInOptions configures consumers' sign-in.
type SignInOptions struct {
	// SMS delivers one-time codes; nil writes them to the server's log
	// (identity.LogSender), for development only.
	SMS identity.Sender
	// WeChat is the official account of WeChat sign-in; nil or without an
	// app id and secret, pages offer SMS codes only.
	WeChat *identity.WeChat
	// WeChatScope is what WeChat sign-in asks while the brand has not
	// chosen (reward.Brand.WeChatScope, which wins): identity.ScopeBase
	// (default: the openid, silently) or identity.ScopeUserInfo (the
	// nickname too, after the person agrees).
	WeChatScope string
	// SessionTTL is how long a sign-in lasts; default 30 days.
	SessionTTL time.Duration
	// SMSPerAddress bounds the codes one client address may ask for in an
	// hour, whatever the numbers; default 10.
	SMSPerAddress int
	// Now is the clock of sessions and the address limit; default
	// time.Now.
	Now func() time.Time
}

func (o *SignInOptions) ensureDefaults() {
	if o.SessionTTL == 0 {
		o.SessionTTL = 30 * 24 * time.Hour
	}
	if o.SMSPerAddress == 0 {
		o.SMSPerAddress = 10
	}
	if o.WeChatScope == "" {
		o.WeChatScope = identity.ScopeBase
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Cookies of sign-in.
const (
	memberCookie = "yima_m" // the signed session
	// sessionEnded marks a request whose session cookie did not hold up
	// (expired, tampered with, another deployment's).
	sessionEnded = "yima_m ended"
	stateCookie  = "yima_ws" // a WeChat sign-in's state, for ten minutes
)

// codeWeChatRefused is WeChat refusing a sign-in's code (expired, used)
// or the app's credentials.
const codeWeChatRefused reward.Code = "wechat_refused"

// signinKey derives a key for purpose from the pages' secret, like the
// form tokens': stable across restarts, different in every deployment.
func (s *Server) signinKey(purpose string) []byte {
	k := sha256.Sum256(append([]byte("yima "+purpose+"\x00"), s.pageSecret[:]...))
	return k[:]
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// sealed is value with its MAC under key: "value.mac", base64url.
func sealed(key []byte, value string) string {
	v := base64.RawURLEncoding.EncodeToString([]byte(value))
	return v + "." + base64.RawURLEncoding.EncodeToString(mac(key, v))
}

// unseal returns the value of a sealed string, or false when its MAC is
// not key's.
func unseal(key []byte, s string) (string, bool) {
	v, m, ok := strings.Cut(s, ".")
	if !ok {
		return "", false
	}
	got, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || !hmac.Equal(got, mac(key, v)) {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	return string(raw), err == nil
}

type sessionClaims struct {
	Identity string `json:"i"`
	Expires  int64  `json:"e"`
}

// startSession signs the browser in as identity.
func (s *Server) startSession(ctx *fasthttp.RequestCtx, ident string) {
	raw, _ := json.Marshal(sessionClaims{Identity: ident, Expires: s.signin.Now().Add(s.signin.SessionTTL).Unix()})
	s.setMemberCookie(ctx, sealed(s.signinKey("member session"), string(raw)), int(s.signin.SessionTTL/time.Second))
}

// setMemberCookie sets (or with "" clears) the session cookie: HTTP-only,
// Lax so that a link from WeChat or a QR code arrives signed in, Secure
// on an https site.
func (s *Server) setMemberCookie(ctx *fasthttp.RequestCtx, value string, maxAge int) {
	var c fasthttp.Cookie
	c.SetKey(memberCookie)
	c.SetValue(value)
	c.SetPath("/")
	c.SetHTTPOnly(true)
	c.SetSecure(s.secure())
	c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	if value == "" {
		maxAge = -1
	}
	c.SetMaxAge(maxAge)
	ctx.Response.Header.SetCookie(&c)
}

// signedIn returns the identity the browser signed in as, or "". A cookie
// that does not hold up is cleared: the browser is signed out, with no
// error page.
func (s *Server) signedIn(ctx *fasthttp.RequestCtx) string {
	if v, ok := ctx.UserValue(memberCookie).(string); ok {
		return v // decided earlier in this request
	}
	raw := string(ctx.Request.Header.Cookie(memberCookie))
	ident := ""
	if raw != "" {
		var c sessionClaims
		if v, ok := unseal(s.signinKey("member session"), raw); ok && json.Unmarshal([]byte(v), &c) == nil &&
			reward.SignedInIdentity(c.Identity) && s.signin.Now().Unix() < c.Expires {
			ident = c.Identity
		} else {
			s.setMemberCookie(ctx, "", 0)
			ctx.SetUserValue(sessionEnded, true)
		}
	}
	ctx.SetUserValue(memberCookie, ident)
	return ident
}

// member is who the browser acts as: the signed-in identity, else its
// cookie member. session is false for a browser without the visitor
// cookie (see visitor), which claims nothing.
func (s *Server) member(ctx *fasthttp.RequestCtx) (who string, signedIn, session bool) {
	v, session := s.visitor(ctx)
	if ident := s.signedIn(ctx); ident != "" {
		return ident, true, session
	}
	return reward.PrefixWeb + v, false, session
}

// safeNext is where a sign-in returns: a path on this site, never a host
// the request named.
func safeNext(next string) string {
	if len(next) > 512 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/me"
	}
	return next
}

// signinView is what the sign-in page shows.
type signinView struct {
	Next      string
	Phone     string // normalized, once a code was sent
	Masked    string
	AskCode   bool
	WeChatURL string
}

// smsLimit counts the codes each client address asked for in the current
// hour; the table is emptied each hour, so it holds at most an hour's
// addresses.
type smsLimit struct {
	mu     sync.Mutex
	window time.Time
	n      map[string]int
}

func (l *smsLimit) allow(addr string, now time.Time, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Hour || l.n == nil {
		l.window, l.n = now, map[string]int{}
	}
	if l.n[addr] >= max {
		return false
	}
	l.n[addr]++
	return true
}

// signinPage serves /signin: GET shows the phone form; POST with
// step=send sends a code, with step=verify signs in with it and returns to
// next.
func (s *Server) signinPage(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	l := s.pageWords(ctx)
	args := ctx.QueryArgs()
	if ctx.IsPost() {
		args = ctx.PostArgs()
	}
	v := &signinView{Next: safeNext(string(args.Peek("next")))}
	if s.signin.WeChat.Configured() {
		v.WeChatURL = "/signin/wechat?next=" + url.QueryEscape(v.Next)
	}
	d := pageData{L: l, Title: l.T("signin.title"), Message: l.T("signin.message"), Class: "ok", SignIn: v}
	if !ctx.IsPost() {
		if ident := s.signedIn(ctx); ident != "" {
			d.Message = l.T("signin.already", s.identityName(l, ident))
		}
		return s.renderPage(ctx, "signin", d)
	}
	if err := s.checkForm(ctx); err != nil {
		return err
	}
	refuse := func(err error) error {
		var re *reward.Error
		if !errors.As(err, &re) {
			return err
		}
		status, ok := statusOf[re.Code]
		if !ok || re.Code == reward.CodeInternal || re.Code == reward.CodeUnavailable {
			return err
		}
		d.Title, d.Class, d.Message = l.T("signin.refused.title"), "bad", l.refusal(re.Code)
		if left, ok := re.Details["tries_left"].(int); ok {
			d.Message = l.T("signin.tries_left", left)
		}
		if err := s.renderPage(ctx, "signin", d); err != nil {
			return err
		}
		ctx.SetStatusCode(status)
		return nil
	}
	phone, err := reward.NormalizePhone(string(args.Peek("phone")))
	if err != nil {
		return refuse(err)
	}
	v.Phone, v.Masked = phone, maskPhone(phone)
	switch string(args.Peek("step")) {
	case "send":
		if !s.smsAddr.allow(s.clientIP(ctx).String(), s.signin.Now(), s.signin.SMSPerAddress) {
			return refuse(reward.Errorf(codeRateLimited, "this address asked for too many codes; try again in an hour"))
		}
		code, err := newOTP()
		if err != nil {
			return err
		}
		if err := s.app.Engine.IssueOTP(phone, s.otpHash(phone, code)); err != nil {
			return refuse(err)
		}
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.smsSender().Send(sctx, phone, code); err != nil {
			s.log.Error("sms not sent", "phone", maskPhone(phone), "err", err, "request", RequestID(ctx))
			return refuse(reward.Errorf(reward.CodeUnavailable, "the code could not be sent"))
		}
		v.AskCode = true
		d.Message = l.T("signin.sent", v.Masked, int(reward.OTPTTL/time.Minute))
		return s.renderPage(ctx, "signin", d)
	case "verify":
		v.AskCode = true
		code := strings.TrimSpace(string(args.Peek("code")))
		if err := s.app.Engine.CheckOTP(phone, s.otpHash(phone, code)); err != nil {
			return refuse(err)
		}
		return s.finishSignIn(ctx, reward.PrefixPhone+phone, nil, "", v.Next)
	}
	return refuse(reward.Errorf(reward.CodeInvalidRequest, "step must be send or verify"))
}

// finishSignIn attaches the browser to the identity's member, starts the
// session and returns to next.
func (s *Server) finishSignIn(ctx *fasthttp.RequestCtx, ident string, also []string, nickname, next string) error {
	v, _ := s.visitor(ctx)
	res, err := s.app.Engine.SignIn(reward.PrefixWeb+v, ident)
	if err != nil {
		return err
	}
	if len(also) > 0 || nickname != "" {
		if err := s.app.Engine.AddIdentities(res.Member, also, nickname); err != nil {
			s.log.Warn("sign-in: identities not added", "err", err, "request", RequestID(ctx))
		}
	}
	s.log.Info("signed in", "outcome", res.Outcome, "member", res.Member, "points_moved", res.Points, "request", RequestID(ctx))
	s.startSession(ctx, ident)
	ctx.SetUserValue(memberCookie, ident)
	seeOther(ctx, next)
	return nil
}

// signout serves POST /signout: the session ends, and the browser gets a
// fresh visitor cookie so that it is nobody's until someone signs in.
func (s *Server) signout(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	if err := s.checkForm(ctx); err != nil {
		return err
	}
	s.setMemberCookie(ctx, "", 0)
	s.newVisitor(ctx)
	seeOther(ctx, "/me")
	return nil
}

// newOTP draws a uniform 6-digit code.
func newOTP() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// otpHash is what the store keeps of a code: keyed, so that the million
// possible codes cannot be tried against a copy of the store.
func (s *Server) otpHash(phone, code string) []byte {
	return mac(s.signinKey("sms code"), phone, code)
}

func (s *Server) smsSender() identity.Sender {
	if s.signin.SMS != nil {
		return s.signin.SMS
	}
	return identity.LogSender{Log: s.log}
}

// maskPhone shows a number as 138****5678.
func maskPhone(phone string) string {
	if m := reward.PhoneOf([]string{reward.PrefixPhone + phone}); m != "" {
		return m
	}
	if len(phone) > 6 {
		return phone[:len(phone)-6] + "****" + phone[len(phone)-2:]
	}
	return phone
}

// identityName is how a page names a sign-in identity.
func (s *Server) identityName(l *locale, ident string) string {
	switch {
	case strings.HasPrefix(ident, reward.PrefixPhone):
		return l.T("me.identity.phone", maskPhone(strings.TrimPrefix(ident, reward.PrefixPhone)))
	case strings.HasPrefix(ident, reward.PrefixOpenID):
		return l.T("me.identity.wechat")
	case strings.HasPrefix(ident, reward.PrefixUnionID):
		return l.T("me.identity.wechat_union")
	}
	return ident
}

// wechatScope is what WeChat sign-in asks: the brand's choice, else the
// server's fallback.
func (s *Server) wechatScope() string {
	b, err := s.app.Engine.Brand()
	switch {
	case err != nil || b.WeChatScope == "":
		return s.signin.WeChatScope
	case b.WeChatScope == reward.WeChatUserInfo:
		return identity.ScopeUserInfo
	}
	return identity.ScopeBase
}

// wechatStart serves /signin/wechat: the browser goes to WeChat with a
// fresh state, which a short-lived cookie remembers with where to return.
func (s *Server) wechatStart(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	if !s.signin.WeChat.Configured() {
		return errorf(codeRouteNotFound, "WeChat sign-in is not set up here; sign in with an SMS code")
	}
	var b [18]byte
	rand.Read(b[:])
	state := base64.RawURLEncoding.EncodeToString(b[:])
	next := safeNext(string(ctx.QueryArgs().Peek("next")))
	var c fasthttp.Cookie
	c.SetKey(stateCookie)
	c.SetValue(sealed(s.signinKey("wechat state"), state+"\n"+next))
	c.SetPath("/signin/wechat")
	c.SetHTTPOnly(true)
	c.SetSecure(s.secure())
	// Lax: WeChat's redirect back is a top-level navigation, which
	// carries it.
	c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	c.SetMaxAge(600)
	ctx.Response.Header.SetCookie(&c)
	s.visitor(ctx)
	back := s.pageBase(ctx) + "/signin/wechat/callback"
	ctx.Response.Header.Set("Location", s.signin.WeChat.AuthorizeURL(back, s.wechatScope(), state))
	ctx.SetStatusCode(fasthttp.StatusFound)
	return nil
}

// wechatCallback serves /signin/wechat/callback, where WeChat returns the
// browser with a code: the state must be this browser's, the code is
// exchanged for the person's openid (and unionid, nickname), and the
// browser signs in as wx:<openid>.
func (s *Server) wechatCallback(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	if !s.signin.WeChat.Configured() {
		return errorf(codeRouteNotFound, "WeChat sign-in is not set up here; sign in with an SMS code")
	}
	raw := string(ctx.Request.Header.Cookie(stateCookie))
	var clear fasthttp.Cookie
	clear.SetKey(stateCookie)
	clear.SetPath("/signin/wechat")
	clear.SetMaxAge(-1)
	ctx.Response.Header.SetCookie(&clear)
	v, ok := unseal(s.signinKey("wechat state"), raw)
	want, next, _ := strings.Cut(v, "\n")
	got := string(ctx.QueryArgs().Peek("state"))
	if !ok || want == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return errorf(codeForbidden, "this sign-in did not start in this browser, or took longer than ten minutes; start it again")
	}
	code := string(ctx.QueryArgs().Peek("code"))
	if code == "" {
		return errorf(codeWeChatRefused, "sign-in was not allowed in WeChat")
	}
	wctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tok, err := s.signin.WeChat.Exchange(wctx, code)
	var we *identity.Error
	switch {
	case errors.As(err, &we):
		s.log.Warn("wechat refused a sign-in", "errcode", we.Code, "errmsg", we.Message, "request", RequestID(ctx))
		return errorf(codeWeChatRefused, "WeChat did not accept this sign-in (it may have expired or been used); start it again")
	case err != nil:
		return &reward.Error{Code: reward.CodeUnavailable, Message: "WeChat is not answering; try again in a moment", Err: err}
	}
	nickname := ""
	if tok.Scope == identity.ScopeUserInfo || s.wechatScope() == identity.ScopeUserInfo {
		if u, err := s.signin.WeChat.UserInfo(wctx, tok); err != nil {
			s.log.Warn("wechat userinfo unavailable; signing in without a nickname", "err", err, "request", RequestID(ctx))
		} else {
			nickname = u.Nickname
			if tok.UnionID == "" {
				tok.UnionID = u.UnionID
			}
		}
	}
	var also []string
	if tok.UnionID != "" {
		also = append(also, reward.PrefixUnionID+tok.UnionID)
	}
	return s.finishSignIn(ctx, reward.PrefixOpenID+tok.OpenID, also, nickname, safeNext(next))
}
