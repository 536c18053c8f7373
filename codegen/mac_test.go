package codegen_test

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
)

// TestTagMatchesCryptoHMAC compares the pre-padded block path with
// crypto/hmac over random secrets (short, block-sized and longer than a
// block, which HMAC hashes first) and random ids.
func TestTagMatchesCryptoHMAC(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := 0; i < 2000; i++ {
		secret := make([]byte, []int{16, 32, 63, 64, 65, 100}[i%6])
		for j := range secret {
			secret[j] = byte(rng.Uint32())
		}
		v, k := uint8(rng.IntN(8)), uint8(rng.IntN(32))
		b, s := rng.Uint32N(codegen.MaxBatch+1), rng.Uint32N(codegen.MaxSerial+1)
		got := codegen.TagForTest(secret, codegen.ID{Version: v, Key: k, Batch: b, Serial: s})
		if want := referenceTag(secret, macInput(v, k, b, s)); !bytes.Equal(got[:], want) {
			t.Fatalf("secret %x id %d/%d/%d/%d: tag %x, crypto/hmac %x", secret, v, k, b, s, got, want)
		}
	}
}
