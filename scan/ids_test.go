package scan_test

import (
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestIDsAURLCannotName creates members, aliases and guides named "." and
// "..": each is refused at creation, since no URL path can reach them
// (/v1/members/.. is /v1/ to every client and server).
func TestIDsAURLCannotName(t *testing.T) {
	ts := startServer(t, scan.Options{})
	codes := ts.MintActive(2, 5)
	if r := ts.Scan(codes[1], "m-real"); r.Status != 200 {
		t.Fatalf("scan: %v", r)
	}
	for _, id := range []string{".", ".."} {
		for _, tc := range []struct {
			name, method, path string
			body               any
		}{
			{"scan by member", "POST", "/v1/scans", reward.ScanRequest{Code: codes[0], Member: id}},
			{"guide", "POST", "/v1/guides", map[string]string{"id": id, "store": "S"}},
			{"alias", "POST", "/v1/members/m-real/aliases", map[string]string{"alias": id}},
			{"guide named by a scan", "POST", "/v1/scans", reward.ScanRequest{Code: codes[0], Member: "m2", Guide: id}},
		} {
			if r := ts.Do(tc.method, tc.path, ts.Admin, tc.body); r.Status != 400 || r.ErrCode() != "invalid_request" {
				t.Errorf("%s %q: %v, want 400 invalid_request", tc.name, id, r)
			}
		}
	}
	if st := ts.CodeStatus(codes[0]); st.Redeemed {
		t.Fatalf("a refused id redeemed the code: %+v", st)
	}
}
