package kek

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// Size is the length of a KEK: 32 bytes, an AES-256 key.
const Size = 32

// version is the first byte of a sealed value: the format (AES-256-GCM,
// 12-byte nonce), so that a later format can be told apart.
const version = 1

// ErrOpen is returned by Open when the KEK is not the one the value was
// sealed with, or the value (or its key) was changed.
var ErrOpen = errors.New("kek: the key-encryption key does not open this value (another key, or the value was changed)")

// Key is a key-encryption key.
type Key struct {
	aead cipher.AEAD
	id   string
}

// New returns the KEK whose 32 bytes are raw.
func New(raw []byte) (*Key, error) {
	if len(raw) != Size {
		return nil, fmt.Errorf("kek: a key-encryption key is %d bytes, not %d", Size, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	// The id names the key in messages without giving it away: a hash
	// under a label no other use shares.
	sum := sha256.Sum256(append([]byte("yima kek id\x00"), raw...))
	return &Key{aead: aead, id: hex.EncodeToString(sum[:4])}, nil
}

// Parse reads a KEK as a file or a variable holds it: 32 bytes in base64
// (standard or URL alphabet, padded or not) or hex, surrounded by any
// white space, or exactly 32 raw bytes. Anything else is refused: a short
// or mistyped key must not become a weak one.
func Parse(text []byte) (*Key, error) {
	s := string(bytes.TrimSpace(text))
	for _, dec := range []func(string) ([]byte, error){
		base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString,
		hex.DecodeString,
	} {
		if raw, err := dec(s); err == nil && len(raw) == Size {
			return New(raw)
		}
	}
	if len(text) == Size {
		return New(text)
	}
	return nil, fmt.Errorf("kek: not a key-encryption key: give %d random bytes in base64 (yima keys kek makes one)", Size)
}

// Generate returns a fresh KEK in the text form Parse reads.
func Generate() string {
	raw := make([]byte, Size)
	rand.Read(raw) // never fails on supported platforms
	return base64.StdEncoding.EncodeToString(raw)
}

// ID is a short public name of the key (8 hex digits), to tell keys apart
// in messages and listings; it gives nothing of the key away.
func (k *Key) ID() string { return k.id }

// Seal encrypts plain for the record named key: the result opens only
// under this KEK and with the same key.
func (k *Key) Seal(key, plain []byte) []byte {
	out := make([]byte, 1+k.aead.NonceSize(), 1+k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	out[0] = version
	rand.Read(out[1:]) // never fails on supported platforms
	return k.aead.Seal(out, out[1:], plain, key)
}

// Open decrypts a value Seal made for the record named key. It returns
// ErrOpen when the KEK or the key is another, or the value was changed.
func (k *Key) Open(key, sealed []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < 1+n+k.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	plain, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], key)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
