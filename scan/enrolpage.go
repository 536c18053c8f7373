package scan

import (
	"errors"
	"html/template"
	"net/url"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// The enrolment page, /E/{code} (导购扫码): what a store's enrolment QR
// opens. A person signs in with their phone (/signin, which returns here),
// gives their name and asks to be a guide of the store; the page then
// says where the request stands: waiting for the store's manager, or
// approved, when it shows their own binding QR at once, or refused. A QR
// that was rotated or expired, or names no store, gets a kind page that
// says what to do; nothing is stored for it.

// enrolView is pageData's part of /E/{code}.
type enrolView struct {
	// SignIn links the phone sign-in, returning here, for a browser no
	// one signed in on.
	SignIn string
	// Form asks the person's name; Name is what they typed.
	Form bool
	Name string
	// Guide is the person once they are a guide of this store: their
	// binding QR shows (Poster: the brand has a base URL to print).
	Guide  *reward.Guide
	Poster bool
}

// enrolPage serves /E/{code}: GET shows where the signed-in person stands
// with the store; POST asks to be its guide.
func (s *Server) enrolPage(ctx *fasthttp.RequestCtx, _ caller, code string) error {
	l := s.pageWords(ctx)
	q, st, err := s.app.Engine.EnrolmentQRInfo(code)
	if st == nil && err == nil {
		err = reward.Errorf(reward.CodeUnknownStore, "no store")
	}
	if err != nil {
		d := pageData{L: l, Class: "warn"}
		status := fasthttp.StatusGone
		switch reward.ErrorCode(err) {
		case reward.CodeEnrolmentReplaced:
			d.Title, d.Message = l.T("enrol.replaced.title"), l.T("enrol.replaced", st.Name)
		case reward.CodeEnrolmentExpired:
			d.Title, d.Message = l.T("enrol.expired.title"), l.T("enrol.expired", st.Name, dateIn(s.app.Engine.Zone(), q.Expires))
		case reward.CodeNotFound, reward.CodeUnknownStore:
			d.Title, d.Class, d.Message = l.T("enrol.unknown.title"), "bad", l.T("enrol.unknown")
			status = fasthttp.StatusNotFound
		default:
			return err
		}
		if err := s.renderPage(ctx, "guide", d); err != nil {
			return err
		}
		ctx.SetStatusCode(status)
		return nil
	}
	v := &enrolView{Poster: s.servingBase() != ""}
	d := pageData{L: l, Title: l.T("enrol.title", st.Name), Class: "ok", Enrol: v}
	if ctx.IsPost() {
		if err := s.checkForm(ctx); err != nil {
			return err
		}
	}
	ident := s.signedIn(ctx)
	if ident == "" {
		v.SignIn = "/signin?next=" + url.QueryEscape("/E/"+q.Code+langQuery(ctx))
		d.Message = l.T("enrol.signin", st.Name)
		return s.renderPage(ctx, "enrol", d)
	}
	if ctx.IsPost() {
		v.Name = string(ctx.PostArgs().Peek("name"))
		_, err := s.app.Engine.Enrol(q.Code, ident, v.Name)
		var re *reward.Error
		switch {
		case err == nil:
		case errors.As(err, &re) && re.Code == reward.CodeInvalidRequest:
			d.Class, d.Message, v.Form = "bad", l.T("enrol.name.bad"), true
			if err := s.renderPage(ctx, "enrol", d); err != nil {
				return err
			}
			ctx.SetStatusCode(fasthttp.StatusBadRequest)
			return nil
		case errors.As(err, &re) && (re.Code == reward.CodeAlreadyGuide || re.Code == reward.CodeEnrolmentPending):
			// Where the person stands, as below, says why.
		default:
			return err
		}
	}
	return s.enrolState(ctx, l, d, v, q.Store, st.Name, ident)
}

// enrolState renders where the person signed in as ident stands with
// store: a guide of it (their QR), a guide of another, waiting here or
// elsewhere, refused, or free to ask.
func (s *Server) enrolState(ctx *fasthttp.RequestCtx, l *locale, d pageData, v *enrolView, store, storeName, ident string) error {
	who := s.identityName(l, ident)
	g, err := s.app.Engine.GuideOfMember(ident)
	if err != nil {
		return err
	}
	if g != nil {
		if g.Store == store {
			d.Title, d.Message, v.Guide = l.T("enrol.approved.title"), l.T("enrol.approved", g.Name, storeName), g
		} else {
			d.Class, d.Message = "warn", l.T("enrol.otherguide", who, s.app.Engine.StoreName(g.Store))
		}
		return s.renderPage(ctx, "enrol", d)
	}
	en, err := s.app.Engine.MyEnrolment(ident)
	if err != nil {
		return err
	}
	switch {
	case en != nil && en.Status == reward.EnrolmentPending && en.Store == store:
		d.Title, d.Message = l.T("enrol.pending.title"), l.T("enrol.pending", en.Name, dateIn(s.app.Engine.Zone(), en.At), storeName)
	case en != nil && en.Status == reward.EnrolmentPending:
		d.Class, d.Message = "warn", l.T("enrol.pending.other", s.app.Engine.StoreName(en.Store))
	case en != nil && en.Status == reward.EnrolmentRejected && en.Store == store:
		d.Class, d.Message, v.Form, v.Name = "warn", l.T("enrol.rejected"), true, en.Name
	default:
		d.Message, v.Form = l.T("enrol.ask", who, storeName), true
	}
	return s.renderPage(ctx, "enrol", d)
}

// The enrolment page, added to the set every locale copies.
var _ = template.Must(pages.New("enrol-pages").Parse(`
{{define "enrol"}}{{template "top" .}}
<style>a.button{display:inline-block;font-size:1.1rem;padding:.7rem 1.4rem;border-radius:8px;background:{{brandColor .Brand}};color:#fff;text-decoration:none}</style>
{{with .Enrol}}{{with .SignIn}}<p><a class="button" href="{{.}}">{{t "enrol.signin.button"}}</a></p>{{end}}
{{if .Form}}<form method="post"><input type="hidden" name="csrf" value="{{$.CSRF}}">
<label>{{t "enrol.name"}}<input name="name" autocomplete="name" maxlength="50" value="{{.Name}}" required></label>
<button>{{t "enrol.submit"}}</button></form>{{end}}
{{with .Guide}}<h2>{{t "desk.poster.title"}}</h2>{{if $.Enrol.Poster}}<img class="qr" src="/guide/qr.svg?g={{.ID}}" alt="{{t "desk.poster.alt"}}">{{else}}<p>{{t "desk.poster.nobase"}}</p>{{end}}
<p><a class="button" href="/guide">{{t "enrol.desk"}}</a></p>{{end}}{{end}}
{{template "bottom"}}{{end}}
`))
