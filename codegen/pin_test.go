package codegen_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/codegentest"
)

// pinVectors are docs/code-format.md's PIN examples: the vectors' key (id
// 17, secret 000102…1f) with PIN secret 202122…3f, batch 42, serial 12345.
// They were computed with Python's hmac module from the spec's words, not
// with this package.
var pinVectors = []struct {
	digits int
	pin    string
}{{6, "987474"}, {7, "3248080"}, {8, "80128976"}}

func pinKeyset(t *testing.T) *codegen.Keyset {
	t.Helper()
	secret, pinSecret := make([]byte, 32), make([]byte, 32)
	for i := range secret {
		secret[i], pinSecret[i] = byte(i), byte(32+i)
	}
	ks, err := codegen.NewKeysetFromSecret(17, secret)
	if err != nil {
		t.Fatal(err)
	}
	if ks.HasPINSecret(17) {
		t.Fatal("a keyset made from a signing secret alone has a PIN secret")
	}
	if err := ks.SetPINSecret(17, pinSecret); err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestPINVectors(t *testing.T) {
	ks := pinKeyset(t)
	p, err := ks.Verify("A4005800C1SFDRVVSHM24YWBCFD")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range pinVectors {
		got, err := ks.PIN(&p, v.digits)
		if err != nil || got != v.pin {
			t.Errorf("%d digits: %q, %v; want %q", v.digits, got, err, v.pin)
		}
		if ok, _ := ks.CheckPIN(&p, v.digits, v.pin); !ok {
			t.Errorf("%d digits: the right PIN is refused", v.digits)
		}
		// One digit off, a PIN of the wrong length, nothing: refused.
		wrong := []byte(v.pin)
		wrong[0] = '0' + (wrong[0]-'0'+1)%10
		for _, bad := range []string{string(wrong), v.pin[1:], v.pin + "0", ""} {
			if ok, _ := ks.CheckPIN(&p, v.digits, bad); ok {
				t.Errorf("%d digits: %q accepted", v.digits, bad)
			}
		}
	}
	// The PIN depends on the code: its neighbour's differs.
	s, _ := ks.VersionSigner(2, 17, 42)
	q, _ := ks.Verify(s.Code(12346))
	if a, _ := ks.PIN(&p, 8); func() string { b, _ := ks.PIN(&q, 8); return b }() == a {
		t.Error("two codes share a PIN")
	}
	if _, err := ks.PIN(&p, 5); err == nil {
		t.Error("a 5-digit PIN was derived")
	}
}

// TestPINSpec derives PINs for many codes from the spec's words with
// crypto/hmac and compares, and checks that the digits are spread evenly.
func TestPINSpec(t *testing.T) {
	ks := pinKeyset(t)
	pinSecret := make([]byte, 32)
	for i := range pinSecret {
		pinSecret[i] = byte(32 + i)
	}
	s, _ := ks.VersionSigner(2, 17, 7)
	counts := [10]int{}
	for serial := uint32(1); serial <= 2000; serial++ {
		code := s.Code(serial)
		p, err := ks.Verify(code)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := ks.PIN(&p, 8)
		m := hmac.New(sha256.New, pinSecret)
		m.Write([]byte("yima/pin\x00\x08" + code))
		want := fmt.Sprintf("%08d", binary.BigEndian.Uint64(m.Sum(nil)[:8])%100_000_000)
		if got != want {
			t.Fatalf("serial %d: %s, the spec gives %s", serial, got, want)
		}
		counts[got[0]-'0']++
	}
	for d, n := range counts {
		if n < 120 || n > 280 { // 200 expected each
			t.Errorf("leading digit %d in %d of 2000 PINs", d, n)
		}
	}
}

// TestNewKeysHavePINSecrets: a rotated key has a PIN secret apart from its
// signing secret.
func TestNewKeysHavePINSecrets(t *testing.T) {
	ks := codegentest.Keyset(t)
	k := ks.Keys[0]
	if !ks.HasPINSecret(k.ID) || len(k.PINSecret) != 32 || hmac.Equal(k.PINSecret, k.Secret) {
		t.Fatalf("a new key's PIN secret: %x", k.PINSecret)
	}
}
