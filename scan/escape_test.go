package scan_test

import (
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestStoreAndMemberMarkupEscaped: a guide's store name and a member id
// carrying <script> show as text, never as markup, on every page: the
// guide's page and the member centre show the store escaped, and the
// counter page and the dashboard (which read the same guide and members)
// carry no raw markup either.
func TestStoreAndMemberMarkupEscaped(t *testing.T) {
	ss := startSigninServer(t, scan.Options{})
	codes := ss.MintActive(2, 0)
	const store, member = `<script>alert(1)</script>店`, `api:<script>alert(2)`
	if _, _, err := ss.App.Engine.PutStore("S1", reward.StoreChange{Name: new(store)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ss.App.Engine.AddGuide(reward.Guide{ID: "G1", Store: "S1"}); err != nil {
		t.Fatal(err)
	}
	if r := ss.Scan(codes[1], member); r.Status != 200 {
		t.Fatalf("scan by %s: %v", member, r)
	}
	if _, err := ss.App.Engine.Bind(member, "G1", false); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, ss.testServer)
	claimed := claim(t, b, codes[0])
	coupon := pageCoupon(t, "the claim's page", claimed)
	b.get("/G/G1")
	if status, body := b.post("/G/G1", nil); status != 200 {
		t.Fatalf("joining G1: %d\n%s", status, body)
	}
	const escaped = "&lt;script&gt;alert(1)&lt;/script&gt;店"
	pages := map[string]string{}
	for _, path := range []string{"/G/G1", "/me", "/V/" + coupon} {
		_, pages[path] = b.get(path)
	}
	pages["/admin"] = string(ss.Do("GET", "/admin", ss.Admin, nil).Body)
	for path, page := range pages {
		if strings.Contains(page, "<script>") {
			t.Errorf("%s carries raw <script>:\n%s", path, page)
		}
	}
	for _, path := range []string{"/G/G1", "/me"} {
		if !strings.Contains(pages[path], escaped) {
			t.Errorf("%s does not show the store name escaped:\n%s", path, pages[path])
		}
	}
	if !strings.Contains(pages["/admin"], "Today") {
		t.Fatalf("/admin did not open with the admin token:\n%s", pages["/admin"])
	}
}
