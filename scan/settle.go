package scan

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// Endpoints of the monthly settlement of guides' commissions (月结).

// postSettlement serves POST /v1/settlements {"period":"2026-11"}: it
// settles the month, 201 the first time, 200 with "repeated" after, when
// nothing changed.
func (s *Server) postSettlement(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	var r struct {
		Period string `json:"period"`
	}
	if err := decode(ctx, &r); err != nil {
		return err
	}
	v, err := s.app.Engine.Settle(r.Period)
	if err != nil {
		return err
	}
	status := fasthttp.StatusCreated
	if v.Repeated {
		status = fasthttp.StatusOK
	}
	return writeJSON(ctx, status, v)
}

// getSettlement serves GET /v1/settlements/{period} and
// /v1/settlements/{period}/payroll.csv[?store=S].
func (s *Server) getSettlement(ctx *fasthttp.RequestCtx, _ caller, arg string) error {
	period, sub, _ := strings.Cut(arg, "/")
	if sub != "" && sub != "payroll.csv" {
		return errorf(codeRouteNotFound, "GET /v1/settlements/{period} or /v1/settlements/{period}/payroll.csv")
	}
	if err := onlyParams(ctx.QueryArgs(), "store"); err != nil {
		return err
	}
	v, err := s.app.Engine.SettlementOf(period)
	if err != nil {
		return err
	}
	if sub == "" {
		return writeJSON(ctx, fasthttp.StatusOK, v)
	}
	store := string(ctx.QueryArgs().Peek("store"))
	var buf bytes.Buffer
	if err := v.WritePayroll(&buf, store); err != nil {
		return err
	}
	name := reward.PayrollFile(period, store)
	if store == "" {
		name = "payroll-" + period + ".csv"
	}
	ctx.SetContentType("text/csv; charset=utf-8")
	ctx.Response.Header.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(buf.Bytes())
	return nil
}
