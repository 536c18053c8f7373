package client

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

var _ scan.FeedAdmin = (*Client)(nil)

// Events reads a page of the feed; with q.Wait the server holds the
// request until an event comes or the wait ends.
func (c *Client) Events(q reward.FeedQuery) (*reward.FeedPage, error) {
	v := url.Values{}
	v.Set("after", strconv.FormatUint(q.After, 10))
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if len(q.Types) > 0 {
		v.Set("types", strings.Join(q.Types, ","))
	}
	if q.Wait > 0 {
		v.Set("wait", q.Wait.String())
	}
	return call[reward.FeedPage](c, "GET", "/v1/events?"+v.Encode(), nil)
}

func (c *Client) ReplayFeed() (*reward.ReplayReport, error) {
	return call[reward.ReplayReport](c, "GET", "/v1/events/replay", nil)
}

var _ scan.WebhookAdmin = (*Client)(nil)

func (c *Client) AddWebhook(u string, events []string) (*scan.WebhookCreated, error) {
	return call[scan.WebhookCreated](c, "POST", "/v1/webhooks", scan.WebhookRequest{URL: u, Events: events})
}

func (c *Client) Webhooks() ([]scan.WebhookView, error) {
	var out []scan.WebhookView
	return out, c.do("GET", "/v1/webhooks", nil, &out)
}

func (c *Client) ReplayWebhook(id string, from uint64) error {
	return c.do("POST", "/v1/webhooks/"+url.PathEscape(id)+"/replay", map[string]uint64{"from": from}, nil)
}

func (c *Client) ResumeWebhook(id string) error {
	return c.do("POST", "/v1/webhooks/"+url.PathEscape(id)+"/resume", map[string]string{}, nil)
}

func (c *Client) DeleteWebhook(id string) error {
	return c.do("DELETE", "/v1/webhooks/"+url.PathEscape(id), nil, nil)
}
