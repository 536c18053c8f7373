//go:build !race

package printing_test

import (
	"context"
	"io"
	"testing"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/codegentest"
	"github.com/yima-dev/yima/codegen/printing"
)

// TestExportAllocations holds the line that nothing is allocated per code,
// in either code version: an export of 200,000 codes allocates only its
// buffers, goroutines and channels.
func TestExportAllocations(t *testing.T) {
	ks := codegentest.Keyset(t)
	for _, v := range []uint8{codegen.V1, codegen.V2} {
		opts := printing.ExportOptions{Version: v, Batch: 1, From: 1, To: 200_000, Format: printing.FormatCSV, ChunkSize: 10_000}
		n := testing.AllocsPerRun(3, func() {
			if _, err := printing.Export(context.Background(), io.Discard, ks, opts); err != nil {
				t.Fatal(err)
			}
		})
		if n > 100 {
			t.Fatalf("an export of 200,000 version %d codes allocates %.0f times, want a fixed handful", v, n)
		}
		t.Logf("version %d: %.0f allocations per export", v, n)
	}
}
