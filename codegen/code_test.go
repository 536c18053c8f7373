package codegen_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/codegentest"
)

// versions are the code versions every signing and verifying test covers.
var versions = []uint8{codegen.V1, codegen.V2}

// eachVersion runs f for every code version with a signer of that version
// for batch under key.
func eachVersion(t *testing.T, ks *codegen.Keyset, key uint8, batch uint32, f func(t *testing.T, s *codegen.Signer)) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			s, err := ks.VersionSigner(v, key, batch)
			if err != nil {
				t.Fatal(err)
			}
			if s.Version() != v {
				t.Fatalf("signer of version %d says version %d", v, s.Version())
			}
			f(t, s)
		})
	}
}

func TestNewBatchesMintVersion2(t *testing.T) {
	ks := codegentest.Keyset(t)
	s, err := ks.Signer(ks.Primary, 42)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ks.Verify(s.Code(1))
	if err != nil || s.Version() != codegen.V2 || p.Version != codegen.V2 {
		t.Fatalf("a new batch's signer mints version %d (code %+v, %v), want 2", s.Version(), p.ID, err)
	}
	if _, err := ks.VersionSigner(3, ks.Primary, 42); err == nil {
		t.Fatal("a signer of version 3 was made")
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	ks := codegentest.Keyset(t)
	eachVersion(t, ks, ks.Primary, 42, func(t *testing.T, s *codegen.Signer) { roundTrip(t, ks, s) })
}

func roundTrip(t *testing.T, ks *codegen.Keyset, s *codegen.Signer) {
	for _, serial := range []uint32{1, 2, 99, codegen.MaxSerial} {
		code := s.Code(serial)
		if len(code) != codegen.Len {
			t.Fatalf("code %q has %d characters, want %d", code, len(code), codegen.Len)
		}
		p, err := ks.Verify(code)
		if err != nil {
			t.Fatalf("Verify(%q): %v", code, err)
		}
		if p.Version != s.Version() || p.Batch != 42 || p.Serial != serial || p.Key != ks.Primary || p.String() != code {
			t.Fatalf("Verify(%q) = %+v, want batch 42 serial %d", code, p.ID, serial)
		}
	}
}

func TestSpellingsAreOneCode(t *testing.T) {
	ks := codegentest.Keyset(t)
	eachVersion(t, ks, ks.Primary, 7, func(t *testing.T, s *codegen.Signer) { spellings(t, ks, s.Code(12345)) })
}

func spellings(t *testing.T, ks *codegen.Keyset, code string) {
	variants := []string{
		strings.ToLower(code),
		code[:5] + "-" + code[5:14] + " " + code[14:],
		strings.NewReplacer("0", "O", "1", "I").Replace(code),
		strings.ReplaceAll(strings.ToLower(code), "1", "l"),
	}
	for _, v := range variants {
		p, err := ks.Verify(v)
		if err != nil {
			t.Fatalf("Verify(%q): %v", v, err)
		}
		if p.String() != code {
			t.Fatalf("canonical form of %q is %q, want %q", v, p.String(), code)
		}
	}
}

func TestRejects(t *testing.T) {
	ks := codegentest.Keyset(t)
	eachVersion(t, ks, ks.Primary, 7, func(t *testing.T, s *codegen.Signer) { rejects(t, ks, s) })
}

func rejects(t *testing.T, ks *codegen.Keyset, s *codegen.Signer) {
	code := s.Code(5)
	// The same fields and tag under the other version: a tag is bound to
	// its version.
	other := []byte(code)
	other[0] = map[byte]byte{'4': '8', '5': '9', '6': 'A', '7': 'B', '8': '4', '9': '5', 'A': '6', 'B': '7'}[code[0]]
	flip := []byte(code)
	if flip[20] == 'A' {
		flip[20] = 'B'
	} else {
		flip[20] = 'A'
	}
	cases := map[string]struct {
		in   string
		want codegen.Reason
	}{
		"empty":              {"", codegen.ReasonMalformed},
		"truncated":          {code[:26], codegen.ReasonMalformed},
		"one extra":          {code + "0", codegen.ReasonMalformed},
		"huge":               {strings.Repeat("A", 1<<20), codegen.ReasonMalformed},
		"letter U":           {"U" + code[1:], codegen.ReasonMalformed},
		"unicode look-alike": {"Ｏ" + code[1:], codegen.ReasonMalformed},
		"tag changed":        {string(flip), codegen.ReasonForged},
		"version 3":          {"C" + code[1:], codegen.ReasonVersion},
		"version 0":          {"0" + code[1:], codegen.ReasonVersion},
		"other version":      {string(other), codegen.ReasonForged},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ks.Verify(c.in)
			var ce *codegen.Error
			if !errors.As(err, &ce) || ce.Reason != c.want {
				t.Fatalf("Verify: %v, want reason %s", err, c.want)
			}
			if !errors.Is(err, codegen.ErrNotGenuine) {
				t.Fatalf("error %v does not match ErrNotGenuine", err)
			}
		})
	}
}

func TestRotateAndRetire(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) { rotateAndRetire(t, v) })
	}
}

func rotateAndRetire(t *testing.T, version uint8) {
	ks := codegentest.Keyset(t)
	old := ks.Primary
	s, _ := ks.VersionSigner(version, old, 1)
	code := s.Code(1)
	if _, err := ks.Rotate(time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if ks.Primary == old {
		t.Fatal("rotate did not change the primary key")
	}
	if _, err := ks.Verify(code); err != nil {
		t.Fatalf("code under the old key stopped verifying after rotation: %v", err)
	}
	if s, err := ks.VersionSigner(version, ks.Primary, 1); err != nil || s.Code(1) == code {
		t.Fatalf("the new primary key signs serial 1 as %v (%v), the same as the old key", s, err)
	}
	if err := ks.Retire(ks.Primary, time.Unix(2, 0)); err == nil {
		t.Fatal("retiring the primary key succeeded")
	}
	if err := ks.Retire(old, time.Unix(2, 0)); err != nil {
		t.Fatal(err)
	}
	var ce *codegen.Error
	if _, err := ks.Verify(code); !errors.As(err, &ce) || ce.Reason != codegen.ReasonRetiredKey {
		t.Fatalf("code under a retired key: %v, want %s", err, codegen.ReasonRetiredKey)
	}
	if _, err := ks.VersionSigner(version, old, 1); err == nil {
		t.Fatal("a retired key made a signer")
	}
}

func TestKeysetSaveLoad(t *testing.T) {
	ks := codegentest.Keyset(t)
	ks.Rotate(time.Unix(1, 0))
	path := t.TempDir() + "/keys.json"
	if err := ks.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := codegen.LoadKeyset(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint8{1, 2} {
		eachVersion(t, ks, id, 3, func(t *testing.T, s *codegen.Signer) {
			if _, err := loaded.Verify(s.Code(3)); err != nil {
				t.Fatalf("reloaded keyset does not verify key %d: %v", id, err)
			}
		})
	}
}
