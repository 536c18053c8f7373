package codegen

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// PIN digits a batch may print inside its packages (see docs/code-format.md,
// "Inner PINs").
const (
	MinPINDigits     = 6
	MaxPINDigits     = 8
	DefaultPINDigits = 8
)

// pinDomain separates PIN derivation from every other use of a PIN secret.
const pinDomain = "yima/pin\x00"

// ErrNoPINSecret is returned for a key made before keys had PIN secrets: a
// batch that claims with PINs needs a key rotated since (yima keys rotate).
var ErrNoPINSecret = errors.New("codegen: this signing key has no PIN secret; rotate keys (yima keys rotate) and mint PIN batches under the new primary key")

// newPINSecret draws a key's PIN secret: 32 random bytes, apart from the
// signing secret, so that whoever verifies codes (a factory's checking app
// holding the signing secret) cannot derive the PINs printed inside.
func newPINSecret() ([]byte, error) {
	s := make([]byte, 32)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("codegen: reading random PIN secret: %w", err)
	}
	return s, nil
}

// DerivePIN is the inner PIN of a code: HMAC-SHA256 under secret of
// "yima/pin\x00" || digits (one byte) || the code's canonical form (ASCII),
// the first 8 bytes of the MAC read as a big-endian unsigned integer,
// modulo 10^digits, written in decimal with leading zeros to digits
// places. Nothing per code is stored: the PIN is computed again to check
// it. digits is 6 to 8.
func DerivePIN(secret []byte, canonical string, digits int) (string, error) {
	if digits < MinPINDigits || digits > MaxPINDigits {
		return "", fmt.Errorf("codegen: a PIN has %d to %d digits, not %d", MinPINDigits, MaxPINDigits, digits)
	}
	if len(secret) < 16 {
		return "", ErrNoPINSecret
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(pinDomain))
	m.Write([]byte{byte(digits)})
	m.Write([]byte(canonical))
	sum := m.Sum(nil)
	mod := uint64(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, binary.BigEndian.Uint64(sum[:8])%mod), nil
}

// PIN returns the inner PIN of the code p (verified by this keyset) in a
// batch whose PINs have digits digits.
func (ks *Keyset) PIN(p *Parsed, digits int) (string, error) {
	k := ks.key(p.Key)
	if k == nil {
		return "", errUnknownKey
	}
	return DerivePIN(k.PINSecret, p.String(), digits)
}

// CheckPIN reports whether pin is the inner PIN of p, in constant time.
func (ks *Keyset) CheckPIN(p *Parsed, digits int, pin string) (bool, error) {
	want, err := ks.PIN(p, digits)
	if err != nil {
		return false, err
	}
	return hmac.Equal([]byte(want), []byte(pin)), nil
}

// HasPINSecret reports whether key id can derive PINs.
func (ks *Keyset) HasPINSecret(id uint8) bool {
	k := ks.key(id)
	return k != nil && len(k.PINSecret) >= 16
}

// PINSecretOf returns key id's PIN secret, for a signer that prints PINs;
// nil when it has none.
func (ks *Keyset) PINSecretOf(id uint8) []byte {
	if k := ks.key(id); k != nil {
		return k.PINSecret
	}
	return nil
}

// SetPINSecret gives key id the PIN secret (at least 16 bytes; copied), for
// test vectors and tools that reproduce PINs; a deployment's keys get
// theirs from Rotate.
func (ks *Keyset) SetPINSecret(id uint8, secret []byte) error {
	k := ks.key(id)
	if k == nil {
		return fmt.Errorf("codegen: no key %d", id)
	}
	if len(secret) < 16 {
		return errors.New("codegen: a PIN secret has at least 16 bytes")
	}
	k.PINSecret = append([]byte(nil), secret...)
	return nil
}
