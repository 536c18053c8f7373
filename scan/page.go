package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"regexp"
	"strings"
	"time"

	"github.com/segmentio/ksuid"
	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// The consumer and counter pages are plain server-rendered HTML: no
// scripts, no external assets, a few kilobytes each, so they hold up when a
// promotion brings everyone at once. A browser is identified by a random
// cookie; as a member it is "web:<cookie>", which the brand's systems can
// later link to a phone or openid as an alias.
var pages = withBrand(template.Must(template.New("layout").Funcs(template.FuncMap{
	"date": dateIn,
	"id":   id,
	// The brand's colour, else yima's green.
	"brandColor": brandColor,
	// Bound to a language in each locale's copy (see locale.funcs).
	"t": func(string, ...any) string { return "" }, "n": func(int64) string { return "" }, "status": func(string) string { return "" },
}).Parse(`{{define "top"}}<!doctype html>
<html lang="{{.L.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title>
<style>
` + pageStyle + `{{brandColor .Brand}};color:#fff}
{{template "brandstyle" .Brand}}
` + pageStyleEnd + `{{template "brandheader" .Brand}}
<div class="card {{.Class}}"><h1>{{.Title}}</h1><p>{{.Message}}</p></div>{{end}}
{{define "bottom"}}</body></html>{{end}}

{{define "guide"}}{{template "top" .}}
{{if .Claim}}<form method="post"><input type="hidden" name="csrf" value="{{.CSRF}}"><button>{{t "guide.join"}}</button></form>{{end}}
{{template "bottom"}}{{end}}

{{define "counter"}}{{template "top" .}}
{{with .Coupon}}<p><b>{{.Title}}</b><br>{{t "counter.status" (status .Status)}}<br>{{t "counter.until" (date $.Zone .Expires)}}</p>{{end}}
{{if .Claim}}<form method="post"><input type="hidden" name="csrf" value="{{.CSRF}}">{{if .AskToken}}<label>{{t "counter.token"}}<input name="token" type="password" autocomplete="current-password"></label>{{end}}
<button>{{t "counter.verify"}}</button></form>{{end}}
{{template "bottom"}}{{end}}
`)))

// navView links the member centre, and sign-in for a browser that has
// not, returning to Next.
type navView struct {
	SignedIn bool
	Next     string
}

type pageData struct {
	// Zone is the brand's time zone, in which every date shows, L the
	// request's language and Brand the brand's settings; the server sets
	// them.
	Zone                  *time.Location
	L                     *locale
	Brand                 *reward.Brand
	Title, Message, Class string
	Coupon                *reward.Coupon
	Claim, AskToken       bool
	// Nav links the member centre and sign-in.
	Nav *navView
	// SignIn and Me are the sign-in page's and the member centre's.
	SignIn *signinView
	Me     *meView
	// Mall is the points mall's (mallpage.go).
	Mall *mallView
	// Desk is the guide's page's (/guide).
	Desk *deskPage
	// Enrol is the enrolment page's (/E/), Manage the store manager's
	// (/store/).
	Enrol  *enrolView
	Manage *manageView
	// CSRF is the form token of this browser (see checkForm); the server
	// sets it.
	CSRF string
}

// htmlErrors makes a page answer its errors as a page: a consumer's phone
// should never show raw JSON.
func htmlErrors(fn handler) handler {
	return func(s *Server, ctx *fasthttp.RequestCtx, who caller, arg string) error {
		err := fn(s, ctx, who, arg)
		if err == nil {
			return nil
		}
		var re *reward.Error
		errors.As(s.public(ctx, err), &re)
		status, ok := statusOf[re.Code]
		if !ok {
			status = fasthttp.StatusInternalServerError
		}
		l := s.pageWords(ctx)
		msg := l.refusal(re.Code)
		if re.Code == reward.CodeInternal {
			// The reference lets the operator find the logged cause.
			msg += " " + l.T("error.reference", RequestID(ctx))
		}
		if rerr := s.renderPage(ctx, "guide", pageData{L: l, Title: l.T("error.title"), Class: "bad", Message: msg}); rerr != nil {
			return err
		}
		ctx.SetStatusCode(status)
		return nil
	}
}

// renderPage answers the page name in d.L, the request's language when
// the handler left it unset.
func (s *Server) renderPage(ctx *fasthttp.RequestCtx, name string, d pageData) error {
	d.Zone = s.app.Engine.Zone()
	v, _ := s.visitor(ctx)
	s.device(ctx)
	d.CSRF = s.csrfToken(v)
	if d.L == nil {
		d.L = s.pageWords(ctx)
	}
	if b, err := s.app.Engine.Brand(); err == nil {
		d.Brand = b
	}
	return renderHTML(ctx, d.L.pages.Lookup(name), d)
}

