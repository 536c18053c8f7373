package codegen

import (
	"errors"
	"fmt"
	"slices"
)

// Layout of versions 1 and 2, most significant bit first (135 bits, 27
// characters):
//
//	version  3 bits   (1 or 2)
//	key id   5 bits   (1..31)
//	batch   20 bits   (1..1,048,575)
//	serial  27 bits   (1..134,217,727)
//	tag     80 bits   v1: truncated HMAC-SHA256, v2: truncated AES-128-CMAC
//
// 135 is a multiple of 5, so the text form has no pad bits: every string of
// 27 symbols decodes to exactly one bit string and back. The versions differ
// only in how the tag is computed.
const (
	// V1 codes carry an HMAC-SHA256 tag. They are no longer minted for new
	// batches, and verify for as long as their key is active.
	V1 = 1
	// V2 codes carry an AES-128-CMAC tag: the same fields, length and
	// alphabet, at a fraction of the cost on CPUs without SHA instructions.
	V2 = 2
	// MintVersion is the version of new batches.
	MintVersion = V2

	// Len is the length of a canonical code in characters.
	Len = 27
	// TagBytes is the length of the truncated tag (80 bits).
	TagBytes = 10

	MaxKeyID  = 1<<5 - 1
	MaxBatch  = 1<<20 - 1
	MaxSerial = 1<<27 - 1

	headerChars = 11 // 55 bits of version, key, batch and serial
	// maxInput bounds the raw text a parser looks at, hyphens and spaces
	// included, so that an attacker's megabyte is refused before any work.
	maxInput = 2 * Len
)

// alphabet is Crockford's base32 alphabet: no I, L, O or U.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// decodeMap maps an input byte to its 5-bit value; 0xFF is invalid and 0xFE
// marks a separator that is ignored.
var decodeMap = func() (m [256]byte) {
	for i := range m {
		m[i] = 0xFF
	}
	for i := 0; i < len(alphabet); i++ {
		c := alphabet[i]
		m[c] = byte(i)
		if c >= 'A' && c <= 'Z' {
			m[c+'a'-'A'] = byte(i)
		}
	}
	m['O'], m['o'] = 0, 0
	m['I'], m['i'], m['L'], m['l'] = 1, 1, 1, 1
	m['-'], m[' '] = 0xFE, 0xFE
	return m
}()

// ID is the identity of a code: what it names, without its tag.
type ID struct {
	Version uint8
	Key     uint8
	Batch   uint32
	Serial  uint32
}

// Parsed is a syntactically valid code that has not been verified.
type Parsed struct {
	ID
	Tag [TagBytes]byte
	// Canonical is the code's only spelling that storage and output use.
	Canonical [Len]byte
}

// String returns the canonical form.
func (p *Parsed) String() string { return string(p.Canonical[:]) }

// Reason says why a code is not genuine. It is stable text for logs, CLI
// output and API error details.
type Reason string

const (
	ReasonMalformed  Reason = "malformed"
	ReasonVersion    Reason = "unknown_version"
	ReasonUnknownKey Reason = "unknown_key"
	ReasonRetiredKey Reason = "retired_key"
	ReasonForged     Reason = "forged"
)

// Error is returned by Parse and Verify for a code that is not genuine.
type Error struct {
	Reason Reason
	Detail string
}

func (e *Error) Error() string { return "codegen: " + string(e.Reason) + ": " + e.Detail }

// ErrNotGenuine matches every *Error with errors.Is.
var ErrNotGenuine = errors.New("codegen: code is not genuine")

func (e *Error) Is(target error) bool { return target == ErrNotGenuine }

// Static errors keep the reject path free of allocations.
var (
	errTooLong   = &Error{ReasonMalformed, fmt.Sprintf("a code has %d characters", Len)}
	errLength    = &Error{ReasonMalformed, fmt.Sprintf("a code has %d characters of Crockford base32 (hyphens and spaces are ignored)", Len)}
	errSymbol    = &Error{ReasonMalformed, "a code uses only digits and the letters A-Z except U (O reads as 0, I and L as 1)"}
	errVersion   = &Error{ReasonVersion, fmt.Sprintf("this build knows code versions %d and %d only", V1, V2)}
	errZeroField = &Error{ReasonMalformed, "key id, batch and serial start at 1"}
	errForged    = &Error{ReasonForged, "the signature does not match: the code was not minted by this brand or was mistyped"}
)

