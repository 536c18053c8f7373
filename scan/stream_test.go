package scan_test

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestLongDownloadsComplete: an image archive (or a code list) that takes
// longer to make than the server's write timeout was cut off at it, so a
// large batch's images.zip never downloaded whole. A stream now runs as
// long as the client keeps reading; here the write timeout is 500 ms and
// the archive takes several times that.
func TestLongDownloadsComplete(t *testing.T) {
	const n = 300
	ts := startServer(t, scan.Options{WriteTimeout: 500 * time.Millisecond, BaseURL: "HTTPS://YIMA.EXAMPLE"})
	b, _ := ts.Mint(reward.BatchSpec{Product: "SKU-BIG", Count: n})
	for _, path := range []string{"/images.zip", "/codes"} {
		req, _ := http.NewRequest("GET", ts.URL+"/v1/batches/"+itoa(b.ID)+path, nil)
		req.Header.Set("Authorization", "Bearer "+ts.Admin)
		start := time.Now()
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		buf := make([]byte, 32<<10)
		for {
			k, err := resp.Body.Read(buf)
			body.Write(buf[:k])
			if err != nil {
				if err != io.EOF {
					t.Errorf("%s cut off after %v and %d bytes: %v", path, time.Since(start).Round(time.Millisecond), body.Len(), err)
				}
				break
			}
		}
		resp.Body.Close()
		took := time.Since(start)
		if path == "/codes" {
			if lines := bytes.Count(body.Bytes(), []byte("\n")); lines != n+1 {
				t.Errorf("codes: %d lines in %v, want %d and a header", lines, took, n)
			}
			continue
		}
		zr, err := zip.NewReader(bytes.NewReader(body.Bytes()), int64(body.Len()))
		if err != nil || len(zr.File) != n {
			t.Fatalf("images.zip after %v: %d bytes, %v", took, body.Len(), err)
		}
		t.Logf("%s: %d bytes in %v, write timeout 500ms", path, body.Len(), took.Round(time.Millisecond))
	}
}

// TestHeavyDownloadsShareACap: image archives had their own cap and label
// sheets theirs, so both at once took more CPUs than either cap meant to
// allow. They now share Options.MaxExports: a label sheet asked for while
// an archive streams at a cap of 1 is 429 busy.
func TestHeavyDownloadsShareACap(t *testing.T) {
	ts := startServer(t, scan.Options{MaxExports: 1, BaseURL: "HTTPS://YIMA.EXAMPLE"})
	big, _ := ts.Mint(reward.BatchSpec{Product: "SKU-ZIP", Count: 500})
	req, _ := http.NewRequest("GET", ts.URL+"/v1/batches/"+itoa(big.ID)+"/images.zip", nil)
	req.Header.Set("Authorization", "Bearer "+ts.Admin)
	first, err := (&http.Client{}).Do(req) // left unread while it streams
	if err != nil {
		t.Fatal(err)
	}
	defer first.Body.Close()
	if first.StatusCode != 200 {
		t.Fatalf("the archive: %d", first.StatusCode)
	}
	r := ts.Do("GET", "/v1/batches/"+itoa(big.ID)+"/labels.pdf?from=1&to=4", ts.Admin, nil)
	if r.Status != 429 || r.ErrCode() != "busy" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a label sheet while an archive streams at a cap of 1: %v, want 429 busy", r)
	}
}
