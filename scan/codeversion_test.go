package scan_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/store"
)

// TestBatchPrintedAgainInItsVersion holds that every way of printing a
// batch's codes again (the HTTP export, the CLI's local export) prints them
// in the version the batch was minted in: a batch recorded before version 2
// existed still gets its version 1 codes, which still redeem, and a new
// batch gets version 2.
func TestBatchPrintedAgainInItsVersion(t *testing.T) {
	ts := startServer(t, scan.Options{BaseURL: "HTTPS://YIMA.EXAMPLE"})
	spec := reward.BatchSpec{Product: "SKU-TEST", Count: 4, Points: new(int64(3)), Activate: true}
	nb, newCodes := ts.Mint(spec)
	ob, _ := ts.Mint(spec)

	// The second batch as a record written before version 2: no
	// code_version.
	old := *ob.Batch
	old.CodeVersion = 0
	raw, err := json.Marshal(&old)
	if err != nil || strings.Contains(string(raw), "code_version") {
		t.Fatalf("record %s, %v: want one without code_version", raw, err)
	}
	key := binary.BigEndian.AppendUint32([]byte("b/"), old.ID)
	if err := ts.App.DB.Update(func(tx store.Tx) error { tx.Put(key, raw); return nil }); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		id      uint32
		version uint8
	}{{nb.ID, codegen.V2}, {old.ID, codegen.V1}} {
		r := ts.Do("GET", fmt.Sprintf("/v1/batches/%d", c.id), ts.Admin, nil)
		var view struct {
			CodeVersion uint8 `json:"code_version"`
		}
		if err := json.Unmarshal(r.Body, &view); err != nil || view.CodeVersion != c.version {
			t.Fatalf("GET /v1/batches/%d: %v, want code_version %d", c.id, r, c.version)
		}

		r = ts.Do("GET", fmt.Sprintf("/v1/batches/%d/codes?format=txt", c.id), ts.Admin, nil)
		httpCodes := urlCodes(t, r.Body)
		var local bytes.Buffer
		if err := ts.Local().WriteCodes(&local, c.id, 0, 0, "txt", ""); err != nil {
			t.Fatal(err)
		}
		if got := urlCodes(t, local.Bytes()); strings.Join(got, " ") != strings.Join(httpCodes, " ") {
			t.Fatalf("batch %d: the CLI prints %v, HTTP %v", c.id, got, httpCodes)
		}
		if len(httpCodes) != 4 {
			t.Fatalf("batch %d: %d codes exported, want 4", c.id, len(httpCodes))
		}
		for i, code := range httpCodes {
			p, err := ts.App.Engine.Keys().Verify(code)
			if err != nil || p.Version != c.version || p.Batch != c.id || p.Serial != uint32(i+1) {
				t.Fatalf("batch %d exports %s: %+v, %v; want version %d serial %d", c.id, code, p.ID, err, c.version, i+1)
			}
		}
		if c.id == nb.ID && strings.Join(httpCodes, " ") != strings.Join(newCodes, " ") {
			t.Fatalf("batch %d exports %v, minted %v", c.id, httpCodes, newCodes)
		}
		if r := ts.Scan(httpCodes[1], "alice"); r.Status != 200 {
			t.Fatalf("scan of batch %d's exported code %s: %v", c.id, httpCodes[1], r)
		}
	}
}

// urlCodes reads the codes out of a txt export, one URL a line.
func urlCodes(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		i := strings.LastIndex(line, "/C/")
		if i < 0 {
			t.Fatalf("line %q is not a code URL", line)
		}
		out = append(out, line[i+3:])
	}
	return out
}
