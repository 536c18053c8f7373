package scan_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// MustStore creates the store id, named id, unless it exists: a guide
// belongs to a store record.
func (ts *testServer) MustStore(id string) {
	ts.t.Helper()
	if _, err := ts.App.Engine.Store(id); err == nil {
		return
	}
	if _, _, err := ts.App.Engine.PutStore(id, reward.StoreChange{Name: &id}); err != nil {
		ts.t.Fatal(err)
	}
}

// TestStoresAPI creates, changes, reads and lists stores over HTTP; only
// the admin may, and a bad store is refused with nothing stored.
func TestStoresAPI(t *testing.T) {
	ts := startServer(t, scan.Options{})
	body := map[string]string{"name": "徐汇旗舰店", "region": "east", "address": "上海市徐汇区漕溪北路88号", "code": "310104-01"}
	if r := ts.Do("PUT", "/v1/stores/SH-001", ts.Admin, body); r.Status != 201 {
		t.Fatalf("creating a store: %v", r)
	}
	if r := ts.Do("PUT", "/v1/stores/SH-001", ts.Admin, map[string]string{"address": "漕溪北路99号"}); r.Status != 200 {
		t.Fatalf("changing a store: %v", r)
	}
	var st reward.Store
	if r := ts.Do("GET", "/v1/stores/SH-001", ts.Admin, nil); r.Status != 200 || json.Unmarshal(r.Body, &st) != nil || st.Name != "徐汇旗舰店" || st.Address != "漕溪北路99号" || st.Code != "310104-01" {
		t.Fatalf("reading the store: %v", r)
	}
	for i := range 3 {
		if r := ts.Do("PUT", fmt.Sprintf("/v1/stores/S%d", i), ts.Admin, map[string]string{"name": "店"}); r.Status != 201 {
			t.Fatal(r)
		}
	}
	var page struct {
		Stores []reward.Store
		Next   string
	}
	if r := ts.Do("GET", "/v1/stores?limit=2", ts.Admin, nil); r.Status != 200 || json.Unmarshal(r.Body, &page) != nil || len(page.Stores) != 2 || page.Next != "S1" {
		t.Fatalf("first page: %v", r)
	}
	page.Next = ""
	if r := ts.Do("GET", "/v1/stores?limit=2&after=S1", ts.Admin, nil); r.Status != 200 || json.Unmarshal(r.Body, &page) != nil || len(page.Stores) != 2 || page.Stores[1].ID != "SH-001" || page.Next != "" {
		t.Fatalf("second page: %v", r)
	}
	for _, tc := range []struct {
		method, path, token string
		body                any
		status              int
		code                string
	}{
		{"PUT", "/v1/stores/S9", ts.Token("app"), map[string]string{"name": "x"}, 403, "forbidden"},
		{"GET", "/v1/stores", ts.Token("factory"), nil, 403, "forbidden"},
		{"PUT", "/v1/stores/S9", "", map[string]string{"name": "x"}, 401, "unauthorized"},
		{"PUT", "/v1/stores/S9", ts.Admin, map[string]string{"region": "east"}, 400, "invalid_request"},
		{"PUT", "/v1/stores/S9", ts.Admin, map[string]string{"name": strings.Repeat("店", 101)}, 400, "invalid_request"},
		{"PUT", "/v1/stores/S9", ts.Admin, `{"nme":"x"}`, 400, "invalid_json"},
		{"PUT", "/v1/stores/S%2F1", ts.Admin, map[string]string{"name": "x"}, 404, "route_not_found"},
		{"GET", "/v1/stores/S9", ts.Admin, nil, 404, "not_found"},
		{"GET", "/v1/stores?limit=0", ts.Admin, nil, 400, "invalid_request"},
		{"GET", "/v1/stores?lmit=2", ts.Admin, nil, 400, "invalid_request"},
	} {
		if r := ts.Do(tc.method, tc.path, tc.token, tc.body); r.Status != tc.status || r.ErrCode() != tc.code {
			t.Errorf("%s %s: %v, want %d %s", tc.method, tc.path, r, tc.status, tc.code)
		}
	}
	if _, err := ts.App.Engine.Store("S9"); reward.ErrorCode(err) != reward.CodeNotFound {
		t.Errorf("a refused store was stored: %v", err)
	}
}

