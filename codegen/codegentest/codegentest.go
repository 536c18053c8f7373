package codegentest

import (
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
)

// Keyset returns a fresh keyset made at the Unix epoch, failing tb when it
// cannot be made.
func Keyset(tb testing.TB) *codegen.Keyset {
	tb.Helper()
	ks, err := codegen.NewKeyset(time.Unix(0, 0))
	if err != nil {
		tb.Fatal(err)
	}
	return ks
}
