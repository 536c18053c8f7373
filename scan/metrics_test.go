package scan_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/docs/apitest"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// metricValue reads one sample ("name{labels}") from a /metrics answer.
func metricValue(t *testing.T, ts *testServer, sample string) float64 {
	t.Helper()
	r := ts.Do("GET", "/metrics", ts.Admin, nil)
	if r.Status != 200 {
		t.Fatalf("metrics: %v", r)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(r.Body)
	if m == nil {
		t.Fatalf("metrics lack %s", sample)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// claimOnPage claims code the way a phone does: it opens the landing page
// and submits its form, hidden fields included.
func claimOnPage(t *testing.T, ts *testServer, code string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	phone := apitest.Wrap(t, &http.Client{Jar: jar, Timeout: 10 * time.Second})
	defer phone.CloseIdleConnections()
	resp, err := phone.Get(ts.URL + "/C/" + code)
	if err != nil {
		t.Fatal(err)
	}
	page := readBody(t, resp)
	form := url.Values{}
	for _, m := range regexp.MustCompile(`<input[^>]*type="hidden"[^>]*>`).FindAllString(page, -1) {
		name := regexp.MustCompile(`name="([^"]*)"`).FindStringSubmatch(m)
		value := regexp.MustCompile(`value="([^"]*)"`).FindStringSubmatch(m)
		if name != nil && value != nil {
			form.Set(name[1], value[1])
		}
	}
	req, _ := http.NewRequest("POST", ts.URL+"/C/"+code, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", ts.URL)
	resp, err = phone.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return readBody(t, resp)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestMetricsCountOutcomes: yima_scans_total counts what was decided, by
// the API and the landing page alike, and a retry answered from its
// request_id is a replay, never a second redemption. Coupons, spends,
// flags and what a campaign has left are exported too.
func TestMetricsCountOutcomes(t *testing.T) {
	ts := startServer(t, scan.Options{})
	camp := `{"id":"c1","name":"C","products":["SKU-M"],"starts_at":"2020-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z",
		"points":10,"points_budget":1000,"coupon":{"title":"Gift","probability":1,"stock":5,"valid_days":30}}`
	if r := ts.Do("PUT", "/v1/campaigns/c1", ts.Admin, camp); r.Status != 200 && r.Status != 201 {
		t.Fatalf("campaign: %v", r)
	}
	_, codes := ts.Mint(reward.BatchSpec{Product: "SKU-M", Count: 4, Region: "east", Activate: true})

	first := ts.Do("POST", "/v1/scans", ts.Admin, reward.ScanRequest{Code: codes[0], Member: "m1", RequestID: "r1"})
	retry := ts.Do("POST", "/v1/scans", ts.Admin, reward.ScanRequest{Code: codes[0], Member: "m1", RequestID: "r1"})
	if first.Status != 200 || retry.Status != 200 || string(first.Body) != string(retry.Body) {
		t.Fatalf("scan and its retry: %v / %v", first, retry)
	}
	if r := ts.Do("POST", "/v1/scans", ts.Admin, reward.ScanRequest{Code: codes[1], Member: "m1", Region: "west"}); r.Status != 200 {
		t.Fatalf("diverted scan: %v", r)
	}
	if r := ts.Scan(codes[1], "m2"); r.ErrCode() != "already_redeemed" {
		t.Fatalf("second scan: %v", r)
	}
	if page := claimOnPage(t, ts, codes[2]); !strings.Contains(page, "Gift") {
		t.Fatalf("the page claim paid no coupon:\n%s", page)
	}
	var res reward.ScanResult
	if err := json.Unmarshal(first.Body, &res); err != nil || res.Coupon == nil {
		t.Fatalf("first scan: %v %s", err, first.Body)
	}
	ts.MustStore("S1")
	guide := ts.Do("POST", "/v1/guides", ts.Admin, map[string]string{"id": "g1", "store": "S1"})
	var g struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(guide.Body, &g); err != nil || g.Token == "" {
		t.Fatalf("guide: %v", guide)
	}
	if r := ts.Do("POST", "/v1/coupons/"+res.Coupon.ID+"/verify", g.Token, nil); r.Status != 200 {
		t.Fatalf("verify: %v", r)
	}
	spend := map[string]any{"points": 3, "reason": "gift", "request_id": "s1"}
	for range 2 {
		if r := ts.Do("POST", "/v1/members/m1/spend", ts.Admin, spend); r.Status != 200 {
			t.Fatalf("spend: %v", r)
		}
	}

	for sample, want := range map[string]float64{
		`yima_scans_total{result="redeemed"}`:         3, // two API scans and the page's claim
		`yima_scans_total{result="replayed"}`:         1,
		`yima_scans_total{result="already_redeemed"}`: 1,
		`yima_points_paid_total`:                      30,
		`yima_coupons_total{event="issued"}`:          3,
		`yima_coupons_total{event="verified"}`:        1,
		`yima_spends_total`:                           1,
		`yima_points_spent_total`:                     3,
		`yima_flags_total{kind="diverted"}`:           1,
		`yima_flags_total{kind="many_scanners"}`:      0,
		`yima_campaign_points_left{campaign="c1"}`:    970,
		`yima_campaign_coupons_left{campaign="c1"}`:   2,
	} {
		if got := metricValue(t, ts, sample); got != want {
			t.Errorf("%s = %v, want %v", sample, got, want)
		}
	}
}
