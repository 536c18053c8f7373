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
	var page reward.FeedPage
	return &page, c.do("GET", "/v1/events?"+v.Encode(), nil, &page)
}

func (c *Client) ReplayFeed() (*reward.ReplayReport, error) {
	var rep reward.ReplayReport
	return &rep, c.do("GET", "/v1/events/replay", nil, &rep)
}
