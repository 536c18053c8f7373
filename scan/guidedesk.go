package scan

import (
	_ "embed"
	"errors"
	"html/template"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// The guide's own page, /guide (导购工作台): their binding QR as a poster
// to print, the members bound to them, what they earned this month and
// last, the gifts they verified, and the counter, where a consumer's
// coupon code is typed (or scanned with the phone's camera) and verified.
//
// A guide is known by either of two sign-ins: the guide token, typed once
// and kept in the server's session table (the cookie yima_g, as the
// counter page /V/ keeps it), or the consumers' sign-in (/signin) with a
// phone that is a guide's own identity (yima guide add --member
// tel:+86...). The page works without scripts: the camera is an addition
// of /guide.js where the browser has BarcodeDetector and getUserMedia.

// guideSessionCookie holds a guide's session id (see sessions).
const guideSessionCookie = "yima_g"

// deskView is what /guide shows a signed-in guide.
type deskView struct {
	D *reward.GuideDesk
	// Name is the guide's name (their id without one).
	Name string
	// Coupon is a coupon looked up at the counter, CouponCode what was
	// typed, and Result the outcome of a lookup or verification.
	Coupon     *reward.Coupon
	CouponCode string
	Result     *deskResult
	// Recent are the newest bound members with their day.
	Recent []deskMember
	// ViaToken says the guide signed in with their token (so signing out
	// here ends it); else they signed in with their phone.
	ViaToken bool
	// Poster is false while the brand has no base URL: a poster would
	// print an address that may not be the brand's.
	Poster bool
	// Store is the guide's store as people know it: its record's name.
	Store string
}

type deskMember struct{ Phone, Day string }

type deskResult struct{ Class, Title, Message string }

// deskSignIn is the page of a browser no guide signed in on.
type deskSignIn struct {
	// NotGuide is set when the browser signed in with a phone that is
	// no guide's.
	NotGuide string
	Next     string
}

// pageGuide is the guide the browser signed in as, and whether by token;
// nil when none.
func (s *Server) pageGuide(ctx *fasthttp.RequestCtx) (g *reward.Guide, viaToken bool, err error) {
	who, ok, err := s.pageCaller(ctx, guideSession)
	if err != nil {
		return nil, false, err
	}
	if ok && who.role == reward.RoleGuide {
		v, err := s.app.Engine.GuideByID(who.subject, 1)
		if err != nil {
			return nil, false, err
		}
		if v.LeftAt.IsZero() {
			return &v.Guide, true, nil
		}
	}
	if ident := s.signedIn(ctx); ident != "" {
		g, err := s.app.Engine.GuideOfIdentity(ident)
		return g, false, err
	}
	return nil, false, nil
}

// guideDesk serves /guide.
func (s *Server) guideDesk(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	l := s.pageWords(ctx)
	if ctx.IsPost() {
		if err := s.checkForm(ctx); err != nil {
			return err
		}
		switch string(ctx.PostArgs().Peek("action")) {
		case "token":
			return s.deskTokenSignIn(ctx, l)
		case "signout":
			return s.signOut(ctx, guideSession, "/guide"+langQuery(ctx))
		}
	}
	g, viaToken, err := s.pageGuide(ctx)
	if err != nil {
		return err
	}
	if g == nil {
		d := pageData{L: l, Title: l.T("desk.signin.title"), Class: "ok", Message: l.T("desk.signin.message"), Desk: &deskPage{SignIn: &deskSignIn{Next: "/guide" + langQuery(ctx)}}}
		if ident := s.signedIn(ctx); ident != "" {
			d.Class, d.Desk.SignIn.NotGuide = "warn", s.identityName(l, ident)
			d.Message = l.T("desk.signin.notguide", d.Desk.SignIn.NotGuide)
		}
		return s.renderDesk(ctx, d)
	}
	v := &deskView{ViaToken: viaToken, Poster: s.servingBase() != ""}
	if ctx.IsPost() && string(ctx.PostArgs().Peek("action")) == "verify" {
		// The outcome is the answer; the counter is clear for the next
		// gift.
		v.Result = s.deskVerify(l, couponID(string(ctx.PostArgs().Peek("coupon"))), g.ID)
	} else if typed := string(ctx.QueryArgs().Peek("coupon")); typed != "" {
		v.CouponCode = couponID(typed)
	}
	if v.CouponCode != "" {
		c, err := s.app.Engine.CouponByID(v.CouponCode)
		var re *reward.Error
		switch {
		case err == nil:
			v.Coupon = c
		case errors.As(err, &re) && (re.Code == reward.CodeNotFound || re.Code == reward.CodeInvalidRequest):
			v.Result = &deskResult{"bad", l.T("desk.counter.unknown.title"), l.T("desk.counter.unknown", v.CouponCode)}
		default:
			return err
		}
		if v.Coupon != nil && v.Result == nil && v.Coupon.Status != reward.CouponIssued {
			v.Result = &deskResult{"warn", l.T("counter.spent.title", l.status(v.Coupon.Status)), l.T("counter.spent.message")}
		}
	}
	if v.D, err = s.app.Engine.GuideDesk(g.ID); err != nil {
		return err
	}
	v.Name = g.Name
	if v.Name == "" {
		v.Name = g.ID
	}
	zone := s.app.Engine.Zone()
	for _, m := range v.D.Recent {
		phone := m.Phone
		if phone == "" {
			phone = l.T("desk.members.nophone")
		}
		v.Recent = append(v.Recent, deskMember{Phone: phone, Day: dateIn(zone, m.BoundAt)})
	}
	v.Store = s.app.Engine.StoreName(g.Store)
	d := pageData{L: l, Title: l.T("desk.title"), Class: "ok", Message: l.T("desk.hello", v.Name, v.Store), Desk: &deskPage{View: v}}
	return s.renderDesk(ctx, d)
}

// deskPage is pageData's part of /guide: the desk, or the sign-in.
type deskPage struct {
	View   *deskView
	SignIn *deskSignIn
}

// renderDesk renders /guide, whose policy lets in its own script,
// /guide.js, and nothing else.
func (s *Server) renderDesk(ctx *fasthttp.RequestCtx, d pageData) error {
	if err := s.renderPage(ctx, "desk", d); err != nil {
		return err
	}
	ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'; media-src 'self' blob: mediastream:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	return nil
}

// deskTokenSignIn signs a guide in with their token, as the counter page
// does: the token stays in the server's session table.
func (s *Server) deskTokenSignIn(ctx *fasthttp.RequestCtx, l *locale) error {
	tok := strings.TrimSpace(string(ctx.PostArgs().Peek("token")))
	who, err := s.caller(tok)
	if err != nil || who.role != reward.RoleGuide {
		d := pageData{L: l, Title: l.T("desk.signin.title"), Class: "bad", Message: l.T("counter.badtoken"), Desk: &deskPage{SignIn: &deskSignIn{Next: "/guide" + langQuery(ctx)}}}
		if err := s.renderDesk(ctx, d); err != nil {
			return err
		}
		ctx.SetStatusCode(fasthttp.StatusUnauthorized)
		return nil
	}
	return s.signIn(ctx, guideSession, tok, "/guide"+langQuery(ctx))
}

// deskVerify verifies coupon id as guide and says how it went.
func (s *Server) deskVerify(l *locale, id, guide string) *deskResult {
	if id == "" {
		return &deskResult{"bad", l.T("counter.refused.title"), l.T("desk.counter.empty")}
	}
	if _, err := s.app.Engine.VerifyCoupon(id, guide); err != nil {
		var re *reward.Error
		if !errors.As(err, &re) || re.Code == reward.CodeInternal || re.Code == reward.CodeUnavailable {
			s.log.Warn("guide page: verification failed", "err", err)
			return &deskResult{"bad", l.T("counter.refused.title"), l.refusal(reward.ErrorCode(err))}
		}
		if re.Code == reward.CodeNotFound || re.Code == reward.CodeInvalidRequest {
			return &deskResult{"bad", l.T("desk.counter.unknown.title"), l.T("desk.counter.unknown", id)}
		}
		return &deskResult{"bad", l.T("counter.refused.title"), counterRefusal(l, re)}
	}
	return &deskResult{"ok", l.T("counter.verified.title"), l.T("counter.verified.message")}
}

// couponID reads what was typed or scanned at the counter: a coupon's id,
// or the URL its QR holds (BASE/V/{id}).
func couponID(typed string) string {
	typed = strings.TrimSpace(typed)
	if u, err := url.Parse(typed); err == nil && u.Host != "" {
		typed = u.Path
	}
	if i := strings.LastIndexByte(typed, '/'); i >= 0 {
		typed = typed[i+1:]
	}
	if id, err := url.PathUnescape(typed); err == nil {
		typed = id
	}
	return typed
}

// guideQR serves /guide/qr.svg?g={guide}: the signed-in guide's binding
// QR, the poster's, with the brand's URL (never a guess: it is printed).
// The guide's id in the query keeps one guide's poster from being served
// from a phone's cache to another guide signed in on it later.
func (s *Server) guideQR(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	g, _, err := s.pageGuide(ctx)
	if err != nil {
		return err
	}
	if g == nil || string(ctx.QueryArgs().Peek("g")) != g.ID {
		return errorf(codeUnauthorized, "sign in on /guide first; the poster is the signed-in guide's")
	}
	base := s.servingBase()
	if base == "" {
		return reward.ErrBaseURLUnset
	}
	p := reward.Print{Role: reward.RoleGuide, Action: reward.PrintGuideQR, Guide: g.ID, Format: "svg", BaseURL: base}
	if _, err := s.app.Engine.RecordPrint(p); err != nil {
		return err
	}
	if err := writeQR(ctx, GuideURL(base, g.ID), "qr.svg"); err != nil {
		return err
	}
	ctx.Response.Header.Set("Cache-Control", "private, max-age=86400")
	return nil
}

//go:embed guide.js
var guideJS []byte

// guideScript serves /guide.js, the camera at the counter.
func (s *Server) guideScript(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	ctx.SetContentType("text/javascript; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "public, max-age=3600")
	ctx.SetBody(guideJS)
	return nil
}

// The guide's page, added to the set every locale copies.
var _ = template.Must(pages.New("desk-pages").Parse(`
{{define "desk"}}{{template "top" .}}
<style>
.stats{display:grid;grid-template-columns:1fr 1fr;gap:.6rem}.stats div{background:#f4f4f4;border-radius:8px;padding:.6rem}
.stats b{display:block;font-size:1.4rem}ul.members{list-style:none;padding:0}ul.members li{display:flex;justify-content:space-between;border-bottom:1px solid #eee;padding:.3rem 0}
.poster{text-align:center;border:2px dashed #bbb;border-radius:12px;padding:1rem}.poster img{width:14rem;height:14rem}
video{width:100%;border-radius:8px}.row{display:flex;gap:.5rem}.row input{flex:1}button.link{background:none;color:#555;padding:0;font-size:.9rem;text-decoration:underline}
@media print{body{max-width:none;padding:0}body>*{display:none!important}.poster{display:block!important;border:0;margin-top:3cm}.poster img{width:12cm;height:12cm}.poster .noprint{display:none}h2.poster-title{font-size:28pt}}
</style>
{{with .Desk}}{{with .SignIn}}
<p><a href="/signin?next={{.Next}}">{{t "desk.signin.phone"}}</a></p>
<form method="post" action="/guide"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="action" value="token">
<label>{{t "counter.token"}}<input name="token" type="password" autocomplete="current-password" required></label>
<button>{{t "desk.signin.token"}}</button></form>
{{end}}{{with .View}}
<h2>{{t "desk.counter"}}</h2>
{{with .Result}}<div class="card {{.Class}}"><h1>{{.Title}}</h1><p>{{.Message}}</p></div>{{end}}
{{with .Coupon}}{{if eq .Status "issued"}}<div class="card ok"><p><b>{{.Title}}</b><br>{{t "counter.status" (status .Status)}}<br>{{t "counter.until" (date $.Zone .Expires)}}</p>
<form method="post" action="/guide"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="action" value="verify"><input type="hidden" name="coupon" value="{{.ID}}">
<button>{{t "counter.verify"}}</button></form></div>{{end}}{{end}}
<form id="counter" method="get" action="/guide"><label for="coupon">{{t "desk.counter.label"}}</label>
<div class="row"><input id="coupon" name="coupon" autocomplete="off" autocapitalize="characters" spellcheck="false" value="{{.CouponCode}}" required><button>{{t "desk.counter.find"}}</button></div>
<button type="button" id="scan" hidden>{{t "desk.counter.camera"}}</button><video id="cam" playsinline muted hidden></video><p id="camerr" hidden>{{t "desk.counter.nocamera"}}</p></form>
<h2>{{t "desk.money"}}</h2>
<div class="stats"><div>{{t "desk.money.this" .D.ThisMonth}}<b>{{n .D.CommissionThisMonth}}</b></div><div>{{t "desk.money.last" .D.LastMonth}}<b>{{n .D.CommissionLastMonth}}</b></div>
<div>{{t "desk.verified"}}<b>{{n .D.Verified}}</b></div><div>{{t "desk.members.count"}}<b>{{n .D.Members}}</b></div></div>
<h2>{{t "desk.members"}}</h2>
<p>{{t "desk.members.new" .D.NewThisMonth}}</p>
{{if .Recent}}<ul class="members">{{range .Recent}}<li><span>{{.Phone}}</span><span>{{.Day}}</span></li>{{end}}</ul>{{else}}<p>{{t "desk.members.none"}}</p>{{end}}
<div class="poster"><h2 class="poster-title">{{t "desk.poster.title"}}</h2>{{if .Poster}}<img src="/guide/qr.svg?g={{.D.Guide.ID}}" alt="{{t "desk.poster.alt"}}">{{else}}<p class="noprint">{{t "desk.poster.nobase"}}</p>{{end}}
<p>{{with $.Brand}}{{with .Name}}{{.}} · {{end}}{{end}}{{.Store}} · {{.Name}}</p><p class="noprint">{{t "desk.poster.print"}}</p><button type="button" id="print" class="noprint" hidden>{{t "desk.poster.button"}}</button></div>
{{if .ViaToken}}<form method="post" action="/guide"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="action" value="signout"><button class="link">{{t "desk.signout"}}</button></form>{{end}}
<script src="/guide.js"></script>
{{end}}{{end}}
{{template "bottom"}}{{end}}
`))
