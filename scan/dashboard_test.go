package scan_test

import (
	"bytes"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/webhook"
)

func TestDashboard(t *testing.T) {
	ts := startServer(t, scan.Options{})
	_, codes := ts.Mint(reward.BatchSpec{Product: "SKU-DASH", Count: 5, Region: "east", Points: new(int64(7)), Activate: true})
	for i, region := range []string{"east", "west", "west"} {
		if r := ts.Do("POST", "/v1/scans", ts.Admin, reward.ScanRequest{Code: codes[i], Member: "m" + region, Region: region}); r.Status != 200 {
			t.Fatalf("scan: %v", r)
		}
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(c *http.Client, header string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/admin?lang=en", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}

	// Nobody and non-admins see the sign-in form, not the figures.
	var form string
	for _, h := range []string{"", "Bearer " + ts.Token("app")} {
		status, body := get(browser, h)
		if status != 401 || !strings.Contains(body, `name="token"`) || strings.Contains(body, "SKU-DASH") {
			t.Fatalf("dashboard with %q: %d\n%s", h, status, body)
		}
		form = body
	}
	csrf := csrfField.FindStringSubmatch(form)[1]
	resp, err := browser.PostForm(ts.URL+"/admin?lang=en", url.Values{"token": {"yt_wrong"}, "csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("signing in with a wrong token: %d", resp.StatusCode)
	}

	// Signing in sets a strict cookie and shows the figures.
	resp, err = browser.PostForm(ts.URL+"/admin?lang=en", url.Values{"token": {ts.Admin}, "csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	page.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(page.String(), "Today by product") {
		t.Fatalf("after signing in: %d\n%s", resp.StatusCode, page.String())
	}
	u, _ := url.Parse(ts.URL + "/admin")
	signedIn := false
	for _, c := range jar.Cookies(u) {
		if c.Name == "yima_a" {
			signedIn = true
			if strings.Contains(c.Value, ts.Admin) || c.Value == "" {
				t.Fatalf("the dashboard's cookie holds %q, not a session id", c.Value)
			}
		}
	}
	if !signedIn {
		t.Fatalf("cookies after signing in: %v", jar.Cookies(u))
	}
	status, body := get(browser, "")
	if status != 200 {
		t.Fatalf("dashboard with the cookie: %d", status)
	}
	text := strings.Join(strings.Fields(stripTags(body)), " ")
	for _, want := range []string{
		"redemptions 3", "points paid 21", "diverted 2",
		"SKU-DASH 3 21 0 0 2", "west 2 14 0 0 2", "east 1 7 0 0 0",
		"diverted " + codes[1], "diverted " + codes[2], "scanned in west, meant for east",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("dashboard lacks %q:\n%s", want, text)
		}
	}
	// The same browser reads it in Chinese when it asks for it.
	req, _ := http.NewRequest("GET", ts.URL+"/admin", nil)
	req.Header.Set("Accept-Language", "zh-CN,zh;q=0.9")
	resp, err = browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page.Reset()
	page.ReadFrom(resp.Body)
	resp.Body.Close()
	zh := strings.Join(strings.Fields(stripTags(page.String())), " ")
	for _, want := range []string{`lang="zh-CN"`, "今日按产品", "兑奖次数 3", "已发积分 21", "在west扫码，原定销往east"} {
		if !strings.Contains(page.String(), want) && !strings.Contains(zh, want) {
			t.Errorf("Chinese dashboard lacks %q:\n%s", want, zh)
		}
	}
	// A script may send the token instead.
	if status, _ := get(http.DefaultClient, "Bearer "+ts.Admin); status != 200 {
		t.Fatalf("dashboard with a bearer admin token: %d", status)
	}
}

// stripTags drops HTML tags, leaving the text a person reads.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
			b.WriteByte(' ')
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestDashboardShowsAPausedWebhook: an endpoint that keeps answering 500
// is paused by delivery itself, and /admin says so, with its URL, how far
// it got and the error, in each language.
func TestDashboardShowsAPausedWebhook(t *testing.T) {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer recv.Close()
	ts := startServer(t, scan.Options{Webhooks: webhook.Options{AllowPrivate: true, Reconcile: 20 * time.Millisecond,
		RetryBase: 5 * time.Millisecond, RetryMax: 10 * time.Millisecond, GiveUpAfter: time.Millisecond}})
	get := func(lang string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/admin?lang="+lang, nil)
		req.Header.Set("Authorization", "Bearer "+ts.Admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("dashboard: %d\n%s", resp.StatusCode, b.String())
		}
		return b.String()
	}
	if body := get("en"); !strings.Contains(body, "No endpoints") {
		t.Fatalf("the dashboard without webhooks:\n%s", body)
	}
	if r := ts.Do("POST", "/v1/webhooks", ts.Admin, map[string]any{"url": recv.URL + "/hook"}); r.Status != http.StatusCreated {
		t.Fatalf("adding: %s", r)
	}
	ts.Scan(ts.MintActive(1, 5)[0], "alice")
	deadline := time.Now().Add(20 * time.Second)
	for {
		hooks, err := ts.App.Engine.Webhooks()
		if err != nil {
			t.Fatal(err)
		}
		if len(hooks) == 1 && hooks[0].Paused {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint answering 500 was not paused: %+v", hooks)
		}
		time.Sleep(10 * time.Millisecond)
	}
	en := get("en")
	for _, want := range []string{recv.URL + "/hook", "paused (failing)", "500 Internal Server Error", "failing since", "yima webhook resume"} {
		if !strings.Contains(en, want) {
			t.Errorf("the English dashboard lacks %q:\n%s", want, en)
		}
	}
	if zh := get("zh"); !strings.Contains(zh, "已暂停（失败）") || !strings.Contains(zh, recv.URL+"/hook") {
		t.Errorf("the Chinese dashboard does not show the paused endpoint:\n%s", zh)
	}
}
