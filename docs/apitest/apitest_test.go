package apitest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/yima-dev/yima/docs/apitest"
)

// TestCheck holds answers that the document describes and answers it does
// not, so that a checker that passes everything fails here.
func TestCheck(t *testing.T) {
	const code = "44000400001W4DA1M3G9S0Z4K2Q"
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	htmlHeader := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	for _, tc := range []struct {
		name         string
		method, path string
		status       int
		header       http.Header
		body         string
		wantErr      string // "" for an answer the document describes
	}{
		{"an error body", "GET", "/v1/codes/" + code, 503, jsonHeader, `{"error":{"code":"unavailable","message":"m","details":{"x":1}}}`, ""},
		{"an error without its code", "GET", "/v1/codes/" + code, 400, jsonHeader, `{"error":{"message":"m"}}`, "does not describe"},
		{"an undocumented status", "GET", "/v1/codes/" + code, 418, jsonHeader, `{"error":{"code":"already_redeemed","message":"m"}}`, "does not name"},
		{"a code with another status", "GET", "/v1/codes/" + code, 400, jsonHeader, `{"error":{"code":"already_redeemed","message":"m"}}`, "does not name"},
		{"a code the default names", "GET", "/v1/codes/" + code, 503, jsonHeader, `{"error":{"code":"unavailable","message":"m"}}`, ""},
		{"a field of the wrong type", "GET", "/v1/codes/" + code, 200, jsonHeader, `{"code":"` + code + `","valid":"yes"}`, "does not describe"},
		{"a field the document does not list", "GET", "/v1/codes/" + code, 503, jsonHeader, `{"error":{"code":"unavailable","message":"m"},"extra":1}`, "does not describe"},
		{"a code's status", "GET", "/v1/codes/" + code, 200, jsonHeader, `{"valid":false,"code":"` + code + `","reason":"forged","redeemed":false,"scans":0,"scanners":0}`, ""},
		{"a status with a field the document does not list", "GET", "/v1/codes/" + code, 200, jsonHeader, `{"valid":false,"code":"` + code + `","reason":"forged","redeemed":false,"scans":0,"scanners":0,"extra":1}`, "does not describe"},
		{"html where JSON is documented", "GET", "/v1/codes/" + code, 200, htmlHeader, `<p>hi</p>`, "does not describe"},
		{"an unknown route that is not a 404", "GET", "/v1/nothing-here", 200, jsonHeader, `{}`, "no such operation"},
		{"an unknown route's 404", "GET", "/v1/nothing-here", 404, jsonHeader, `{"error":{"code":"route_not_found","message":"m"}}`, ""},
		{"a page", "GET", "/C/" + code, 200, htmlHeader, `<!doctype html><p>hi</p>`, ""},
		{"an escaped slash stays in one segment", "GET", "/C/%3Cscript%3Ea%3C%2Fscript%3E", 200, htmlHeader, `<p>no</p>`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, "http://127.0.0.1:1"+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = apitest.Check(req, tc.status, tc.header, []byte(tc.body))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Check: %v, want nil", err)
			case tc.wantErr != "" && err == nil:
				t.Errorf("Check passed an answer the document does not describe")
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("Check: %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}
