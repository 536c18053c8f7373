package scan_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/store"
)

// breakingDB is a store whose snapshots fail part way through the second
// scan of redemptions: an export's writing pass, after its count passed.
type breakingDB struct{ store.DB }

func (d breakingDB) Snapshot() (store.Snapshot, error) {
	s, err := d.DB.Snapshot()
	return &breakingSnap{Snapshot: s}, err
}

type breakingSnap struct {
	store.Snapshot
	scans int
}

func (s *breakingSnap) Scan(prefix, start []byte, fn func(k, v []byte) bool) error {
	if string(prefix) != "r/" {
		return s.Snapshot.Scan(prefix, start, fn)
	}
	if s.scans++; s.scans == 1 {
		return s.Snapshot.Scan(prefix, start, fn)
	}
	n := 0
	s.Snapshot.Scan(prefix, start, func(k, v []byte) bool {
		n++
		return n <= 2 && fn(k, v)
	})
	return fmt.Errorf("a disk read failed: %w", store.ErrCorrupt)
}

// TestExportCutShortIsABrokenTransfer: an export whose storage fails after
// the answer began is cut off without the chunked body's end, so an HTTP
// client reading it gets an error (before the headers, or part way through
// the body), never a short body that looks whole.
func TestExportCutShortIsABrokenTransfer(t *testing.T) {
	eng, srv := bareServer(t, breakingDB{newStore(t)})
	_, signer := rewardtest.MustMint(t, eng, reward.BatchSpec{Product: "SKU", Count: 50, Points: new(int64(5)), Activate: true})
	for i := uint32(1); i <= 50; i++ {
		if _, err := eng.Scan(reward.ScanRequest{Code: signer.Code(i), Member: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	req, _ := http.NewRequest("GET", "http://"+srv.Addr()+"/v1/export/redemptions?format=ndjson", nil)
	req.Header.Set("Authorization", "Bearer "+bareAdmin)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		// Cut before the headers left: as broken, and as plain.
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get(scan.ExportRecordsHeader) != "50" {
		t.Fatalf("answer %s, %s=%q; want 200 announcing 50 records", resp.Status, scan.ExportRecordsHeader, resp.Header.Get(scan.ExportRecordsHeader))
	}
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("an export that failed after 2 of 50 records read as a whole body of %d bytes", len(body))
	}
}
