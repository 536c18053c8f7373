package scan

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"sync"
)

// keyedMAC is HMAC-SHA256 under a key derived from the pages' secret (see
// Server.pageSecret) and a label: the pages' form tokens and device cookies. Every page
// computes both, and deriving the key and keying a fresh HMAC each time
// cost three times the MAC itself, so the key is derived once and keyed
// hashers, with their buffers, are reused.
type keyedMAC struct {
	pool sync.Pool // of *macState
}

type macState struct {
	h   hash.Hash
	in  []byte
	out []byte
}

func newKeyedMAC(label string, secret [32]byte) *keyedMAC {
	key := sha256.Sum256(append([]byte(label), secret[:]...))
	k := &keyedMAC{}
	k.pool.New = func() any {
		return &macState{h: hmac.New(sha256.New, key[:]), out: make([]byte, 0, sha256.Size)}
	}
	return k
}

// token is the first n bytes of the MAC of msg (all of it when n is 0) in
// unpadded URL-safe base64.
func (k *keyedMAC) token(msg string, n int) string {
	var b [64]byte
	return string(k.appendToken(b[:0], msg, n))
}

// appendToken appends token(msg, n) to dst.
func (k *keyedMAC) appendToken(dst []byte, msg string, n int) []byte {
	st := k.pool.Get().(*macState)
	st.h.Reset()
	st.in = append(st.in[:0], msg...)
	st.h.Write(st.in)
	st.out = st.h.Sum(st.out[:0])
	if n == 0 || n > len(st.out) {
		n = len(st.out)
	}
	dst = base64.RawURLEncoding.AppendEncode(dst, st.out[:n])
	k.pool.Put(st)
	return dst
}

// macs returns the server's keyed MACs, made on first use.
func (s *Server) macs() (csrf, device *keyedMAC) {
	s.macOnce.Do(func() {
		s.csrfMAC = newKeyedMAC("yima csrf\x00", s.pageSecret)
		s.deviceMAC = newKeyedMAC("yima device\x00", s.pageSecret)
	})
	return s.csrfMAC, s.deviceMAC
}
