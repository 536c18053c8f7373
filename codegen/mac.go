package codegen

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"hash"
)

// The tag is HMAC-SHA256 (RFC 2104) of the 20-byte MAC input, truncated to
// TagBytes. HMAC of a 20-byte message is exactly two SHA-256 block
// compressions once the key's inner and outer pad blocks have been hashed.
// crypto/hmac already resumes from saved pad states, but every Sum still
// copies the digest state and pads the message afresh. Our messages have a
// fixed length, so the padding is a constant: macState writes whole,
// pre-padded blocks and reads the chaining value back out of the marshaled
// state. Same bytes as crypto/hmac (the tests and an init-time self-check
// compare them), at about two thirds of the cost.

// sha256State is what the fast path needs of crypto/sha256's digest.
type sha256State interface {
	hash.Hash
	encoding.BinaryAppender
	encoding.BinaryUnmarshaler
}

// Layout of a marshaled SHA-256 state: magic, chaining value h0..h7 big
// endian, buffered chunk, length. It is a stable format (states are meant to
// be saved and resumed across Go releases); selfCheck guards the assumption.
const (
	sha256Magic     = "sha\x03"
	sha256StateSize = len(sha256Magic) + sha256.Size + sha256.BlockSize + 8
)

// fastMAC is false if this Go release's crypto/sha256 does not behave as the
// fast path assumes; tags then come from crypto/hmac, slower but identical.
var fastMAC = selfCheck()

// padStates are a key's SHA-256 states after its inner and outer pad block.
// They are computed once per key and only read afterwards.
type padStates struct {
	secret       []byte
	inner, outer []byte
}

func newPadStates(secret []byte) *padStates {
	p := &padStates{secret: secret}
	key := secret
	if len(key) > sha256.BlockSize {
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	var ipad, opad [sha256.BlockSize]byte
	copy(ipad[:], key)
	copy(opad[:], key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	h := sha256.New().(sha256State)
	h.Write(ipad[:])
	p.inner, _ = h.AppendBinary(nil)
	h.Reset()
	h.Write(opad[:])
	p.outer, _ = h.AppendBinary(nil)
	return p
}

// macState computes tags under one key. It is not safe for concurrent use.
type macState struct {
	pads    *padStates
	h       sha256State
	inBlock [sha256.BlockSize]byte // domain || version || key || batch || serial || padding
	outBlk  [sha256.BlockSize]byte // inner digest || padding
	scratch []byte
	slow    hash.Hash // crypto/hmac when the fast path is off
}

func newMACState(p *padStates, fast bool) *macState {
	st := &macState{pads: p, h: sha256.New().(sha256State), scratch: make([]byte, 0, sha256StateSize)}
	copy(st.inBlock[:], domain)
	// SHA-256 padding: a 1 bit, zeros, and the message length in bits,
	// counting the pad block hashed before.
	st.inBlock[msgLen] = 0x80
	binary.BigEndian.PutUint64(st.inBlock[56:], uint64(sha256.BlockSize+msgLen)*8)
	st.outBlk[sha256.Size] = 0x80
	binary.BigEndian.PutUint64(st.outBlk[56:], uint64(sha256.BlockSize+sha256.Size)*8)
	if !fast {
		st.slow = hmac.New(sha256.New, p.secret)
	}
	return st
}

// tag computes the truncated tag of id into out.
func (st *macState) tag(id ID, out *[TagBytes]byte) {
	m := st.inBlock[len(domain):msgLen]
	m[0] = id.Version
	m[1] = id.Key
	binary.BigEndian.PutUint32(m[2:], id.Batch)
	binary.BigEndian.PutUint32(m[6:], id.Serial)
	if st.slow != nil {
		st.slow.Reset()
		st.slow.Write(st.inBlock[:msgLen])
		copy(out[:], st.slow.Sum(st.scratch[:0]))
		return
	}
	st.compress(st.pads.inner, &st.inBlock, st.outBlk[:sha256.Size])
	st.compress(st.pads.outer, &st.outBlk, out[:])
}

// compress resumes the hash from state, compresses one block and copies the
// start of the resulting chaining value into dst. Because the block carries
// its own padding, that chaining value is the digest.
func (st *macState) compress(state []byte, block *[sha256.BlockSize]byte, dst []byte) {
	st.h.UnmarshalBinary(state) // cannot fail: state came from AppendBinary
	st.h.Write(block[:])        // a whole block goes straight to the compression function
	st.scratch, _ = st.h.AppendBinary(st.scratch[:0])
	copy(dst, st.scratch[len(sha256Magic):])
}

// selfCheck compares the fast path with crypto/hmac once, so that a Go
// release that changed the marshaled state layout makes yima slower, never
// wrong.
func selfCheck() bool {
	h := sha256.New()
	if _, ok := h.(sha256State); !ok {
		return false
	}
	if st, _ := h.(sha256State).AppendBinary(nil); len(st) != sha256StateSize || string(st[:len(sha256Magic)]) != sha256Magic {
		return false
	}
	secret := []byte("yima self-check key, not a secret")
	st := newMACState(newPadStates(secret), true)
	id := ID{Version: V1, Key: 3, Batch: 0x12345, Serial: 0x6789abc}
	var got [TagBytes]byte
	st.tag(id, &got)
	ref := hmac.New(sha256.New, secret)
	ref.Write(st.inBlock[:msgLen])
	return bytes.Equal(got[:], ref.Sum(nil)[:TagBytes])
}
