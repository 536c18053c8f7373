package codegen_test

import "testing"

func BenchmarkSign(b *testing.B) {
	ks := mustKeyset(b)
	s, _ := ks.Signer(ks.Primary, 1)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = s.Append(buf[:0], uint32(i%1e8)+1)
	}
}

func BenchmarkVerify(b *testing.B) {
	ks := mustKeyset(b)
	s, _ := ks.Signer(ks.Primary, 1)
	code := s.Code(12345)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ks.Verify(code); err != nil {
				b.Fatal(err)
			}
		}
	})
}
