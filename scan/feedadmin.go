package scan

import (
	"context"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// FeedAdmin is what the CLI reads of the event feed, from the data
// directory (Local) or a running server (client.Client).
type FeedAdmin interface {
	// Events returns a page of the feed (see reward.Engine.Feed).
	Events(q reward.FeedQuery) (*reward.FeedPage, error)
	// ReplayFeed rebuilds balances and coupons from the feed and compares
	// them with the records (see reward.ReplayFeed).
	ReplayFeed() (*reward.ReplayReport, error)
}

var _ FeedAdmin = Local{}

func (l Local) Events(q reward.FeedQuery) (*reward.FeedPage, error) {
	return l.Engine.Feed(context.Background(), q)
}

func (l Local) ReplayFeed() (*reward.ReplayReport, error) { return l.Engine.ReplayFeed() }

// getEventsAction answers GET /v1/events/replay: the feed replayed against
// the records, as yima audit --from-events prints it.
func (s *Server) getEventsAction(ctx *fasthttp.RequestCtx, _ caller, arg string) error {
	if arg != "replay" {
		return errorf(codeRouteNotFound, "no such endpoint GET /v1/events/%s; see /openapi.yaml", arg)
	}
	rep, err := s.app.Engine.ReplayFeed()
	if err != nil {
		return err
	}
	return writeJSON(ctx, fasthttp.StatusOK, rep)
}

// WebhookAdmin is what the CLI does with webhook endpoints.
type WebhookAdmin interface {
	AddWebhook(url string, events []string) (*WebhookCreated, error)
	Webhooks() ([]WebhookView, error)
	ReplayWebhook(id string, from uint64) error
	ResumeWebhook(id string) error
	DeleteWebhook(id string) error
}

var _ WebhookAdmin = Local{}

// AddWebhook on the data directory checks the URL's form; where it points
// is checked by the server when it delivers.
func (l Local) AddWebhook(url string, events []string) (*WebhookCreated, error) {
	w, err := l.Engine.AddWebhook(url, events)
	if err != nil {
		return nil, err
	}
	return &WebhookCreated{Webhook: *w, Secret: w.Secret}, nil
}

func (l Local) Webhooks() ([]WebhookView, error) { return WebhookViews(l.Engine) }

func (l Local) ReplayWebhook(id string, from uint64) error {
	_, err := l.Engine.ReplayWebhook(id, from)
	return err
}

func (l Local) ResumeWebhook(id string) error {
	_, err := l.Engine.ResumeWebhook(id)
	return err
}

func (l Local) DeleteWebhook(id string) error { return l.Engine.DeleteWebhook(id) }
