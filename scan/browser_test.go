package scan_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/docs/apitest"
)

// browser is a phone or a desktop browser on the test server: it keeps
// cookies, sends Origin on a POST as browsers do, and posts a form with the
// form token of the last page it showed, as a person tapping its button.
type browser struct {
	t    *testing.T
	ts   *testServer
	c    *http.Client
	last string // the last page's body
}

func newBrowser(t *testing.T, ts *testServer) *browser {
	jar, _ := cookiejar.New(nil)
	c := apitest.Wrap(t, &http.Client{Jar: jar, Timeout: 10 * time.Second})
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	t.Cleanup(c.CloseIdleConnections)
	return &browser{t: t, ts: ts, c: c}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// csrf is the form token on the last page.
func (b *browser) csrf() string {
	m := csrfField.FindStringSubmatch(b.last)
	if m == nil {
		return ""
	}
	return m[1]
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	return b.do("GET", path, nil, "")
}

// post submits fields and the last page's form token to path.
func (b *browser) post(path string, fields url.Values) (int, string) {
	b.t.Helper()
	form := url.Values{}
	for k, v := range fields {
		form[k] = v
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf())
	}
	return b.do("POST", path, form, b.ts.URL)
}

func (b *browser) do(method, path string, form url.Values, origin string) (int, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.ts.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		b.last = string(raw)
	}
	return resp.StatusCode, string(raw)
}

// cookie is the browser's cookie name for path, "" when it has none.
func (b *browser) cookie(path, name string) string {
	u, _ := url.Parse(b.ts.URL + path)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

type httpCookie struct{ name, value string }

func (h httpCookie) c() http.Cookie { return http.Cookie{Name: h.name, Value: h.value} }
