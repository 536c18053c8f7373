package scan

import (
	"context"
	"net/netip"
	"strings"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan/webhook"
)

// WebhookRequest adds an endpoint (POST /v1/webhooks).
type WebhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// WebhookCreated is an endpoint as added: the only answer that holds its
// secret.
type WebhookCreated struct {
	reward.Webhook
	Secret string `json:"secret"`
}

// WebhookView is an endpoint and how far its delivery is behind the feed.
type WebhookView struct {
	reward.Webhook
	State string `json:"state"` // delivering, retrying, paused
	Head  uint64 `json:"head"`
	Lag   uint64 `json:"lag"`
}

func viewWebhook(w reward.Webhook, head uint64) WebhookView {
	v := WebhookView{Webhook: w, State: "delivering", Head: head}
	switch {
	case w.Paused:
		v.State = "paused"
	case w.Failing:
		v.State = "retrying"
	}
	if head > w.Cursor {
		v.Lag = head - w.Cursor
	}
	return v
}

// WebhookViews lists the endpoints with their delivery status.
func WebhookViews(eng *reward.Engine) ([]WebhookView, error) {
	hooks, err := eng.Webhooks()
	if err != nil {
		return nil, err
	}
	_, head, err := eng.FeedBounds()
	if err != nil {
		return nil, err
	}
	out := make([]WebhookView, 0, len(hooks))
	for _, w := range hooks {
		out = append(out, viewWebhook(w, head))
	}
	return out, nil
}

func (s *Server) postWebhook(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	var req WebhookRequest
	if err := decode(ctx, &req); err != nil {
		return err
	}
	if err := s.checkWebhookHost(req.URL); err != nil {
		return err
	}
	w, err := s.app.Engine.AddWebhook(req.URL, req.Events)
	if err != nil {
		return err
	}
	return writeJSON(ctx, fasthttp.StatusCreated, WebhookCreated{Webhook: *w, Secret: w.Secret})
}

func (s *Server) listWebhooks(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	views, err := WebhookViews(s.app.Engine)
	if err != nil {
		return err
	}
	return writeJSON(ctx, fasthttp.StatusOK, views)
}

func (s *Server) getWebhook(ctx *fasthttp.RequestCtx, _ caller, id string) error {
	if strings.Contains(id, "/") {
		return errorf(codeRouteNotFound, "no such endpoint GET /v1/webhooks/%s; see /openapi.yaml", id)
	}
	w, err := s.app.Engine.Webhook(id)
	if err != nil {
		return err
	}
	return s.writeWebhook(ctx, w)
}

func (s *Server) deleteWebhook(ctx *fasthttp.RequestCtx, _ caller, id string) error {
	if err := noBody(ctx); err != nil {
		return err
	}
	if err := s.app.Engine.DeleteWebhook(id); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// postWebhookAction answers POST /v1/webhooks/{id}/replay {"from": SEQ}
// and POST /v1/webhooks/{id}/resume.
func (s *Server) postWebhookAction(ctx *fasthttp.RequestCtx, _ caller, arg string) error {
	id, action, _ := strings.Cut(arg, "/")
	var w *reward.Webhook
	var err error
	switch action {
	case "replay":
		var req struct {
			From uint64 `json:"from"`
		}
		if err := decode(ctx, &req); err != nil {
			return err
		}
		w, err = s.app.Engine.ReplayWebhook(id, req.From)
	case "resume":
		if err := noBody(ctx); err != nil {
			return err
		}
		w, err = s.app.Engine.ResumeWebhook(id)
	default:
		return errorf(codeRouteNotFound, "no such endpoint POST /v1/webhooks/%s; use .../replay or .../resume", arg)
	}
	if err != nil {
		return err
	}
	return s.writeWebhook(ctx, w)
}

// checkWebhookHost refuses, when the endpoint is added, a URL whose host
// is a non-public address literal; names are checked again where
// delivery connects (webhook's guard).
func (s *Server) checkWebhookHost(raw string) error {
	u, err := reward.CheckWebhookURL(raw)
	if err != nil {
		return err
	}
	if s.opts.Webhooks.AllowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); (err == nil && webhook.Forbidden(ip)) || strings.EqualFold(host, "localhost") {
		return errorf(reward.CodeInvalidRequest, "url %q points at a loopback or private address, which deliveries may not reach; start the server with --webhook-allow-private to allow it (see docs/security.md)", raw)
	}
	return nil
}

// runWebhooks delivers the feed to the endpoints until the server closes.
func (s *Server) runWebhooks() {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-s.stopKeys
		cancel()
	}()
	o := s.opts.Webhooks
	if o.Logger == nil {
		o.Logger = s.log
	}
	webhook.New(s.app.Engine, o).Run(ctx)
}

// writeWebhook answers an endpoint's view, its lag measured against the
// feed's head now.
func (s *Server) writeWebhook(ctx *fasthttp.RequestCtx, w *reward.Webhook) error {
	_, head, err := s.app.Engine.FeedBounds()
	if err != nil {
		return err
	}
	return writeJSON(ctx, fasthttp.StatusOK, viewWebhook(*w, head))
}
