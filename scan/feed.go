package scan

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// The event feed over HTTP: GET /v1/events (reward.Engine.Feed), long
// polled, and the background compaction of events past the retention.

const (
	// maxFeedWait bounds a long poll: a consumer asks again after it.
	maxFeedWait = 30 * time.Second
	// maxFeedWaiters bounds the requests waiting at once; more are
	// answered at once, without waiting, so that waiting readers cannot
	// hold every connection the server has.
	maxFeedWaiters = 256
	// DefaultEventsRetention is how long events are kept when
	// Options.EventsRetention is zero.
	DefaultEventsRetention = 30 * 24 * time.Hour
	// feedCompactEvery is how often the server drops expired events.
	feedCompactEvery = time.Minute
)

// getEvents answers GET /v1/events?after=SEQ&limit=N&types=a,b&wait=30s.
func (s *Server) getEvents(ctx *fasthttp.RequestCtx, _ caller, _ string) error {
	args := ctx.QueryArgs()
	var q reward.FeedQuery
	if v := string(args.Peek("after")); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errorf(reward.CodeInvalidRequest, "after=%q: give the seq of the last event you processed (0 for the start)", v)
		}
		q.After = n
	}
	if v := string(args.Peek("limit")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return errorf(reward.CodeInvalidRequest, "limit=%q: give a number of events from 1 to 1000", v)
		}
		q.Limit = n
	}
	if v := string(args.Peek("types")); v != "" {
		q.Types = strings.Split(v, ",")
	}
	if v := string(args.Peek("wait")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > maxFeedWait {
			return errorf(reward.CodeInvalidRequest, "wait=%q: give a duration up to %s, such as 30s", v, maxFeedWait)
		}
		q.Wait = d
	}
	if err := reward.CheckFeedQuery(&q); err != nil {
		return err
	}
	if q.Wait > 0 {
		select {
		case s.feedWaiters <- struct{}{}:
			defer func() { <-s.feedWaiters }()
		default:
			q.Wait = 0 // too many waiting: answer now, the reader asks again
		}
	}
	// A shutting-down server ends its long polls at once.
	wctx, cancel := s.untilClosed()
	defer cancel()
	page, err := s.app.Engine.Feed(wctx, q)
	if err != nil {
		return err
	}
	return writeJSON(ctx, fasthttp.StatusOK, page)
}

// compactFeed drops events older than the retention, now and then, until
// the server closes. Its deletes are small decisions (see
// reward.Engine.CompactFeed), so scans never queue long behind it.
func (s *Server) compactFeed() {
	retention := s.opts.EventsRetention
	if retention == 0 {
		retention = DefaultEventsRetention
	}
	if retention < 0 {
		return // kept forever
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stopKeys
		cancel()
	}()
	t := time.NewTicker(feedCompactEvery)
	defer t.Stop()
	for {
		n, err := s.app.Engine.CompactFeed(ctx, retention)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("compacting the event feed failed; it is tried again in a minute", "err", err)
		case n > 0:
			s.log.Info("event feed compacted", "events", n, "retention", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweepCoupons records coupon.expired for the coupons whose expiry passed
// unused (reward.Engine.ExpireCoupons), every minute until the server
// closes; like the compaction, in small decisions.
func (s *Server) sweepCoupons() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stopKeys
		cancel()
	}()
	t := time.NewTicker(reward.CouponExpirySweep)
	defer t.Stop()
	for {
		n, err := s.app.Engine.ExpireCoupons(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("recording expired coupons failed; it is tried again in a minute", "err", err)
		case n > 0:
			s.log.Info("expired coupons recorded in the event feed", "coupons", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
