package codegen

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
)

// Version 2 tags are AES-128-CMAC (RFC 4493). AES instructions are on every
// x86 server and ARMv8 core; SHA instructions are not, and HMAC-SHA256 in
// software costs about a microsecond a code. The version 2 MAC input is
// exactly one AES block, so a tag is one block encryption of the input
// XOR the subkey K1 (RFC 4493 §2.4, a complete last block with no block
// before it). The general algorithm below is what the tests hold against
// RFC 4493's examples and OpenSSL; the one-block path is checked against it.

// cmacKeyInfo is the HKDF-Expand info from which a key's AES key is derived.
const cmacKeyInfo = "yima/code v2 AES-128-CMAC key"

// deriveCMACKey returns the AES-128 key of a keyset secret:
// HKDF-Expand-SHA256 (RFC 5869 §2.3) with the secret as the pseudorandom
// key, info cmacKeyInfo and 16 bytes of output, which is
// HMAC-SHA256(secret, info || 0x01)[0:16]. Secrets are 32 random bytes, so
// the Extract step adds nothing. Version 1 uses the secret as an HMAC key
// over 20-byte inputs that start "yima/code" 0x00; this input differs at
// its tenth byte, so the two uses never share an HMAC input.
func deriveCMACKey(secret []byte) [aes.BlockSize]byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(cmacKeyInfo))
	h.Write([]byte{1})
	var k [aes.BlockSize]byte
	copy(k[:], h.Sum(nil))
	return k
}

// cmacKey is an AES-128 key with its CMAC subkeys. It is read-only after
// newCMACKey and safe for concurrent use (cipher.Block is).
type cmacKey struct {
	block  cipher.Block
	k1, k2 [aes.BlockSize]byte
}

// newCMACKey expands an AES-128 key and derives K1 and K2 (RFC 4493 §2.3).
func newCMACKey(key [aes.BlockSize]byte) *cmacKey {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic("codegen: AES-128 refused a 16-byte key: " + err.Error())
	}
	c := &cmacKey{block: b}
	var l [aes.BlockSize]byte
	b.Encrypt(l[:], l[:]) // L = AES-128(K, 0^128)
	c.k1 = double(l)
	c.k2 = double(c.k1)
	return c
}

// double multiplies a block by x in GF(2^128) modulo x^128+x^7+x^2+x+1:
// a left shift by one bit, and R_128 = 0x87 into the last byte if the bit
// shifted out was set. It does not branch on the key.
func double(in [aes.BlockSize]byte) (out [aes.BlockSize]byte) {
	hi := binary.BigEndian.Uint64(in[:8])
	lo := binary.BigEndian.Uint64(in[8:])
	carry := hi >> 63
	hi = hi<<1 | lo>>63
	lo = lo<<1 ^ 0x87&-carry
	binary.BigEndian.PutUint64(out[:8], hi)
	binary.BigEndian.PutUint64(out[8:], lo)
	return out
}

// sum is AES-CMAC of msg of any length (RFC 4493 §2.4), the full 128-bit
// MAC. Codes never take this path (their input is one block; see
// cmacState.tag), so it is written for reading, not for speed.
func (c *cmacKey) sum(msg []byte) [aes.BlockSize]byte {
	n := (len(msg) + aes.BlockSize - 1) / aes.BlockSize
	complete := n > 0 && len(msg)%aes.BlockSize == 0
	if n == 0 {
		n = 1
	}
	var x, last [aes.BlockSize]byte // x is the CBC chaining value, 0 at first
	for i := 0; i < n-1; i++ {
		xorBlock(x[:], msg[i*aes.BlockSize:])
		c.block.Encrypt(x[:], x[:])
	}
	copy(last[:], msg[(n-1)*aes.BlockSize:])
	if complete {
		xorBlock(last[:], c.k1[:])
	} else {
		last[len(msg)-(n-1)*aes.BlockSize] = 0x80 // padding: 10^i
		xorBlock(last[:], c.k2[:])
	}
	xorBlock(x[:], last[:])
	c.block.Encrypt(x[:], x[:])
	return x
}

// xorBlock XORs the first block of src into dst.
func xorBlock(dst, src []byte) {
	subtle.XORBytes(dst[:aes.BlockSize], dst[:aes.BlockSize], src[:aes.BlockSize])
}

// cmacState computes version 2 tags under one key. It keeps the block it
// encrypts in place: an array passed to cipher.Block (an interface) would
// escape to the heap on every call. Not safe for concurrent use.
type cmacState struct {
	key *cmacKey
	buf [aes.BlockSize]byte
	// hi and lo are the MAC input with a zero header, XOR K1, as two
	// big-endian words. The header occupies the low 55 bits of lo, so the
	// block to encrypt is hi, lo^header: two stores a code.
	hi, lo uint64
}

func newCMACState(key *cmacKey) *cmacState {
	st := &cmacState{key: key}
	var m [aes.BlockSize]byte
	macInputV2(&m, ID{})
	xorBlock(m[:], key.k1[:])
	st.hi = binary.BigEndian.Uint64(m[:8])
	st.lo = binary.BigEndian.Uint64(m[8:])
	return st
}

// macInputV2 writes the version 2 MAC input of id: "yima/code" and the
// 55-bit header as 7 bytes big endian, 16 bytes in all.
func macInputV2(dst *[aes.BlockSize]byte, id ID) {
	copy(dst[:], domainV2)
	// Bytes 8..15 as one big-endian word: the last byte of the domain, then
	// the 7 bytes of the header (it is under 2^55).
	binary.BigEndian.PutUint64(dst[8:], uint64(domainV2[8])<<56|header(id))
}

// tag computes the truncated version 2 tag of id into out: the input is one
// complete block, so CMAC = AES-128(K, input XOR K1).
func (st *cmacState) tag(id ID, out *[TagBytes]byte) {
	binary.BigEndian.PutUint64(st.buf[:8], st.hi)
	binary.BigEndian.PutUint64(st.buf[8:], st.lo^header(id))
	st.key.block.Encrypt(st.buf[:], st.buf[:])
	copy(out[:], st.buf[:TagBytes])
}
