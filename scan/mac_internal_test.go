package scan

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

// TestPageMACsDoNotAllocate: every page signs its form token and device
// cookie, so neither derives its key nor keys a fresh HMAC per call; the
// only allocation left is the token's text.
func TestPageMACsDoNotAllocate(t *testing.T) {
	h := sha256.Sum256([]byte("an admin token for the test"))
	s := &Server{adminHash: h, pageSecret: h} // as NewServer without a page key
	const v = "2ABCDEFGHJKMNPQRSTVWXYZ0123"
	s.csrfToken(v) // the first call makes the keys
	if raceEnabled {
		t.Log("allocations not counted under the race detector")
	} else if n := testing.AllocsPerRun(200, func() { s.csrfToken(v) }); n > 1 {
		t.Errorf("csrfToken allocates %.0f times a call, want at most 1 (the token's text)", n)
	}
	if n := testing.AllocsPerRun(200, func() { s.deviceTag(v) }); n > 1 && !raceEnabled {
		t.Errorf("deviceTag allocates %.0f times a call, want at most 1 (the tag's text)", n)
	}
	// Pooled hashers give the MAC a fresh HMAC would.
	key := sha256.Sum256(append([]byte("yima csrf\x00"), s.pageSecret[:]...))
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(v))
	for range 3 {
		if got, want := s.csrfToken(v), base64.RawURLEncoding.EncodeToString(m.Sum(nil)); got != want {
			t.Fatalf("csrfToken = %s, want %s", got, want)
		}
	}
}
