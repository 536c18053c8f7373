package scan_test

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestIdleConnectionClosedSilently opens connections that send nothing:
// after the read timeout the server closes them without an answer. An
// unsolicited 400 would be read by a client as the answer to the request
// it sends next.
func TestIdleConnectionClosedSilently(t *testing.T) {
	const readTimeout = 200 * time.Millisecond
	ts := startServer(t, scan.Options{ReadTimeout: readTimeout})
	conn, err := net.Dial("tcp", ts.Srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(50 * readTimeout))
	start := time.Now()
	got, err := io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("an idle connection stayed open for %v (read timeout %v)", time.Since(start), readTimeout)
	}
	if len(got) != 0 {
		t.Fatalf("an idle connection was sent %q", got)
	}
	// A request that arrived in time is still answered.
	if r := ts.Do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz: %v", r)
	}
}

// TestImageArchivesAtOnce downloads more image archives at once than the
// server streams: the extra one gets 429 busy, and once the first ends the
// next is served.
func TestImageArchivesAtOnce(t *testing.T) {
	ts := startServer(t, scan.Options{MaxExports: 1, BaseURL: "HTTPS://YIMA.EXAMPLE"})
	big, _ := ts.Mint(reward.BatchSpec{Product: "SKU-ZIP", Count: 500})
	small, _ := ts.Mint(reward.BatchSpec{Product: "SKU-ZIP", Count: 2})
	req, _ := http.NewRequest("GET", ts.URL+"/v1/batches/"+itoa(big.ID)+"/images.zip", nil)
	req.Header.Set("Authorization", "Bearer "+ts.Admin)
	// A plain client: the first archive is left unread while it streams.
	first, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if first.StatusCode != 200 {
		t.Fatalf("first archive: %d", first.StatusCode)
	}
	path := "/v1/batches/" + itoa(small.ID) + "/images.zip"
	r := ts.Do("GET", path, ts.Admin, nil)
	if r.Status != 429 || r.ErrCode() != "busy" || r.Header.Get("Retry-After") == "" {
		first.Body.Close()
		t.Fatalf("second archive while the first streams: %v, want 429 busy with Retry-After", r)
	}
	first.Body.Close() // the download is abandoned: its slot is freed
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := ts.Do("GET", path, ts.Admin, nil)
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("archive after the first ended: %v", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func itoa(n uint32) string {
	return string(appendUint(nil, uint64(n)))
}

func appendUint(b []byte, n uint64) []byte {
	if n >= 10 {
		b = appendUint(b, n/10)
	}
	return append(b, byte('0'+n%10))
}
