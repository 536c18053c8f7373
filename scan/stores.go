package scan

import (
	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// The brand's stores: where guides work (/v1/stores).

func (s *Server) putStore(ctx *fasthttp.RequestCtx, _ caller, id string) error {
	var c reward.StoreChange
	if err := decode(ctx, &c); err != nil {
		return err
	}
	st, created, err := s.app.Engine.PutStore(id, c)
	if err != nil {
		return err
	}
	status := fasthttp.StatusOK
	if created {
		status = fasthttp.StatusCreated
	}
	return writeJSON(ctx, status, st)
}

func (s *Server) getStore(ctx *fasthttp.RequestCtx, _ caller, id string) error {
	st, err := s.app.Engine.Store(id)
	if err != nil {
		return err
	}
	return writeJSON(ctx, fasthttp.StatusOK, st)
}

func (s *Server) listStores(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	limit, after, err := listPage(ctx.QueryArgs())
	if err != nil {
		return err
	}
	ss, next, err := s.app.Engine.StorePage(after, limit)
	if err != nil {
		return err
	}
	return writePage(ctx, "stores", ss, next)
}
