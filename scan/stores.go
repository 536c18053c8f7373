package scan

import (
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// The brand's stores: where guides work (/v1/stores), their enrolment QR
// and the requests it brings (enrolment.go has the pages).

func (s *Server) putStore(ctx *fasthttp.RequestCtx, _ caller, id string) error {
	if strings.Contains(id, "/") {
		return errorf(codeRouteNotFound, "PUT /v1/stores/{store}")
	}
	var c reward.StoreChange
	if err := decode(ctx, &c); err != nil {
		return err
	}
	st, created, err := s.app.Engine.PutStore(id, c)
	return replyPut(ctx, st, created, err)
}

// storeScope refuses a manager token's request about a store other than
// the one it manages.
func storeScope(who caller, store string) error {
	if who.role == reward.RoleManager && store != who.subject {
		return errorf(codeForbidden, "this manager token manages store %s only", who.subject)
	}
	return nil
}

// decidedBy is how an enrolment records who decided it: the brand, or a
// manager token by its id (yima token list names it).
func decidedBy(who caller) string {
	if who.role == reward.RoleManager {
		return "manager-token:" + who.id
	}
	return reward.RoleAdmin
}

// getStore serves /v1/stores/{store}, /guides and /enrolments.
func (s *Server) getStore(ctx *fasthttp.RequestCtx, who caller, arg string) error {
	id, sub, _ := strings.Cut(arg, "/")
	if err := storeScope(who, id); err != nil {
		return err
	}
	switch sub {
	case "":
		st, err := s.app.Engine.Store(id)
		return reply(ctx, st, err)
	case "guides":
		limit, after, err := listPage(ctx.QueryArgs())
		if err != nil {
			return err
		}
		if _, err := s.app.Engine.Store(id); err != nil {
			return err
		}
		gs, next, err := s.app.Engine.StoreGuides(id, after, limit)
		if err != nil {
			return err
		}
		return writePage(ctx, "guides", gs, next)
	case "enrolments":
		q := ctx.QueryArgs()
		if err := onlyParams(q, "limit", "after", "status"); err != nil {
			return err
		}
		limit, err := pageLimit(q)
		if err != nil {
			return err
		}
		if _, err := s.app.Engine.Store(id); err != nil {
			return err
		}
		ens, next, err := s.app.Engine.EnrolmentPage(id, string(q.Peek("status")), string(q.Peek("after")), limit)
		if err != nil {
			return err
		}
		return writePage(ctx, "enrolments", ens, next)
	}
	return errorf(codeRouteNotFound, "GET /v1/stores/{store}, /guides or /enrolments")
}

// EnrolQRView is a store's enrolment QR with the URL it opens.
type EnrolQRView struct {
	*reward.EnrolQR
	URL string `json:"url"`
}

// EnrolURL is what a store's enrolment QR opens: BASE/E/CODE, upper case
// so that the QR keeps to alphanumeric mode.
func EnrolURL(base, code string) string {
	return strings.TrimRight(base, "/") + "/E/" + url.PathEscape(code)
}

// postStoreAction serves POST /v1/stores/{store}/enrolment-qr and
// /enrolments/{id}/approve|reject.
func (s *Server) postStoreAction(ctx *fasthttp.RequestCtx, who caller, arg string) error {
	id, sub, _ := strings.Cut(arg, "/")
	if err := storeScope(who, id); err != nil {
		return err
	}
	if sub == "enrolment-qr" {
		var r struct {
			Rotate bool   `json:"rotate"`
			Valid  string `json:"valid"`
		}
		if err := decodeOptional(ctx, &r); err != nil {
			return err
		}
		var valid time.Duration
		if r.Valid != "" {
			d, err := time.ParseDuration(r.Valid)
			if err != nil {
				return errorf(reward.CodeInvalidRequest, "valid %q: give a duration such as 720h", r.Valid)
			}
			valid = d
		}
		// The QR is printed: it gets the brand's URL, and without one
		// nothing is rotated.
		base, err := s.printBase(ctx.QueryArgs())
		if err != nil {
			return err
		}
		q, err := s.app.Engine.EnrolmentQR(id, r.Rotate, valid)
		if err != nil {
			return err
		}
		return writeJSON(ctx, fasthttp.StatusOK, EnrolQRView{EnrolQR: q, URL: EnrolURL(base, q.Code)})
	}
	rest, ok := strings.CutPrefix(sub, "enrolments/")
	en, action, _ := strings.Cut(rest, "/")
	if !ok || (action != "approve" && action != "reject") {
		return errorf(codeRouteNotFound, "POST /v1/stores/{store}/enrolment-qr or /enrolments/{id}/approve|reject")
	}
	if err := noBody(ctx); err != nil {
		return err
	}
	out, err := s.app.Engine.DecideEnrolment(id, en, action == "approve", decidedBy(who))
	return reply(ctx, out, err)
}
