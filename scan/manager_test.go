package scan_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// managerToken makes a manager token of store over the API.
func (ts *testServer) managerToken(store string) (secret, id string) {
	ts.t.Helper()
	var out struct{ Token, ID, Store string }
	r := ts.Do("POST", "/v1/tokens", ts.Admin, map[string]string{"role": "manager", "name": "manager of " + store, "store": store})
	if r.Status != 201 || json.Unmarshal(r.Body, &out) != nil || out.Token == "" || out.Store != store {
		ts.t.Fatalf("a manager token of %s: %v", store, r)
	}
	return out.Token, out.ID
}

// TestManagerToken: a manager token, made for one store, reads that
// store, its guides and enrolments, gets its enrolment QR and decides its
// requests; any other store, and every other endpoint, is 403. Bad
// requests for one are refused and store no token.
func TestManagerToken(t *testing.T) {
	ts := startServer(t, scan.Options{BaseURL: "https://yima.brand.cn"})
	ts.MustStore("S1")
	ts.MustStore("S2")
	for _, bad := range []struct {
		body   map[string]string
		status int
		code   string
	}{
		{map[string]string{"role": "manager"}, 400, "invalid_request"},
		{map[string]string{"role": "manager", "store": "S9"}, 404, "unknown_store"},
		{map[string]string{"role": "manager", "store": "S1", "factory": "F1"}, 400, "invalid_request"},
		{map[string]string{"role": "app", "store": "S1"}, 400, "invalid_request"},
		{map[string]string{"role": "manager", "store": "a/b"}, 400, "invalid_request"},
	} {
		if r := ts.Do("POST", "/v1/tokens", ts.Admin, bad.body); r.Status != bad.status || r.ErrCode() != bad.code {
			t.Errorf("POST /v1/tokens %v: %v, want %d %s", bad.body, r, bad.status, bad.code)
		}
	}
	if ts, err := ts.App.Engine.Tokens(); err != nil || len(ts) != 0 {
		t.Fatalf("refused tokens stored: %v %v", ts, err)
	}
	m1, m1id := ts.managerToken("S1")
	var q scan.EnrolQRView
	if r := ts.Do("POST", "/v1/stores/S1/enrolment-qr", m1, nil); r.Status != 200 || json.Unmarshal(r.Body, &q) != nil || q.Store != "S1" {
		t.Fatalf("the manager's enrolment QR: %v", r)
	}
	mine, err := ts.App.Engine.Enrol(q.Code, "tel:+8613800000001", "王芳")
	if err != nil {
		t.Fatal(err)
	}
	q2, err := ts.App.Engine.EnrolmentQR("S2", false, 0)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := ts.App.Engine.Enrol(q2.Code, "tel:+8613800000002", "李雷")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/stores/S1", "/v1/stores/S1/guides", "/v1/stores/S1/enrolments?status=pending"} {
		if r := ts.Do("GET", path, m1, nil); r.Status != 200 {
			t.Errorf("GET %s as its manager: %v", path, r)
		}
	}
	var done reward.Enrolment
	if r := ts.Do("POST", "/v1/stores/S1/enrolments/"+mine.ID+"/approve", m1, nil); r.Status != 200 || json.Unmarshal(r.Body, &done) != nil ||
		done.Guide == "" || done.DecidedBy != "manager-token:"+m1id {
		t.Fatalf("the manager approving: %v", r)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/stores/S2"},
		{"GET", "/v1/stores/S2/guides"},
		{"GET", "/v1/stores/S2/enrolments"},
		{"POST", "/v1/stores/S2/enrolment-qr"},
		{"POST", "/v1/stores/S2/enrolments/" + theirs.ID + "/approve"},
		{"POST", "/v1/stores/S2/enrolments/" + theirs.ID + "/reject"},
		{"PUT", "/v1/stores/S1"},
		{"GET", "/v1/stores"},
		{"GET", "/v1/stats"},
		{"POST", "/v1/scans"},
		{"GET", "/v1/tokens"},
		{"POST", "/v1/tokens"},
		{"POST", "/v1/guides"},
		{"GET", "/v1/guides/" + done.Guide},
		{"GET", "/v1/campaigns"},
		{"GET", "/v1/audit"},
		{"GET", "/v1/batches"},
		{"GET", "/v1/members/m1"},
		{"POST", "/v1/settlements"},
		{"POST", "/v1/coupons/x/verify"},
	} {
		if r := ts.Do(c.method, c.path, m1, nil); r.Status != 403 || r.ErrCode() != "forbidden" {
			t.Errorf("%s %s with S1's manager token: %v, want 403", c.method, c.path, r)
		}
	}
	if en, _, err := ts.App.Engine.EnrolmentPage("S2", reward.EnrolmentPending, "", 0); err != nil || len(en) != 1 {
		t.Fatalf("the other store's request after refusals: %v %v", en, err)
	}
	if r := ts.Do("DELETE", "/v1/tokens/"+m1id, ts.Admin, nil); r.Status != 200 {
		t.Fatal(r)
	}
	if r := ts.Do("GET", "/v1/stores/S1", m1, nil); r.Status != 401 {
		t.Fatalf("a revoked manager token: %v", r)
	}
}

// TestManagersApproveTheSameRequest: two managers of a store (two
// tokens) and the brand approve or reject the same waiting people at
// once over the API: for each person exactly one decision wins, the
// others get 409 enrolment_decided, and each approval made one guide.
func TestManagersApproveTheSameRequest(t *testing.T) {
	ts := startServer(t, scan.Options{})
	ts.MustStore("S1")
	a, _ := ts.managerToken("S1")
	b, _ := ts.managerToken("S1")
	q, err := ts.App.Engine.EnrolmentQR("S1", false, 0)
	if err != nil {
		t.Fatal(err)
	}
	const people = 12
	ids := make([]string, people)
	for i := range ids {
		en, err := ts.App.Engine.Enrol(q.Code, fmt.Sprintf("tel:+86138000200%02d", i), fmt.Sprintf("p%d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = en.ID
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		won      = map[string]int{}
		approved int
	)
	for i, id := range ids {
		for j, tok := range []string{a, b, ts.Admin} {
			action := "approve"
			if j == 2 && i%3 == 0 {
				action = "reject"
			}
			wg.Go(func() {
				r := ts.Do("POST", "/v1/stores/S1/enrolments/"+id+"/"+action, tok, nil)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case r.Status == 200:
					won[id]++
					if action == "approve" {
						approved++
					}
				case r.Status != 409 || r.ErrCode() != string(reward.CodeEnrolmentDecided):
					t.Errorf("deciding %s: %v", id, r)
				}
			})
		}
	}
	wg.Wait()
	for _, id := range ids {
		if won[id] != 1 {
			t.Errorf("request %s was decided %d times", id, won[id])
		}
	}
	gs, _, err := ts.App.Engine.StoreGuides("S1", "", reward.MaxPage)
	if err != nil || len(gs) != approved {
		t.Fatalf("%d guides for %d approvals: %v", len(gs), approved, err)
	}
	rep, err := ts.App.Engine.Audit()
	if err != nil || len(rep.Violations) != 0 {
		t.Fatalf("audit: %v %v", rep.Violations, err)
	}
}
