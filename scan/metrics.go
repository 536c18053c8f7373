package scan

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/yima-dev/yima/reward"
)

// metrics are the server's Prometheus series, on a registry of its own so
// that several servers in one test process do not collide.
type metrics struct {
	reg     *prometheus.Registry
	scans   *prometheus.CounterVec
	paid    prometheus.Counter
	coupons *prometheus.CounterVec
	spends  prometheus.Counter
	spent   prometheus.Counter
	flags   *prometheus.CounterVec
	latency *prometheus.HistogramVec
	// routeLatency holds each route's series of latency once it has one,
	// so that a request does not look its label up in latency (a hash
	// and a lock). Its set of routes is fixed at start: patterns.
	routeLatency map[string]*atomic.Pointer[prometheus.Observer]
	groups       prometheus.Histogram
	inflight     prometheus.Gauge
}

func newMetrics(engine *reward.Engine) *metrics {
	m := &metrics{
		reg:     prometheus.NewRegistry(),
		scans:   counterVec("yima_scans_total", "Scans decided, by the API and by the landing page's claims: redeemed, replayed (a retry answered from its request_id, nothing paid again) or the refusal's error code.", "result"),
		paid:    counter("yima_points_paid_total", "Points paid by redemptions (bonuses included)."),
		coupons: counterVec("yima_coupons_total", "Gift coupons by event: issued with a redemption, verified at a counter.", "event"),
		spends:  counter("yima_spends_total", "Spends of members' points (replays not counted)."),
		spent:   counter("yima_points_spent_total", "Points taken from members' balances by spends."),
		flags:   counterVec("yima_flags_total", "Scans put up for review, by kind (diverted, many_scanners).", "kind"),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "yima_request_duration_seconds",
			Help:    "Time from request read to answer, by route.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"route"}),
		groups: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "yima_commit_group_size",
			Help:    "Decisions that shared one commit and one fsync.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "yima_requests_in_flight",
			Help: "Requests being handled.",
		}),
	}
	m.routeLatency = make(map[string]*atomic.Pointer[prometheus.Observer], len(patterns)+1)
	for p := range patterns {
		m.routeLatency[p] = new(atomic.Pointer[prometheus.Observer])
	}
	m.routeLatency[unknownRoute] = new(atomic.Pointer[prometheus.Observer])
	// Export the counters from the start, so that a rate or an alert on
	// them sees a zero rather than no series before the first event.
	m.scans.WithLabelValues(reward.EventRedeemed)
	m.scans.WithLabelValues(reward.EventReplayed)
	m.coupons.WithLabelValues("issued")
	m.coupons.WithLabelValues("verified")
	m.flags.WithLabelValues(reward.FlagDiverted)
	m.flags.WithLabelValues(reward.FlagManyScanners)
	m.flags.WithLabelValues(reward.FlagPINGuessing)
	m.reg.MustRegister(m.scans, m.paid, m.coupons, m.spends, m.spent, m.flags, m.latency, m.groups, m.inflight,
		campaignCollector{engine},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

func counterVec(name, help, label string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{label})
}

// unknownRoute labels the latency of requests for no route.
const unknownRoute = "unknown"

// observeLatency records how long a request for route took. A route's
// series is created by its first request, as before: /metrics shows
// only the routes that were asked for.
func (m *metrics) observeLatency(route string, took time.Duration) {
	slot := m.routeLatency[route]
	if slot == nil {
		m.latency.WithLabelValues(route).Observe(took.Seconds())
		return
	}
	o := slot.Load()
	if o == nil {
		h := m.latency.WithLabelValues(route)
		o = &h
		slot.Store(o)
	}
	(*o).Observe(took.Seconds())
}

// observe counts an engine event; the engine calls it once the decision
// is durable.
func (m *metrics) observe(ev reward.Event) {
	switch ev.Kind {
	case reward.EventRedeemed:
		m.scans.WithLabelValues(reward.EventRedeemed).Inc()
		m.paid.Add(float64(ev.Points))
	case reward.EventReplayed:
		m.scans.WithLabelValues(reward.EventReplayed).Inc()
	case reward.EventCouponIssued:
		m.coupons.WithLabelValues("issued").Inc()
	case reward.EventCouponVerified:
		m.coupons.WithLabelValues("verified").Inc()
	case reward.EventSpent:
		m.spends.Inc()
		m.spent.Add(float64(ev.Points))
	case reward.EventFlagged:
		m.flags.WithLabelValues(ev.Flag).Inc()
	}
}

// refused counts a scan the engine refused, by its error code. Redeemed
// and replayed scans are counted by observe, from the engine's events, so
// that a replay is never counted as a redemption.
func (m *metrics) refused(err error) {
	if err != nil {
		m.scans.WithLabelValues(string(reward.ErrorCode(err))).Inc()
	}
}

var (
	pointsLeftDesc = prometheus.NewDesc("yima_campaign_points_left",
		"Points left in a campaign's budget (campaigns with a budget).", []string{"campaign"}, nil)
	couponsLeftDesc = prometheus.NewDesc("yima_campaign_coupons_left",
		"Gift coupons left in a campaign's stock (campaigns with coupons).", []string{"campaign"}, nil)
)

// campaignCollector reads the campaigns' budget and stock left at each
// scrape: they are a handful of records, and a gauge kept in memory would
// have to follow every apply and every payout.
type campaignCollector struct{ engine *reward.Engine }

func (c campaignCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pointsLeftDesc
	ch <- couponsLeftDesc
}

func (c campaignCollector) Collect(ch chan<- prometheus.Metric) {
	vs, err := c.engine.Campaigns()
	if err != nil {
		// A scrape without these gauges is better than a failed scrape;
		// storage errors show up on /healthz and in the log.
		return
	}
	for _, v := range vs {
		if v.PointsLeft != nil {
			ch <- prometheus.MustNewConstMetric(pointsLeftDesc, prometheus.GaugeValue, float64(*v.PointsLeft), v.ID)
		}
		if v.CouponsLeft != nil {
			ch <- prometheus.MustNewConstMetric(couponsLeftDesc, prometheus.GaugeValue, float64(*v.CouponsLeft), v.ID)
		}
	}
}
