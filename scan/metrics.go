package scan

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series, on a registry of its own so
// that several servers in one test process do not collide.
type metrics struct {
	reg      *prometheus.Registry
	scans    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	groups   prometheus.Histogram
	inflight prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yima_scans_total",
			Help: "Scan requests by result: redeemed or the error code.",
		}, []string{"result"}),
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
	// Export the scans counter from the start, so that a rate or an alert
	// on it sees a zero rather than no series before the first scan.
	m.scans.WithLabelValues("redeemed")
	m.reg.MustRegister(m.scans, m.latency, m.groups, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
