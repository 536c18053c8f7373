package scan

import (
	"strings"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// BrandView is the brand's stored settings as the API shows them, with the
// base URL this process prints with (the stored one, or the server's
// --base-url when it overrides it) and the time zone its pages and days
// are in (the stored one, or the server's fallback).
type BrandView struct {
	*reward.Brand
	PrintBaseURL  string `json:"print_base_url,omitempty"`
	TimeZoneInUse string `json:"time_zone_in_use"`
}

func (s *Server) brandView(b *reward.Brand) BrandView {
	return BrandView{Brand: b, PrintBaseURL: s.servingBase(), TimeZoneInUse: s.app.Engine.Zone().String()}
}

// printBase is the base URL printed codes get: the request's base_url, else
// the server's override, else the brand's stored one. With none of them the
// request is refused: a made-up URL on packaging opens nothing, for good.
func (s *Server) printBase(args *fasthttp.Args) (string, error) {
	if v := args.Peek("base_url"); len(v) > 0 {
		if err := reward.CheckBaseURL(string(v)); err != nil {
			return "", err
		}
		return strings.TrimRight(string(v), "/"), nil
	}
	if base := s.servingBase(); base != "" {
		return base, nil
	}
	return "", reward.ErrBaseURLUnset
}

// servingBase is the server's --base-url, else the stored one, else "".
func (s *Server) servingBase() string {
	if s.opts.BaseURL != "" {
		return strings.TrimRight(s.opts.BaseURL, "/")
	}
	b, err := s.app.Engine.Brand()
	if err != nil {
		return ""
	}
	return b.BaseURL
}

// pageBase is the origin pages link to: the serving base URL, else the
// origin the request came to, so that pages work before a URL is set.
func (s *Server) pageBase(ctx *fasthttp.RequestCtx) string {
	if base := s.servingBase(); base != "" {
		return base
	}
	scheme := "http"
	if ctx.IsTLS() {
		scheme = "https"
	}
	return scheme + "://" + string(ctx.Host())
}

func (s *Server) getBrand(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	b, err := s.app.Engine.Brand()
	if err != nil {
		return err
	}
	return writeJSON(ctx, fasthttp.StatusOK, s.brandView(b))
}

func (s *Server) putBrand(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	var c reward.BrandChange
	if err := decode(ctx, &c); err != nil {
		return err
	}
	b, err := s.app.Engine.SetBrand(c)
	if err != nil {
		return err
	}
	s.forgetBrand()
	return writeJSON(ctx, fasthttp.StatusOK, s.brandView(b))
}
