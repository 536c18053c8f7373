package scan

import (
	"errors"
	"html/template"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// The store manager's page, /store/{store} (店长): the store's enrolment
// QR to show a new guide (and a button that replaces it), the requests
// waiting, each with approve and reject buttons, and the store's guides.
// Forms work without scripts and carry the page's CSRF token.
//
// A browser manages a store in one of two ways: signed in (/signin) as a
// person the store's record names as its manager (yima store add S
// --managers), or with a token typed here, a manager token of this store
// or the admin token, kept in the server's session table (the cookie
// yima_s, for /store/ only) as /guide keeps a guide's.

// managerSessionCookie holds a manager's session id (see sessions).
const managerSessionCookie = "yima_s"

// manageView is pageData's part of /store/{store}.
type manageView struct {
	Store *reward.Store
	// Path is the page's own path, with ?lang= when the request named it.
	Path string
	// SignIn is set for a browser that manages no such store.
	SignIn *manageSignIn
	// Result is the outcome of a decision just made.
	Result  *deskResult
	Pending []manageRequest
	Guides  []manageGuide
	// QR is the enrolment QR's code, "" while the brand has no base URL
	// (a QR would open an address that may not be the brand's);
	// QRExpires its last day.
	QR, QRExpires string
	ViaToken      bool
}

type manageSignIn struct {
	// Phone links the phone sign-in, returning here; NotManager names the
	// identity a browser signed in with that does not manage the store.
	Phone, NotManager string
}

type manageRequest struct{ ID, Name, Who, Day string }

type manageGuide struct{ ID, Name, Day string }

// storeManager reports how the browser manages store: by the token its
// session holds (a manager token of store, or the admin token), or as a
// signed-in person the store names. by is what a decision records; ""
// when the browser does not manage store.
func (s *Server) storeManager(ctx *fasthttp.RequestCtx, store string) (by string, viaToken bool, err error) {
	who, ok, err := s.pageCaller(ctx, managerSession)
	if err != nil {
		return "", false, err
	}
	if ok && (who.role == reward.RoleAdmin || who.role == reward.RoleManager && who.subject == store) {
		return decidedBy(who), true, nil
	}
	if ident := s.signedIn(ctx); ident != "" {
		ok, err := s.app.Engine.Manages(ident, store)
		if err != nil || !ok {
			return "", false, err
		}
		return ident, false, nil
	}
	return "", false, nil
}

// storePage serves /store/{store} and its QR, /store/{store}/qr.svg.
func (s *Server) storePage(ctx *fasthttp.RequestCtx, _ caller, arg string) error {
	id, sub, _ := strings.Cut(arg, "/")
	switch {
	case sub == "qr.svg" && ctx.IsGet():
		return s.storeQR(ctx, id)
	case sub != "":
		return errorf(codeRouteNotFound, "no such page; the store's page is /store/{store}")
	}
	st, err := s.app.Engine.Store(id)
	if err != nil {
		return err
	}
	l := s.pageWords(ctx)
	self := "/store/" + url.PathEscape(id) + langQuery(ctx)
	v := &manageView{Store: st, Path: self}
	d := pageData{L: l, Title: l.T("manage.title", st.Name), Class: "ok", Manage: v}
	if ctx.IsPost() {
		if err := s.checkForm(ctx); err != nil {
			return err
		}
		switch string(ctx.PostArgs().Peek("action")) {
		case "token":
			tok := strings.TrimSpace(string(ctx.PostArgs().Peek("token")))
			who, err := s.caller(tok)
			if err != nil || !(who.role == reward.RoleAdmin || who.role == reward.RoleManager && who.subject == id) {
				d.Title, d.Class, d.Message = l.T("manage.signin.title"), "bad", l.T("manage.badtoken", st.Name)
				v.SignIn = &manageSignIn{Phone: "/signin?next=" + url.QueryEscape(self)}
				if err := s.renderPage(ctx, "store", d); err != nil {
					return err
				}
				ctx.SetStatusCode(fasthttp.StatusUnauthorized)
				return nil
			}
			return s.signIn(ctx, managerSession, tok, self)
		case "signout":
			return s.signOut(ctx, managerSession, self)
		}
	}
	by, viaToken, err := s.storeManager(ctx, id)
	if err != nil {
		return err
	}
	if by == "" {
		d.Title, d.Message = l.T("manage.signin.title"), l.T("manage.signin.message", st.Name)
		v.SignIn = &manageSignIn{Phone: "/signin?next=" + url.QueryEscape(self)}
		if ident := s.signedIn(ctx); ident != "" {
			d.Class, v.SignIn.NotManager = "warn", s.identityName(l, ident)
			d.Message = l.T("manage.notmanager", v.SignIn.NotManager, st.Name)
		}
		if ctx.IsPost() {
			// A decision from a browser that manages nothing here.
			if err := s.renderPage(ctx, "store", d); err != nil {
				return err
			}
			ctx.SetStatusCode(fasthttp.StatusForbidden)
			return nil
		}
		return s.renderPage(ctx, "store", d)
	}
	v.ViaToken = viaToken
	d.Message = l.T("manage.message", st.ID)
	if st.Code != "" {
		d.Message = l.T("manage.message.code", st.ID, st.Code)
	}
	rotate := false
	if ctx.IsPost() {
		switch action := string(ctx.PostArgs().Peek("action")); action {
		case "approve", "reject":
			v.Result, err = s.decide(l, id, string(ctx.PostArgs().Peek("enrolment")), action == "approve", by)
			if err != nil {
				return err
			}
		case "rotate":
			rotate = true
		default:
			return errorf(reward.CodeInvalidRequest, "action must be approve, reject, rotate, token or signout")
		}
	}
	if base := s.servingBase(); base != "" {
		q, err := s.app.Engine.EnrolmentQR(id, rotate, 0)
		if err != nil {
			return err
		}
		v.QR, v.QRExpires = q.Code, dateIn(s.app.Engine.Zone(), q.Expires)
		if rotate {
			v.Result = &deskResult{"ok", l.T("manage.rotated.title"), l.T("manage.rotated")}
		}
	}
	zone := s.app.Engine.Zone()
	pending, _, err := s.app.Engine.EnrolmentPage(id, reward.EnrolmentPending, "", reward.MaxPage)
	if err != nil {
		return err
	}
	for _, en := range pending {
		v.Pending = append(v.Pending, manageRequest{ID: en.ID, Name: en.Name, Who: s.identityName(l, en.Identity), Day: dateIn(zone, en.At)})
	}
	guides, _, err := s.app.Engine.StoreGuides(id, "", reward.MaxPage)
	if err != nil {
		return err
	}
	for _, g := range guides {
		name := g.Name
		if name == "" {
			name = g.ID
		}
		v.Guides = append(v.Guides, manageGuide{ID: g.ID, Name: name, Day: dateIn(zone, g.Created)})
	}
	return s.renderPage(ctx, "store", d)
}

// decide approves or rejects enrolment id at store as by, and says how it
// went; a request decided meanwhile (by another manager) is an outcome,
// not an error.
func (s *Server) decide(l *locale, store, id string, approve bool, by string) (*deskResult, error) {
	en, err := s.app.Engine.DecideEnrolment(store, id, approve, by)
	var re *reward.Error
	switch {
	case err == nil && approve:
		return &deskResult{"ok", l.T("manage.approved.title"), l.T("manage.approved", en.Name)}, nil
	case err == nil:
		return &deskResult{"ok", l.T("manage.rejected.title"), l.T("manage.rejected", en.Name)}, nil
	case errors.As(err, &re) && re.Code == reward.CodeEnrolmentDecided:
		return &deskResult{"warn", l.T("manage.decided.title"), l.T("manage.decided")}, nil
	case errors.As(err, &re) && re.Code == reward.CodeAlreadyGuide:
		return &deskResult{"warn", l.T("manage.decided.title"), l.T("manage.alreadyguide")}, nil
	case errors.As(err, &re) && (re.Code == reward.CodeNotFound || re.Code == reward.CodeInvalidRequest):
		return &deskResult{"bad", l.T("manage.unknown.title"), l.T("manage.unknown")}, nil
	}
	return nil, err
}

// storeQR serves /store/{store}/qr.svg: the store's current enrolment QR,
// to the store's manager only, with the brand's URL (never a guess: it is
// scanned into a browser that then signs in).
func (s *Server) storeQR(ctx *fasthttp.RequestCtx, id string) error {
	if _, err := s.app.Engine.Store(id); err != nil {
		return err
	}
	by, _, err := s.storeManager(ctx, id)
	if err != nil {
		return err
	}
	if by == "" {
		return errorf(codeUnauthorized, "sign in on /store/%s first; the QR is its manager's", id)
	}
	base := s.servingBase()
	if base == "" {
		return reward.ErrBaseURLUnset
	}
	q, err := s.app.Engine.EnrolmentQR(id, false, 0)
	if err != nil {
		return err
	}
	if err := writeQR(ctx, EnrolURL(base, q.Code), "qr.svg"); err != nil {
		return err
	}
	// A rotated QR must not linger in the phone's cache.
	ctx.Response.Header.Set("Cache-Control", "no-store")
	return nil
}

// The store manager's page, added to the set every locale copies.
var _ = template.Must(pages.New("store-pages").Parse(`
{{define "store"}}{{template "top" .}}
<style>
ul.rows{list-style:none;padding:0}ul.rows li{border-bottom:1px solid #eee;padding:.5rem 0}
.row{display:flex;gap:.5rem;align-items:center;justify-content:space-between}.row form{display:inline}.acts{display:flex;gap:.5rem;flex-wrap:wrap;justify-content:flex-end}
button.no{background:#777}button.link{background:none;color:#555;padding:0;font-size:.9rem;text-decoration:underline}
.enrolqr{text-align:center;border:2px dashed #bbb;border-radius:12px;padding:1rem}
</style>
{{with .Manage}}{{with .SignIn}}
<p><a href="{{.Phone}}">{{t "manage.signin.phone"}}</a></p>
<form method="post" action="{{$.Manage.Path}}"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="action" value="token">
<label>{{t "manage.token"}}<input name="token" type="password" autocomplete="current-password" required></label>
<button>{{t "manage.signin.token"}}</button></form>
{{else}}
{{with .Result}}<div class="card {{.Class}}"><h1>{{.Title}}</h1><p>{{.Message}}</p></div>{{end}}
<h2>{{t "manage.pending"}}</h2>
{{if .Pending}}<ul class="rows">{{range .Pending}}<li><div class="row"><span><b>{{.Name}}</b><br><span class="muted">{{.Who}} · {{.Day}}</span></span>
<span class="acts"><form method="post" action="{{$.Manage.Path}}"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="action" value="approve"><input type="hidden" name="enrolment" value="{{.ID}}"><button>{{t "manage.approve"}}</button></form>
<form method="post" action="{{$.Manage.Path}}"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="action" value="reject"><input type="hidden" name="enrolment" value="{{.ID}}"><button class="no">{{t "manage.reject"}}</button></form></span></div></li>{{end}}</ul>
{{else}}<p>{{t "manage.pending.none"}}</p>{{end}}
<h2>{{t "manage.guides"}}</h2>
{{if .Guides}}<ul class="rows">{{range .Guides}}<li><div class="row"><span>{{.Name}}</span><span class="muted">{{t "manage.guide.since" .Day}}</span></div></li>{{end}}</ul>
{{else}}<p>{{t "manage.guides.none"}}</p>{{end}}
<div class="enrolqr"><h2>{{t "manage.qr.title"}}</h2>{{if .QR}}<img class="qr" src="/store/{{.Store.ID}}/qr.svg?c={{.QR}}" alt="{{t "manage.qr.alt"}}">
<p>{{t "manage.qr.until" .QRExpires}}</p>
<form method="post" action="{{.Path}}"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="action" value="rotate"><button class="no">{{t "manage.qr.rotate"}}</button></form>
{{else}}<p>{{t "manage.qr.nobase"}}</p>{{end}}</div>
{{if .ViaToken}}<form method="post" action="{{.Path}}"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="action" value="signout"><button class="link">{{t "desk.signout"}}</button></form>{{end}}
{{end}}{{end}}
{{template "bottom"}}{{end}}
`))
