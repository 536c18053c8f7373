package printing_test

import (
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
)

// mustKeyset returns a fresh keyset to print codes of.
func mustKeyset(tb testing.TB) *codegen.Keyset {
	tb.Helper()
	ks, err := codegen.NewKeyset(time.Unix(0, 0))
	if err != nil {
		tb.Fatal(err)
	}
	return ks
}
