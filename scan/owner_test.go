package scan_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// factoryToken makes a factory token for factory over the API.
func factoryToken(t *testing.T, ts *testServer, factory string) string {
	t.Helper()
	r := ts.Do("POST", "/v1/tokens", ts.Admin, map[string]string{"role": "factory", "name": "printer", "factory": factory})
	var out struct{ Token, Factory string }
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &out) != nil || out.Factory != factory {
		t.Fatalf("a token of factory %s: %v", factory, r)
	}
	return out.Token
}

func mintAs(t *testing.T, ts *testServer, token string) scan.BatchView {
	t.Helper()
	r := ts.Do("POST", "/v1/batches", token, map[string]any{"product": "SKU-OWN", "count": 8})
	var b scan.BatchView
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &b) != nil {
		t.Fatalf("a mint: %v", r)
	}
	return b
}

func listedIDs(t *testing.T, ts *testServer, token string) []uint32 {
	t.Helper()
	r := ts.Do("GET", "/v1/batches", token, nil)
	var out struct{ Batches []scan.BatchView }
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil {
		t.Fatalf("GET /v1/batches: %v", r)
	}
	var ids []uint32
	for _, b := range out.Batches {
		ids = append(ids, b.ID)
	}
	return ids
}

// TestFactoryScoping: a factory token read the codes of any batch (a live
// one the admin minted), and deleted and activated any batch; one leaked
// printer token exposed every redeemable code. Every batch endpoint now
// answers a factory token only for the batches it or its factory minted:
// a second factory's token is refused each one (403 forbidden) and sees
// none of them listed, the minting factory's other token is served, and
// the admin reaches all.
func TestFactoryScoping(t *testing.T) {
	ts := startServer(t, scan.Options{BaseURL: "HTTPS://YIMA.BRAND.CN"})
	a1, a2 := factoryToken(t, ts, "F-A"), factoryToken(t, ts, "F-A")
	other := factoryToken(t, ts, "F-B")
	lone := ts.Token("factory") // a token made for no factory
	admins := mintAs(t, ts, ts.Admin)
	factorys := mintAs(t, ts, a1)
	lones := mintAs(t, ts, lone)
	// Every endpoint is asked many times here; the print limit has its own test.
	if r := ts.Do("PUT", "/v1/brand", ts.Admin, map[string]any{"factory_prints": 100}); r.Status != 200 {
		t.Fatal(r)
	}

	endpoints := []struct {
		name, method, path string
		body               any
		ok                 int
	}{
		{"show", "GET", "/v1/batches/%d", nil, 200},
		{"codes csv", "GET", "/v1/batches/%d/codes", nil, 200},
		{"codes txt", "GET", "/v1/batches/%d/codes?format=txt&from=1&to=2", nil, 200},
		{"images", "GET", "/v1/batches/%d/images.zip", nil, 200},
		{"labels", "GET", "/v1/batches/%d/labels.pdf", nil, 200},
		{"activate", "POST", "/v1/batches/%d/activate", map[string]any{"from": 1, "to": 2}, 200},
		{"revoke", "POST", "/v1/batches/%d/revoke", map[string]any{"from": 8, "to": 8}, 200},
		{"release", "POST", "/v1/batches/%d/release", nil, 403}, // the brand's decision alone
	}
	for _, target := range []scan.BatchView{admins, factorys, lones} {
		for _, tok := range []struct {
			name, token string
			owns        bool
		}{{"second factory", other, false}, {"lone token", lone, target.ID == lones.ID}, {"same factory", a2, target.ID == factorys.ID}} {
			for _, e := range endpoints {
				t.Run(fmt.Sprintf("%s/batch%d/%s", tok.name, target.ID, e.name), func(t *testing.T) {
					r := ts.Do(e.method, fmt.Sprintf(e.path, target.ID), tok.token, e.body)
					want := 403
					if tok.owns {
						want = e.ok
					}
					if r.Status != want || (want == 403 && r.ErrCode() != "forbidden") {
						t.Fatalf("%v, want %d", r, want)
					}
				})
			}
		}
	}
	// Nothing a refused token asked for changed a batch: the second
	// factory's and the lone token's attempts on the admin's batch left it
	// as minted.
	if r := ts.Do("GET", fmt.Sprintf("/v1/batches/%d", admins.ID), ts.Admin, nil); r.Status != 200 {
		t.Fatal(r)
	} else {
		var b scan.BatchView
		json.Unmarshal(r.Body, &b)
		if len(b.Ranges) != 0 {
			t.Fatalf("the admin's batch after other tokens' attempts: %+v", b.Ranges)
		}
	}
	// Listings: each token sees its own, the admin sees all.
	for _, c := range []struct {
		name, token string
		want        []uint32
	}{
		{"admin", ts.Admin, []uint32{admins.ID, factorys.ID, lones.ID}},
		{"minting token", a1, []uint32{factorys.ID}},
		{"same factory", a2, []uint32{factorys.ID}},
		{"second factory", other, nil},
		{"lone token", lone, []uint32{lones.ID}},
	} {
		if got := listedIDs(t, ts, c.token); !slices.Equal(got, c.want) {
			t.Errorf("%s lists batches %v, want %v", c.name, got, c.want)
		}
	}
	// Deleting: refused for another's batch, done for one's own.
	fresh := mintAs(t, ts, a1)
	for _, tok := range []string{other, lone} {
		if r := ts.Do("DELETE", fmt.Sprintf("/v1/batches/%d", fresh.ID), tok, nil); r.Status != 403 || r.ErrCode() != "forbidden" {
			t.Fatalf("another's delete: %v, want 403 forbidden", r)
		}
	}
	if r := ts.Do("DELETE", fmt.Sprintf("/v1/batches/%d", fresh.ID), a2, nil); r.Status != http.StatusNoContent {
		t.Fatalf("the factory's own delete: %v", r)
	}
	// A refused print is not in the print log; a served one names its token.
	r := ts.Do("GET", "/v1/prints?limit=200", ts.Admin, nil)
	var page reward.PrintPage
	if r.Status != 200 || json.Unmarshal(r.Body, &page) != nil {
		t.Fatal(r)
	}
	for _, p := range page.Prints {
		if p.Token == reward.TokenID(other) {
			t.Errorf("a refused print was logged: %+v", p)
		}
	}
	if r := ts.Do("GET", "/v1/prints", other, nil); r.Status != 403 {
		t.Fatalf("a factory read the print log: %v", r)
	}
}

