package scan_test

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/store/memstore"
)

// TestPageSessionsSharedOnMemstore serves two servers, each with its own
// engine, over one in-memory store and one page key, as two nodes of a
// cluster: a dashboard signed in through one is signed in on the other, a
// sign-out through the other ends it for both, and a revoked token's
// sessions end everywhere.
func TestPageSessionsSharedOnMemstore(t *testing.T) {
	db := memstore.New(memstore.Options{})
	ks := rewardtest.Keys(t, false)
	pageKey := make([]byte, 32)
	rand.Read(pageKey)
	var eng *reward.Engine
	var servers []*testServer
	for range 2 {
		e := reward.New(db, ks, reward.Options{NoSeenIndex: true})
		eng = e
		s := scan.NewServer(scan.Backend{Engine: e, PageKey: pageKey, Dir: noDir{}}, scan.Options{Addr: "127.0.0.1:0", Logger: quietLogger(), Language: "en", SharedStore: true})
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		servers = append(servers, &testServer{t: t, Srv: s, URL: "http://" + s.Addr()})
	}
	tok, err := eng.CreateToken(reward.RoleAdmin, "ops", "")
	if err != nil {
		t.Fatal(err)
	}
	a, b := servers[0], servers[1]
	onA, onB := newBrowser(t, a), newBrowser(t, b)
	onB.c.Jar = onA.c.Jar // one browser: cookies do not tell the ports apart
	onA.get("/admin")
	if status, _ := onA.post("/admin", url.Values{"token": {tok}}); status != 303 {
		t.Fatalf("signing in on A: %d", status)
	}
	sid := onA.cookie("/admin", "yima_a")
	if status, _ := onB.get("/admin"); status != 200 {
		t.Fatalf("the session from A on B: %d, want 200", status)
	}
	if status, _ := onB.post("/admin", url.Values{"signout": {"1"}}); status != 303 {
		t.Fatalf("signing out on B: %d", status)
	}
	// replay opens the dashboard on ts in a browser that kept the
	// session cookie sid.
	replay := func(ts *testServer) int {
		t.Helper()
		kept := newBrowser(t, ts)
		u, _ := url.Parse(ts.URL + "/admin")
		kept.c.Jar.SetCookies(u, []*http.Cookie{{Name: "yima_a", Value: sid}})
		status, _ := kept.get("/admin")
		return status
	}
	if got := replay(a); got != 401 {
		t.Errorf("the session signed out on B, replayed on A: %d, want 401", got)
	}
	onA.get("/admin")
	if status, _ := onA.post("/admin", url.Values{"token": {tok}}); status != 303 {
		t.Fatalf("signing in again on A: %d", status)
	}
	sid = onA.cookie("/admin", "yima_a")
	if _, err := eng.RevokeToken(reward.TokenID(tok)); err != nil {
		t.Fatal(err)
	}
	for _, ts := range servers {
		if got := replay(ts); got != 401 {
			t.Errorf("a session of a revoked token on %s: %d, want 401", ts.URL, got)
		}
	}
}
