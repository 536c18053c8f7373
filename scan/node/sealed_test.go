package node_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan/node"
	"github.com/yima-dev/yima/scan/node/datadir"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// pageClient is a browser: one cookie jar for every node (cookies do not
// tell ports apart, as a load balancer's one name would not).
type pageClient struct {
	t    *testing.T
	c    *http.Client
	last string
}

func newPageClient(t *testing.T) *pageClient {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(c.CloseIdleConnections)
	return &pageClient{t: t, c: c}
}

// do sends a request to n's path (a form when form is not nil, with the
// last page's form token and n's Origin) and returns the status.
func (p *pageClient) do(n *node.Node, method, path string, form url.Values, cookies ...*http.Cookie) int {
	p.t.Helper()
	var body io.Reader
	if form != nil {
		if form.Get("csrf") == "" {
			if m := csrfField.FindStringSubmatch(p.last); m != nil {
				form.Set("csrf", m[1])
			}
		}
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, n.URL()+path, body)
	if err != nil {
		p.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", n.URL())
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	req.Close = true
	resp, err := p.c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		p.last = string(raw)
	}
	return resp.StatusCode
}

// cookie is the browser's cookie name at n's path.
func (p *pageClient) cookie(n *node.Node, path, name string) *http.Cookie {
	u, _ := url.Parse(n.URL() + path)
	for _, c := range p.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestClusterSharesKeysTokensSessions runs two nodes that were given only
// the database and the key-encryption key. The first admin token is a
// token record made on one node and works on the other; a browser signed
// in through one node (with a form the other served) is signed in on the
// other; signing out through one ends it on both; revoking the token ends
// its bearer use and its sessions on every node at once; a key rotation,
// and the brand's time zone, changed through one node are in use on the
// other within a second.
func TestClusterSharesKeysTokensSessions(t *testing.T) {
	nodes := sealedNodes(t, 2)
	a, b := nodes[0], nodes[1]
	for _, n := range nodes {
		for _, f := range []string{datadir.KeysFile, datadir.AdminTokenFile} {
			if _, err := os.Stat(filepath.Join(n.Dir.Path, f)); err == nil {
				t.Fatalf("a node with sealed keys wrote %s", f)
			}
		}
	}
	tok, err := a.Admin().CreateToken(reward.RoleAdmin, "ops", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := api(t, b, "GET", "/v1/tokens", tok, nil, nil); got != 200 {
		t.Fatalf("an admin token made on the first node, on the second: %d", got)
	}
	app, err := a.Admin().CreateToken(reward.RoleApp, "shop", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := api(t, b, "GET", "/v1/tokens", app, nil, nil); got != 403 {
		t.Errorf("an app token on an admin endpoint: %d, want 403", got)
	}

	// Sign in with a form node B served, posted to node A.
	p := newPageClient(t)
	if got := p.do(b, "GET", "/admin", nil); got != 401 {
		t.Fatalf("/admin before signing in: %d", got)
	}
	if got := p.do(a, "POST", "/admin", url.Values{"token": {tok}}); got != 303 {
		t.Fatalf("signing in on A with B's form: %d, want 303", got)
	}
	sid := p.cookie(a, "/admin", "yima_a")
	if sid == nil {
		t.Fatal("no session cookie after signing in")
	}
	for _, n := range nodes {
		if got := p.do(n, "GET", "/admin", nil); got != 200 {
			t.Fatalf("the dashboard on %s with the session from A: %d, want 200", n.URL(), got)
		}
	}
	// Sign out on B (with B's page's form): A refuses the old cookie.
	if got := p.do(b, "POST", "/admin", url.Values{"signout": {"1"}}); got != 303 {
		t.Fatalf("signing out on B: %d", got)
	}
	if got := p.do(a, "GET", "/admin", nil, sid); got != 401 {
		t.Errorf("the session signed out on B, replayed on A: %d, want 401", got)
	}

	// Sign in again; revoke the token on B: A refuses both.
	p.do(a, "GET", "/admin", nil)
	if got := p.do(a, "POST", "/admin", url.Values{"token": {tok}}); got != 303 {
		t.Fatalf("signing in again: %d", got)
	}
	if got := p.do(b, "GET", "/admin", nil); got != 200 {
		t.Fatalf("the new session on B: %d", got)
	}
	if _, err := b.Admin().RevokeToken(reward.TokenID(tok)); err != nil {
		t.Fatal(err)
	}
	if got := api(t, a, "GET", "/v1/tokens", tok, nil, nil); got != 401 {
		t.Errorf("the admin token revoked on B, used on A: %d, want 401", got)
	}
	if got := p.do(a, "GET", "/admin", nil); got != 401 {
		t.Errorf("a session of the token revoked on B, on A: %d, want 401", got)
	}

	// A guide signed in on A's desk with their token is signed in on B's;
	// signing out on B ends it on A.
	name := "Desk One"
	if _, err := a.Admin().PutStore("S1", reward.StoreChange{Name: &name}); err != nil {
		t.Fatal(err)
	}
	_, gtok, err := a.Dir.Engine.AddGuide(reward.Guide{ID: "G1", Store: "S1"})
	if err != nil {
		t.Fatal(err)
	}
	g := newPageClient(t)
	g.do(a, "GET", "/guide?lang=en", nil)
	if got := g.do(a, "POST", "/guide?lang=en", url.Values{"action": {"token"}, "token": {gtok}}); got != 303 {
		t.Fatalf("a guide signing in on A: %d", got)
	}
	gsid := g.cookie(a, "/", "yima_g")
	if got := g.do(b, "GET", "/guide?lang=en", nil); got != 200 || strings.Contains(g.last, "Guide sign-in") || !strings.Contains(g.last, "G1") {
		t.Fatalf("the guide's desk on B with A's session: %d\n%s", got, g.last)
	}
	if got := g.do(b, "POST", "/guide?lang=en", url.Values{"action": {"signout"}}); got != 303 {
		t.Fatalf("the guide signing out on B: %d", got)
	}
	if g.do(a, "GET", "/guide?lang=en", nil, gsid); !strings.Contains(g.last, "Guide sign-in") {
		t.Errorf("the guide's session signed out on B, replayed on A, is still signed in:\n%s", g.last)
	}

	// A rotation and a time zone through A, in use on B within a second
	// (B's server looks every second; the test allows three).
	if err := a.Dir.UpdateKeys(func(ks *codegen.Keyset) error { _, err := ks.Rotate(time.Now()); return err }); err != nil {
		t.Fatal(err)
	}
	zone := "America/New_York"
	if _, err := a.Dir.Engine.SetBrand(reward.BrandChange{TimeZone: &zone}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for b.Dir.Keys().Primary != a.Dir.Keys().Primary || b.Dir.Engine.Zone().String() != zone {
		if time.Now().After(deadline) {
			t.Fatalf("after 3s node B has primary key %d (A %d) and zone %s (want %s)", b.Dir.Keys().Primary, a.Dir.Keys().Primary, b.Dir.Engine.Zone(), zone)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