// The consumer pages' style sheet, which the templates' "top" and the
// landing page's own writer (appendLandingTop) both write: pageStyle up to
// the buttons' colour, the brand's, then pageStyleEnd after the brand's
// header rules.
const (
	pageStyle = `body{font-family:system-ui,sans-serif;padding:1.5rem;max-width:28rem;margin:auto;color:#222}
.card{border-radius:12px;padding:1.25rem;margin:1rem 0}
.ok{background:#e8f6ec;border:1px solid #5cb176}.warn{background:#fff6e0;border:1px solid #e0a800}
.bad{background:#fdecea;border:1px solid #d9534f}h1{font-size:1.4rem;margin:.2rem 0}
p{line-height:1.45}code{font-size:.85rem;word-break:break-all}
button{font-size:1.1rem;padding:.7rem 1.4rem;border-radius:8px;border:0;background:`
	pageStyleEnd = `img.product{width:100%;max-height:16rem;object-fit:contain;border-radius:8px}
input{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;margin:.4rem 0}
img.qr{width:12rem;height:12rem;display:block;margin:1rem auto}
.item{border:1px solid #ddd}.item h1{font-size:1.15rem}.muted{color:#777}
</style></head><body>
`
)

// brandTemplates draw the brand's header (logo, name, a rule in its
// colour) given a *reward.Brand: "brandstyle" inside a <style>,
// "brandheader" at the top of the body. The consumer pages and the
// operator's dashboard both use them, so a brand looks the same on each.
const brandTemplates = `{{define "brandstyle"}}header{display:flex;align-items:center;gap:.6rem;padding-bottom:.6rem;border-bottom:3px solid {{brandColor .}}}
header img{height:2.5rem;max-width:8rem;object-fit:contain}
.brand{font-weight:600;color:#555;margin:0}{{end}}
{{define "brandheader"}}{{with .}}{{if or .Name .LogoURL}}<header>{{with .LogoURL}}<img src="{{.}}" alt="">{{end}}<p class="brand">{{.Name}}</p></header>{{end}}{{end}}{{end}}`

// withBrand adds brandTemplates to the template set of t.
func withBrand(t *template.Template) *template.Template {
	template.Must(t.New("brand").Parse(brandTemplates))
	return t
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// brandColor is the brand's colour of the pages' header and buttons, or
// yima's green when it has none.
func brandColor(b *reward.Brand) template.CSS {
	// SetBrand admits only #RRGGBB; checked again since it is written
	// into the style sheet unescaped.
	if b != nil && colorRE.MatchString(b.Color) {
		return template.CSS(b.Color)
	}
	return "#2d7d46"
}

// dateIn writes t's day in the brand's time zone: the day a consumer or an
// operator lives in, the same as the statistics' days.
func dateIn(loc *time.Location, t time.Time) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02")
}

// renderHTML answers with t run on d, never cached: every page shows live
// state.
func renderHTML(ctx *fasthttp.RequestCtx, t *template.Template, d any) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return err
	}
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	securityHeaders(ctx)
	ctx.SetBody(buf.Bytes())
	return nil
}

// visitorCookie holds a browser's visitor id.
const visitorCookie = "yima_v"

// visitor returns the browser's id, setting the cookie on first sight;
// session is false then. A request without the cookie may be a link
// previewer, a crawler or a script that makes a fresh identity each time:
// it counts as no one and claims nothing (see landing).
func (s *Server) visitor(ctx *fasthttp.RequestCtx) (id string, session bool) {
	// A cookie set earlier in this request (first sight, or signing out)
	// replaces the one the request came with.
	if v, ok := ctx.UserValue(visitorCookie).(string); ok {
		return v, false
	}
	v := string(ctx.Request.Header.Cookie(visitorCookie))
	if _, err := ksuid.Parse(v); err == nil {
		return v, true
	}
	return s.newVisitor(ctx), false
}

// newVisitor gives the browser a fresh visitor id: on first sight, and
// after signing out.
func (s *Server) newVisitor(ctx *fasthttp.RequestCtx) string {
	v := ksuid.New().String()
	ctx.SetUserValue(visitorCookie, v)
	s.setLongCookie(ctx, visitorCookie, []byte(v))
	return v
}

