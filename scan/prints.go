package scan

import (
	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// listPrints serves GET /v1/prints: the print log, oldest first, for the
// brand to see who printed which codes.
func (s *Server) listPrints(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	a := ctx.QueryArgs()
	limit, err := pageLimit(a)
	if err != nil {
		return err
	}
	q := reward.PrintQuery{After: string(a.Peek("after")), Limit: limit}
	if v := a.Peek("batch"); len(v) > 0 {
		if q.Batch, err = parseBatchID(string(v)); err != nil {
			return err
		}
	}
	page, err := s.app.Engine.Prints(q)
	return reply(ctx, page, err)
}