// TestEnrolmentAPI: the admin draws a store's enrolment QR, lists the
// requests it brought and approves one; a second decision is refused, and
// malformed or unknown ids are refused with nothing changed.
func TestEnrolmentAPI(t *testing.T) {
	ts := startServer(t, scan.Options{BaseURL: "https://yima.brand.cn"})
	ts.MustStore("S1")
	var q scan.EnrolQRView
	if r := ts.Do("POST", "/v1/stores/S1/enrolment-qr", ts.Admin, nil); r.Status != 200 || json.Unmarshal(r.Body, &q) != nil || q.URL != "https://yima.brand.cn/E/"+q.Code {
		t.Fatalf("enrolment QR: %v", r)
	}
	en, err := ts.App.Engine.Enrol(q.Code, "tel:+8613800000001", "王芳")
	if err != nil {
		t.Fatal(err)
	}
	var page struct{ Enrolments []reward.Enrolment }
	if r := ts.Do("GET", "/v1/stores/S1/enrolments?status=pending", ts.Admin, nil); r.Status != 200 || json.Unmarshal(r.Body, &page) != nil || len(page.Enrolments) != 1 || page.Enrolments[0].ID != en.ID {
		t.Fatalf("pending enrolments: %v", r)
	}
	var done reward.Enrolment
	if r := ts.Do("POST", "/v1/stores/S1/enrolments/"+en.ID+"/approve", ts.Admin, nil); r.Status != 200 || json.Unmarshal(r.Body, &done) != nil || done.Guide == "" {
		t.Fatalf("approve: %v", r)
	}
	if r := ts.Do("GET", "/v1/stores/S1/guides", ts.Admin, nil); r.Status != 200 || !strings.Contains(string(r.Body), done.Guide) {
		t.Fatalf("the store's guides: %v", r)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"POST", "/v1/stores/S1/enrolments/" + en.ID + "/reject", 409, "enrolment_decided"},
		{"POST", "/v1/stores/S1/enrolments/" + en.ID + "/approve", 409, "enrolment_decided"},
		{"POST", "/v1/stores/S2/enrolments/" + en.ID + "/approve", 404, "not_found"},
		{"POST", "/v1/stores/S1/enrolments/bad-id/approve", 400, "invalid_request"},
		{"POST", "/v1/stores/S1/enrolments/" + en.ID + "/promote", 404, "route_not_found"},
		{"POST", "/v1/stores/S9/enrolment-qr", 404, "unknown_store"},
		{"GET", "/v1/stores/S9/enrolments", 404, "not_found"},
		{"GET", "/v1/stores/S1/enrolments?status=maybe", 400, "invalid_request"},
	} {
		if r := ts.Do(tc.method, tc.path, ts.Admin, nil); r.Status != tc.status || r.ErrCode() != tc.code {
			t.Errorf("%s %s: %v, want %d %s", tc.method, tc.path, r, tc.status, tc.code)
		}
	}
	if r := ts.Do("POST", "/v1/stores/S1/enrolments/"+en.ID+"/approve", ts.Token("app"), nil); r.Status != 403 {
		t.Errorf("an app token approving: %v", r)
	}
	var rotated scan.EnrolQRView
	if r := ts.Do("POST", "/v1/stores/S1/enrolment-qr", ts.Admin, map[string]any{"rotate": true, "valid": "1h"}); r.Status != 200 || json.Unmarshal(r.Body, &rotated) != nil || rotated.Code == q.Code {
		t.Fatalf("rotate: %v", r)
	}
	if _, err := ts.App.Engine.Enrol(q.Code, "tel:+8613800000002", "李雷"); reward.ErrorCode(err) != reward.CodeEnrolmentReplaced {
		t.Fatalf("enrolling with the old QR: %v", err)
	}
}