// landing renders /c/{code}. A GET counts as a scan, and as a scan by
// this browser when it comes with the session cookie of an earlier page, so
// one person reloading does not look like a counterfeit seen by many and a
// link previewer is no one; HEAD counts nothing. A POST claims the reward
// for this browser, and only with a session: a cookieless claim would be a
// fresh member each time, with a fresh new-member bonus and fresh daily
// limits. It gets the page with its claim button instead.
func (s *Server) landing(ctx *fasthttp.RequestCtx, _ caller, code string) error {
	member, signedIn, session := s.member(ctx)
	l := s.pageWords(ctx)
	w := l.landing
	v := landingView{w: w, zone: s.app.Engine.Zone(), signedIn: signedIn, code: code}
	if ctx.IsPost() && session {
		if err := s.checkForm(ctx); err != nil {
			return err
		}
		dev, born := s.device(ctx)
		req := reward.ScanRequest{Code: code, Member: member, Device: reward.PrefixWeb + dev, Region: s.region(ctx),
			PIN: strings.TrimSpace(string(ctx.PostArgs().Peek("pin")))}
		if err := s.limitNewDevice(ctx, dev, born); err != nil {
			return err
		}
		out, err := s.app.Engine.Scan(req)
		s.m.refused(err)
		if err == nil {
			var res reward.ScanResult
			if err := json.Unmarshal(out, &res); err != nil {
				return err
			}
			v.result = &res
			v.say(w.claimedTitle, "ok", w.claimedMessage)
		} else {
			var re *reward.Error
			if reward.ErrorCode(err) == reward.CodeInvalidCode {
				s.limits.forged("a:" + s.clientIP(ctx).String())
			}
			if !errors.As(err, &re) || re.Code == reward.CodeInvalidCode || re.Code == reward.CodeUnavailable || re.Code == reward.CodeInternal {
				return err
			}
			// Ended campaigns, limits and duplicates get a kind page, not
			// an error: the product may still be genuine.
			v.say(w.refusedTitle, "warn", htmlText(l.refusal(re.Code)))
		}
	} else if ctx.IsGet() {
		// Count first, so the page shows this scan too; a failure to
		// count must not hide whether the product is genuine.
		scanner := ""
		if session {
			scanner = member
		}
		if err := s.app.Engine.CountVisit(code, scanner); err != nil && reward.ErrorCode(err) == reward.CodeUnavailable {
			s.log.Warn("landing page could not count a scan", "err", err)
		}
	}
	st, err := s.app.Engine.Status(code)
	if err != nil {
		return err
	}
	s.noteForged(ctx, st)
	v.st = st
	now := time.Now()
	if st.Valid && st.Product != "" {
		// A SKU without a catalog entry (or one the catalog cannot name)
		// shows as the SKU.
		v.product = s.landingProduct(st.Product, now)
	}
	if v.title == "" {
		// The person who claimed a redeemed code is told what they got
		// and shown the coupon again; anyone else only when it was
		// claimed.
		var yours *reward.Claim
		if st.Valid && st.Redeemed {
			if yours, err = s.app.Engine.ClaimBy(code, member); err != nil {
				return err
			}
		}
		v.card(st, yours)
	}
	// As every page: the device cookie on first sight, and the form
	// token of this browser when the page has the claim form.
	s.device(ctx)
	if v.claim {
		visitor, _ := s.visitor(ctx)
		v.csrf = s.csrfToken(visitor)
	}
	v.brand = s.landingBrand(now)
	renderLanding(ctx, &v)
	return nil
}

// home renders the site's root: a phone that opened the bare address
// learns what the site is for, in the brand's language.
func (s *Server) home(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	l := s.pageWords(ctx)
	return s.renderPage(ctx, "guide", pageData{L: l, Title: l.T("home.title"), Message: l.T("home.message"), Class: "ok"})
}

// noCode renders /C/ without a code: a link cut short, or typed by hand.
func (s *Server) noCode(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	l := s.pageWords(ctx)
	if err := s.renderPage(ctx, "guide", pageData{L: l, Title: l.T("nocode.title"), Message: l.T("nocode.message"), Class: "warn"}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNotFound)
	return nil
}

