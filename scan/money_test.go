package scan_test

import (
	"net/http"
	"testing"

	"github.com/yima-dev/yima/scan"
)

// TestCampaignAmountsOutOfRangeAre422: a campaign document with amounts
// near 2^63 was applied, and scans then wrapped balances negative. Over
// HTTP such a document is 422 amount_out_of_range and nothing is stored.
func TestCampaignAmountsOutOfRangeAre422(t *testing.T) {
	ts := startServer(t, scan.Options{})
	for name, doc := range map[string]string{
		"bonus":      `{"products":["SKU-TEST"],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2030-01-01T00:00:00Z","points":10,"new_member_bonus":9223372036854775800}`,
		"commission": `{"products":["SKU-TEST"],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2030-01-01T00:00:00Z","points":10,"guide_commission":{"per_scan":9223372036854775807}}`,
		"budget":     `{"products":["SKU-TEST"],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2030-01-01T00:00:00Z","points":10,"points_budget":9223372036854775807}`,
	} {
		r := ts.Do("PUT", "/v1/campaigns/huge-"+name, ts.Admin, doc)
		if r.Status != http.StatusUnprocessableEntity || r.ErrCode() != "amount_out_of_range" {
			t.Errorf("%s: %v, want 422 amount_out_of_range", name, r)
		}
		if r := ts.Do("GET", "/v1/campaigns/huge-"+name, ts.Admin, nil); r.Status != http.StatusNotFound {
			t.Errorf("%s: the refused campaign was stored: %v", name, r)
		}
	}
}
