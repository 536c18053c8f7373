package rewardtest

import (
	"testing"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
)

// MustMint creates a batch of spec and returns it with the signer of its
// codes (signer.Code(n) is serial n's code).
func MustMint(tb testing.TB, eng *reward.Engine, spec reward.BatchSpec) (*reward.Batch, *codegen.Signer) {
	tb.Helper()
	b, err := eng.CreateBatch(spec)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := eng.Signer(b)
	if err != nil {
		tb.Fatal(err)
	}
	return b, s
}