// guidePage renders /G/{guide}, what a guide's personal QR opens: a POST
// binds this browser's member to the guide (first binding wins).
func (s *Server) guidePage(ctx *fasthttp.RequestCtx, _ caller, id string) error {
	who, _, _ := s.member(ctx)
	l := s.pageWords(ctx)
	g, err := s.app.Engine.GuideByID(id, 1)
	if err != nil {
		return err
	}
	if !g.LeftAt.IsZero() {
		// A poster outlives the guide on it: their successor looks after
		// whoever scans it, or no one binds them here.
		if g.Successor == "" {
			return s.renderPage(ctx, "guide", pageData{L: l, Title: l.T("guide.welcome", s.app.Engine.StoreName(g.Store)), Class: "warn",
				Message: l.T("guide.left", guideName(l, g))})
		}
		id = g.Successor
		if g, err = s.app.Engine.GuideByID(id, 1); err != nil {
			return err
		}
	}
	d := pageData{L: l, Title: l.T("guide.welcome", s.app.Engine.StoreName(g.Store)), Class: "ok", Message: l.T("guide.invite", guideName(l, g)), Claim: true}
	if ctx.IsPost() {
		if err := s.checkForm(ctx); err != nil {
			return err
		}
		d.Claim = false
		if _, err := s.app.Engine.Bind(who, id, false); err != nil {
			var re *reward.Error
			if !errors.As(err, &re) || re.Code != reward.CodeAlreadyBound {
				return err
			}
			d.Title, d.Class, d.Message = l.T("guide.bound.title"), "warn", l.T("guide.bound.message")
		} else {
			d.Title, d.Message = l.T("guide.joined.title"), l.T("guide.joined.message")
		}
	}
	return s.renderPage(ctx, "guide", d)
}

func guideName(l *locale, g *reward.GuideView) string {
	if g.Name != "" {
		return g.Name
	}
	return l.T("guide.unnamed", g.ID)
}

// counterPage renders /V/{coupon}, what a coupon's QR opens at the counter.
// A guide verifies with their token, kept in the server's session table
// afterwards (the cookie holds the session id) so the next gift takes one
// tap.
func (s *Server) counterPage(ctx *fasthttp.RequestCtx, _ caller, id string) error {
	c, err := s.app.Engine.CouponByID(id)
	if err != nil {
		return err
	}
	// A guide signed in here before, or on /guide with their token or
	// their phone, verifies with one tap.
	known, _, err := s.pageGuide(ctx)
	if err != nil {
		return err
	}
	l := s.pageWords(ctx)
	d := pageData{L: l, Coupon: c, Title: l.T("counter.title"), Class: "ok", Message: l.T("counter.message")}
	if ctx.IsPost() {
		if err := s.checkForm(ctx); err != nil {
			return err
		}
		guide, tok := "", string(ctx.PostArgs().Peek("token"))
		if tok != "" {
			if who, err := s.caller(tok); err == nil && who.role == reward.RoleGuide {
				guide = who.subject
			}
		} else if known != nil {
			guide = known.ID
		}
		if guide == "" {
			d.Title, d.Class, d.Message = l.T("counter.refused.title"), "bad", l.T("counter.badtoken")
			d.Claim, d.AskToken = true, true
			return s.renderPage(ctx, "counter", d)
		}
		if _, err := s.app.Engine.VerifyCoupon(id, guide); err != nil {
			var re *reward.Error
			if !errors.As(err, &re) {
				return err
			}
			d.Title, d.Class, d.Message = l.T("counter.refused.title"), "bad", counterRefusal(l, re)
		} else {
			d.Title, d.Message = l.T("counter.verified.title"), l.T("counter.verified.message")
			if tok != "" {
				if err := s.keepSession(ctx, guideSession, tok); err != nil {
					return err
				}
			}
		}
		if c, err = s.app.Engine.CouponByID(id); err == nil {
			d.Coupon = c
		}
		return s.renderPage(ctx, "counter", d)
	}
	if c.Status != reward.CouponIssued {
		d.Title, d.Class, d.Message = l.T("counter.spent.title", l.status(c.Status)), "warn", l.T("counter.spent.message")
	} else {
		d.Claim, d.AskToken = true, known == nil
	}
	return s.renderPage(ctx, "counter", d)
}

// counterRefusal says why a verification was refused; a gift the
// campaign's counter policy keeps from this store names where it may be
// verified.
func counterRefusal(l *locale, re *reward.Error) string {
	if re.Code == reward.CodeWrongStore {
		if s, ok := re.Details["allowed_store"].(string); ok {
			return l.T("counter.wrong_store.guide", s)
		}
		if rs, ok := re.Details["regions"].([]string); ok {
			store, _ := re.Details["store"].(string)
			return l.T("counter.wrong_store.region", strings.Join(rs, l.T("list.sep")), store)
		}
	}
	return l.refusal(re.Code)
}
