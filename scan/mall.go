package scan

import (
	"encoding/json"
	"strings"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// Endpoints of the points mall, adjustments and purchase orders.

// listRewards serves GET /v1/rewards: the mall's catalog, public, cheapest
// first. ?all=true (with the admin token) lists ended items too.
func (s *Server) listRewards(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	q := ctx.QueryArgs()
	if err := onlyParams(q, "all"); err != nil {
		return err
	}
	all := false
	switch v := string(q.Peek("all")); v {
	case "", "false", "0":
	case "true", "1":
		if _, err := s.authenticate(ctx, adminOnly); err != nil {
			return err
		}
		all = true
	default:
		return errorf(reward.CodeInvalidRequest, "all %q: give true or false", v)
	}
	vs, err := s.app.Engine.Rewards(all)
	if err != nil {
		return err
	}
	return writeJSON(ctx, fasthttp.StatusOK, map[string]any{"rewards": vs})
}

// putReward serves PUT /v1/rewards/{id}: a catalog item's document.
func (s *Server) putReward(ctx *fasthttp.RequestCtx, _ caller, id string) error {
	return putDocument(ctx, id, reward.ParseReward, s.app.Engine.PutReward)
}

// postRewardAction serves POST /v1/rewards/{id}/vouchers.
func (s *Server) postRewardAction(ctx *fasthttp.RequestCtx, _ caller, arg string) error {
	id, ok := strings.CutSuffix(arg, "/vouchers")
	if !ok || id == "" || strings.Contains(id, "/") {
		return errorf(codeRouteNotFound, "POST /v1/rewards/{id}/vouchers")
	}
	return withBody(ctx, func(r struct {
		Codes []string `json:"codes"`
	}) (*reward.VoucherUpload, error) {
		return s.app.Engine.AddVouchers(id, r.Codes)
	})
}

// memberCaller authenticates POST /v1/members/{member}/...: a bearer token
// of adminAppGuide, or, for redeem alone, the member's own signed-in
// browser (the member centre's session), whose request_ids are its own.
func (s *Server) memberCaller(ctx *fasthttp.RequestCtx, member, action string) (caller, error) {
	if action != "redeem" || len(ctx.Request.Header.Peek("Authorization")) > 0 {
		return s.authenticate(ctx, adminAppGuide)
	}
	ident := s.signedIn(ctx)
	if ident == "" {
		return caller{}, errorf(codeUnauthorized, "send Authorization: Bearer TOKEN, or sign in as the member first (/signin)")
	}
	// The session cookie is SameSite=Lax, so another site's POST does not
	// carry it; a request whose Origin names another site is refused too.
	if !s.sameSite(ctx) {
		return caller{}, errorf(codeForbidden, "this request was sent from another site")
	}
	same, err := s.app.Engine.SameMember(ident, member)
	if err != nil {
		return caller{}, err
	}
	if !same {
		return caller{}, errorf(codeForbidden, "a signed-in member redeems for themselves only")
	}
	return caller{role: roleMember, id: "session:" + ident}, nil
}

// roleMember is a signed-in consumer's browser calling the API.
const roleMember = "member"

// postRedeem serves POST /v1/members/{member}/redeem.
func (s *Server) postRedeem(ctx *fasthttp.RequestCtx, who caller, member string) error {
	if who.role == reward.RoleGuide {
		return errorf(codeForbidden, "guides cannot spend members' points")
	}
	return withBody(ctx, func(r reward.RedeemRequest) (json.RawMessage, error) {
		r.Scope = who.id
		return s.app.Engine.Redeem(member, r)
	})
}

// postAdjust serves POST /v1/members/{member}/adjust (admin).
func (s *Server) postAdjust(ctx *fasthttp.RequestCtx, who caller, member string) error {
	if who.role != reward.RoleAdmin {
		return errorf(codeForbidden, "only an admin can adjust a member's points and growth")
	}
	return withBody(ctx, func(r reward.AdjustRequest) (json.RawMessage, error) {
		r.Scope = who.id
		return s.app.Engine.Adjust(member, r)
	})
}

// postOrder serves POST /v1/orders.
func (s *Server) postOrder(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	return withBody(ctx, s.app.Engine.RecordOrder)
}

// postOrderAction serves POST /v1/orders/{id}/refund.
func (s *Server) postOrderAction(ctx *fasthttp.RequestCtx, _ caller, arg string) error {
	id, ok := strings.CutSuffix(arg, "/refund")
	if !ok || id == "" {
		return errorf(codeRouteNotFound, "POST /v1/orders/{order_id}/refund")
	}
	var r reasonBody
	if err := decodeOptional(ctx, &r); err != nil {
		return err
	}
	out, err := s.app.Engine.RefundOrder(id, r.Reason)
	return reply(ctx, out, err)
}

// listExchanges serves GET /v1/exchanges: the mall's exchanges, newest
// first, by member and status.
func (s *Server) listExchanges(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	q := ctx.QueryArgs()
	if err := onlyParams(q, "member", "status", "before", "limit"); err != nil {
		return err
	}
	limit, err := pageLimit(q)
	if err != nil {
		return err
	}
	page, err := s.app.Engine.Exchanges(string(q.Peek("member")), string(q.Peek("status")), string(q.Peek("before")), limit)
	return reply(ctx, page, err)
}

// postExchangeAction serves POST /v1/exchanges/{id}/ship and /cancel: the
// brand's status of a goods order.
func (s *Server) postExchangeAction(ctx *fasthttp.RequestCtx, _ caller, arg string) error {
	id, action, _ := strings.Cut(arg, "/")
	var r struct {
		Tracking string `json:"tracking"`
		Reason   string `json:"reason"`
	}
	switch action {
	case "ship":
		if err := decodeOptional(ctx, &r); err != nil {
			return err
		}
		if r.Reason != "" {
			return errorf(reward.CodeInvalidRequest, "a shipment takes \"tracking\", not \"reason\"")
		}
		x, err := s.app.Engine.ShipExchange(id, r.Tracking)
		return reply(ctx, x, err)
	case "cancel":
		if err := decode(ctx, &r); err != nil {
			return err
		}
		if r.Tracking != "" {
			return errorf(reward.CodeInvalidRequest, "a cancellation takes \"reason\", not \"tracking\"")
		}
		x, err := s.app.Engine.CancelExchange(id, r.Reason)
		return reply(ctx, x, err)
	}
	return errorf(codeRouteNotFound, "POST /v1/exchanges/{id}/ship or /cancel")
}
