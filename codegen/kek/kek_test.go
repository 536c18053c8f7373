package kek_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/yima-dev/yima/codegen/kek"
)

func mustParse(t *testing.T, s string) *kek.Key {
	t.Helper()
	k, err := kek.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSealOpen checks that a value opens under its KEK and record key
// only: another KEK, another record key, and every changed byte fail with
// ErrOpen.
func TestSealOpen(t *testing.T) {
	k := mustParse(t, kek.Generate())
	other := mustParse(t, kek.Generate())
	plain := []byte(`{"primary":1,"keys":[]}`)
	sealed := k.Seal([]byte("meta/keys"), plain)
	if bytes.Contains(sealed, plain) {
		t.Fatal("the sealed value holds the plain text")
	}
	got, err := k.Open([]byte("meta/keys"), sealed)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v; want the plain text", got, err)
	}
	if again := k.Seal([]byte("meta/keys"), plain); bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	if _, err := other.Open([]byte("meta/keys"), sealed); !errors.Is(err, kek.ErrOpen) {
		t.Errorf("another KEK opened the value: %v", err)
	}
	if _, err := k.Open([]byte("meta/page-key"), sealed); !errors.Is(err, kek.ErrOpen) {
		t.Errorf("the value opened under another record key: %v", err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := k.Open([]byte("meta/keys"), bad); !errors.Is(err, kek.ErrOpen) {
			t.Fatalf("byte %d changed, Open = %v; want ErrOpen", i, err)
		}
	}
	for _, cut := range []int{0, 1, 12, len(sealed) - 1} {
		if _, err := k.Open([]byte("meta/keys"), sealed[:cut]); !errors.Is(err, kek.ErrOpen) {
			t.Errorf("cut to %d bytes, Open = %v; want ErrOpen", cut, err)
		}
	}
}

// TestParse reads the forms a file or a variable holds and refuses what
// would make a weak key.
func TestParse(t *testing.T) {
	raw := bytes.Repeat([]byte{0xA5}, kek.Size)
	want := mustParse(t, base64.StdEncoding.EncodeToString(raw)).ID()
	for _, in := range []string{
		base64.StdEncoding.EncodeToString(raw) + "\n",
		"  " + base64.RawURLEncoding.EncodeToString(raw) + "\r\n",
		hex.EncodeToString(raw),
		string(raw),
	} {
		k, err := kek.Parse([]byte(in))
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if k.ID() != want {
			t.Errorf("Parse(%q) is key %s, want %s", in, k.ID(), want)
		}
	}
	for _, in := range []string{"", "short", base64.StdEncoding.EncodeToString(raw[:16]), hex.EncodeToString(raw[:31]), strings.Repeat("x", 33)} {
		if _, err := kek.Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), "yima keys kek") {
			t.Errorf("Parse(%q) = %v; want a refusal that says how to make one", in, err)
		}
	}
	if a, b := mustParse(t, kek.Generate()), mustParse(t, kek.Generate()); a.ID() == b.ID() {
		t.Error("two generated keys have one id")
	}
}
