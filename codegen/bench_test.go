package codegen_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/codegentest"
)

// reportCPU adds the process's CPU time per operation since cpu. ns/op is
// wall time, which other work on the machine inflates; cpu-ns/op is not
// inflated by it (though it includes the benchmark's own scheduling).
func reportCPU(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(codegentest.ProcessCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// BenchmarkSign is one code on one goroutine, tag and text.
func BenchmarkSign(b *testing.B) {
	ks := codegentest.Keyset(b)
	for _, v := range versions {
		b.Run(fmt.Sprintf("v%d", v), func(b *testing.B) {
			s, _ := ks.VersionSigner(v, ks.Primary, 1)
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			cpu := codegentest.ProcessCPU()
			for i := 0; b.Loop(); i++ {
				buf = s.Append(buf[:0], uint32(i%1e8)+1)
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkMint is codes into a buffer on every core, each goroutine with
// its own signer, as an export mints them; ns/op is per code for the
// whole machine, so 1e9 / ns/op is codes a second.
func BenchmarkMint(b *testing.B) {
	ks := codegentest.Keyset(b)
	for _, v := range versions {
		b.Run(fmt.Sprintf("v%d", v), func(b *testing.B) {
			var next atomic.Uint32
			b.ReportAllocs()
			cpu := codegentest.ProcessCPU()
			defer reportCPU(b, cpu)
			b.RunParallel(func(pb *testing.PB) {
				s, _ := ks.VersionSigner(v, ks.Primary, 1)
				buf := make([]byte, 0, 64<<10)
				serial := next.Add(1<<20) % codegen.MaxSerial
				for pb.Next() {
					if len(buf)+codegen.Len > cap(buf) {
						buf = buf[:0]
					}
					buf = s.Append(buf, serial+1)
					serial = (serial + 1) % codegen.MaxSerial
				}
			})
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	ks := codegentest.Keyset(b)
	for _, v := range versions {
		b.Run(fmt.Sprintf("v%d", v), func(b *testing.B) {
			s, _ := ks.VersionSigner(v, ks.Primary, 1)
			code := s.Code(12345)
			b.ReportAllocs()
			cpu := codegentest.ProcessCPU()
			defer reportCPU(b, cpu)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := ks.Verify(code); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
