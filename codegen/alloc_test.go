//go:build !race

package codegen_test

import (
	"testing"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/codegentest"
)

func TestVerifyDoesNotAllocate(t *testing.T) {
	ks := codegentest.Keyset(t)
	eachVersion(t, ks, ks.Primary, 9, func(t *testing.T, s *codegen.Signer) { verifyAllocs(t, ks, s) })
}

func verifyAllocs(t *testing.T, ks *codegen.Keyset, s *codegen.Signer) {
	code := s.Code(77)
	forged := code[:26] + "Z"
	if code[26] == 'Z' {
		forged = code[:26] + "Y"
	}
	for name, c := range map[string]string{"genuine": code, "forged": forged, "malformed": "nope"} {
		if n := testing.AllocsPerRun(200, func() { ks.Verify(c) }); n != 0 {
			t.Errorf("Verify(%s) allocates %.1f times per call, want 0", name, n)
		}
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(200, func() { buf = s.Append(buf[:0], 5) }); n != 0 {
		t.Errorf("Signer.Append allocates %.1f times per code, want 0", n)
	}
}