// Parse canonicalises text and decodes the fields of a code. It does not
// verify the tag; use Keyset.Verify for that.
func Parse(text string) (Parsed, error) {
	var p Parsed
	if len(text) > maxInput {
		return p, errTooLong
	}
	var vals [Len]byte
	n := 0
	for i := 0; i < len(text); i++ {
		v := decodeMap[text[i]]
		switch {
		case v == 0xFE:
			continue
		case v == 0xFF:
			return p, errSymbol
		case n == Len:
			return p, errLength
		}
		vals[n] = v
		n++
	}
	if n != Len {
		return p, errLength
	}
	var hdr uint64
	for i := 0; i < headerChars; i++ {
		hdr = hdr<<5 | uint64(vals[i])
	}
	p.Version = uint8(hdr >> 52)
	p.Key = uint8(hdr>>47) & MaxKeyID
	p.Batch = uint32(hdr>>27) & MaxBatch
	p.Serial = uint32(hdr) & MaxSerial
	for half := 0; half < 2; half++ {
		var acc uint64
		for i := 0; i < 8; i++ {
			acc = acc<<5 | uint64(vals[headerChars+half*8+i])
		}
		for i := 0; i < 5; i++ {
			p.Tag[half*5+i] = byte(acc >> (32 - 8*i))
		}
	}
	for i, v := range vals {
		p.Canonical[i] = alphabet[v]
	}
	if p.Version != V1 && p.Version != V2 {
		return p, errVersion
	}
	if p.Key == 0 || p.Batch == 0 || p.Serial == 0 {
		return p, errZeroField
	}
	return p, nil
}

// appendCode appends the text form of id and tag to dst.
func appendCode(dst []byte, id ID, tag *[TagBytes]byte) []byte {
	dst = slices.Grow(dst, Len)
	n := len(dst)
	dst = dst[:n+Len]
	encode((*[Len]byte)(dst[n:]), id, tag)
	return dst
}

// encode spells id and tag into out: 11 symbols of header, then the tag as
// two 40-bit halves of 8 symbols each. Fixed sizes let the compiler drop
// the bounds checks; this runs once per minted code.
func encode(out *[Len]byte, id ID, tag *[TagBytes]byte) {
	hdr := header(id)
	for i := headerChars - 1; i >= 0; i-- {
		out[i] = alphabet[hdr&31]
		hdr >>= 5
	}
	hi := uint64(tag[0])<<32 | uint64(tag[1])<<24 | uint64(tag[2])<<16 | uint64(tag[3])<<8 | uint64(tag[4])
	lo := uint64(tag[5])<<32 | uint64(tag[6])<<24 | uint64(tag[7])<<16 | uint64(tag[8])<<8 | uint64(tag[9])
	for i := 7; i >= 0; i-- {
		out[headerChars+i] = alphabet[hi&31]
		out[headerChars+8+i] = alphabet[lo&31]
		hi >>= 5
		lo >>= 5
	}
}

// header is the first 55 bits of a code: version, key, batch and serial.
func header(id ID) uint64 {
	return uint64(id.Version&7)<<52 | uint64(id.Key&MaxKeyID)<<47 | uint64(id.Batch&MaxBatch)<<27 | uint64(id.Serial&MaxSerial)
}

// CheckRange reports whether a batch and serial fit the layout.
func CheckRange(batch, serial uint32) error {
	if batch == 0 || batch > MaxBatch {
		return fmt.Errorf("codegen: batch %d out of range 1..%d", batch, MaxBatch)
	}
	if serial == 0 || serial > MaxSerial {
		return fmt.Errorf("codegen: serial %d out of range 1..%d", serial, MaxSerial)
	}
	return nil
}