// TestPrintLog: every printing action is in the print log the admin lists,
// with who asked, the serials and the URL printed; a factory's downloads
// of a batch's codes stop at the brand's limit while the brand's own
// prints go on.
func TestPrintLog(t *testing.T) {
	ts := startServer(t, scan.Options{BaseURL: "HTTPS://YIMA.BRAND.CN"})
	f := factoryToken(t, ts, "F-A")
	b := mintAs(t, ts, f)
	ts.MustStore("S1")
	if r := ts.Do("POST", "/v1/guides", ts.Admin, map[string]string{"id": "王芳", "store": "S1"}); r.Status != http.StatusCreated {
		t.Fatal(r)
	}
	if r := ts.Do("PUT", "/v1/brand", ts.Admin, map[string]any{"factory_prints": 2}); r.Status != 200 {
		t.Fatal(r)
	}
	steps := []struct {
		path, token string
		status      int
		action      string
		from, to    uint32
	}{
		{"/v1/batches/%d/codes?format=csv", f, 200, reward.PrintCodes, 1, 8},
		{"/v1/batches/%d/labels.pdf?from=2&to=5", f, 200, reward.PrintLabels, 2, 5},
		{"/v1/batches/%d/codes?format=txt&from=1&to=4", f, 200, reward.PrintCodes, 1, 4},
		// 8+4+4 codes of 2x8 are out: one more is refused.
		{"/v1/batches/%d/codes?format=txt&from=1&to=1", f, 403, "", 0, 0},
		{"/v1/batches/%d/images.zip", f, 403, "", 0, 0},
		// The brand prints on: its prints are logged, never limited.
		{"/v1/batches/%d/images.zip?format=svg", ts.Admin, 200, reward.PrintImages, 1, 8},
		{"/v1/guides/%E7%8E%8B%E8%8A%B3/qr.png", ts.Admin, 200, reward.PrintGuideQR, 0, 0},
	}
	var want []reward.Print
	for _, s := range steps {
		path := s.path
		if s.action != reward.PrintGuideQR {
			path = fmt.Sprintf(s.path, b.ID)
		}
		r := ts.Do("GET", path, s.token, nil)
		if r.Status != s.status {
			t.Fatalf("GET %s: %v, want %d", path, r, s.status)
		}
		if s.status == 403 && r.ErrCode() != "print_limit" {
			t.Fatalf("GET %s: %v, want print_limit", path, r)
		}
		if s.action != "" {
			p := reward.Print{Action: s.action, From: s.from, To: s.to, BaseURL: "HTTPS://YIMA.BRAND.CN", Role: "admin"}
			if s.token == f {
				p.Token, p.Role, p.Factory = reward.TokenID(f), "factory", "F-A"
			}
			if s.action == reward.PrintGuideQR {
				p.Guide = "王芳"
			} else {
				p.Batch = b.ID
			}
			want = append(want, p)
		}
	}
	r := ts.Do("GET", "/v1/prints", ts.Admin, nil)
	var page reward.PrintPage
	if r.Status != 200 || json.Unmarshal(r.Body, &page) != nil {
		t.Fatal(r)
	}
	if len(page.Prints) != len(want) {
		t.Fatalf("print log %+v, want %d entries", page.Prints, len(want))
	}
	for i, p := range page.Prints {
		w := want[i]
		if p.Action != w.Action || p.Token != w.Token || p.Role != w.Role || p.Factory != w.Factory || p.Batch != w.Batch || p.From != w.From || p.To != w.To || p.Guide != w.Guide || p.BaseURL != w.BaseURL || p.At.IsZero() {
			t.Errorf("print %d: %+v, want %+v", i, p, w)
		}
	}
	// Paging and the batch filter.
	r = ts.Do("GET", fmt.Sprintf("/v1/prints?batch=%d&limit=2", b.ID), ts.Admin, nil)
	page = reward.PrintPage{}
	if json.Unmarshal(r.Body, &page) != nil || len(page.Prints) != 2 || page.Next == "" {
		t.Fatalf("first page: %v", r)
	}
	r = ts.Do("GET", fmt.Sprintf("/v1/prints?batch=%d&after=%s", b.ID, page.Next), ts.Admin, nil)
	page = reward.PrintPage{}
	if json.Unmarshal(r.Body, &page) != nil || len(page.Prints) != 2 || page.Prints[1].Action != reward.PrintImages {
		t.Fatalf("second page: %v", r)
	}
	if r := ts.Do("GET", "/v1/prints?after=nope", ts.Admin, nil); r.Status != 400 {
		t.Fatalf("a bad cursor: %v", r)
	}
	if r := ts.Do("PUT", "/v1/brand", ts.Admin, map[string]any{"factory_prints": 101}); r.Status != 400 {
		t.Fatalf("factory_prints 101: %v", r)
	}
}
