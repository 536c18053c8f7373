package scan

import (
	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// The product catalog: what a code's page shows for a SKU (name, picture,
// spec, description) instead of the SKU itself.

func (s *Server) putProduct(ctx *fasthttp.RequestCtx, _ caller, sku string) error {
	var c reward.ProductChange
	if err := decode(ctx, &c); err != nil {
		return err
	}
	p, created, err := s.app.Engine.SetProduct(sku, c)
	if err != nil {
		return err
	}
	s.forgetProduct(sku)
	return replyPut(ctx, p, created, nil)
}

func (s *Server) listProducts(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	ps, err := s.app.Engine.Products()
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []*reward.Product{}
	}
	return writeJSON(ctx, fasthttp.StatusOK, map[string]any{"products": ps})
}
