package bench

import (
	"fmt"
	"io"
	"math"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var nan = math.NaN()

// parseMetrics reads the figures bench uses from a Prometheus text
// exposition: the server's CPU seconds and its commit group histogram.
// A missing series is NaN, not an error: a baseline may have neither.
func parseMetrics(r io.Reader) (Stats, error) {
	st := UnknownStats()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return st, fmt.Errorf("bench: reading /metrics: %w", err)
	}
	if f := fams["process_cpu_seconds_total"]; f != nil && len(f.GetMetric()) > 0 {
		m := f.GetMetric()[0]
		switch {
		case m.GetCounter() != nil:
			st.CPUSeconds = m.GetCounter().GetValue()
		case m.GetUntyped() != nil:
			st.CPUSeconds = m.GetUntyped().GetValue()
		}
	}
	if f := fams["yima_commit_group_size"]; f != nil && len(f.GetMetric()) > 0 {
		if h := f.GetMetric()[0].GetHistogram(); h != nil {
			st.GroupSum, st.GroupCount = h.GetSampleSum(), float64(h.GetSampleCount())
		}
	}
	return st, nil
}
