package codegen_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
)

func mustKeyset(tb testing.TB) *codegen.Keyset {
	tb.Helper()
	ks, err := codegen.NewKeyset(time.Unix(0, 0))
	if err != nil {
		tb.Fatal(err)
	}
	return ks
}

func TestSignVerifyRoundTrip(t *testing.T) {
	ks := mustKeyset(t)
	s, err := ks.Signer(ks.Primary, 42)
	if err != nil {
		t.Fatal(err)
	}
	for _, serial := range []uint32{1, 2, 99, codegen.MaxSerial} {
		code := s.Code(serial)
		if len(code) != codegen.Len {
			t.Fatalf("code %q has %d characters, want %d", code, len(code), codegen.Len)
		}
		p, err := ks.Verify(code)
		if err != nil {
			t.Fatalf("Verify(%q): %v", code, err)
		}
		if p.Batch != 42 || p.Serial != serial || p.Key != ks.Primary || p.String() != code {
			t.Fatalf("Verify(%q) = %+v, want batch 42 serial %d", code, p.ID, serial)
		}
	}
}

func TestSpellingsAreOneCode(t *testing.T) {
	ks := mustKeyset(t)
	s, _ := ks.Signer(ks.Primary, 7)
	code := s.Code(12345)
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
	ks := mustKeyset(t)
	s, _ := ks.Signer(ks.Primary, 7)
	code := s.Code(5)
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
		"version 2":          {"8" + code[1:], codegen.ReasonVersion},
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
	ks := mustKeyset(t)
	old := ks.Primary
	s, _ := ks.Signer(old, 1)
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
}

func TestKeysetSaveLoad(t *testing.T) {
	ks := mustKeyset(t)
	ks.Rotate(time.Unix(1, 0))
	path := t.TempDir() + "/keys.json"
	if err := ks.Save(path); err != nil {
		t.Fatal(err)
	}
	s, _ := ks.Signer(ks.Primary, 3)
	code := s.Code(3)
	loaded, err := codegen.LoadKeyset(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loaded.Verify(code); err != nil {
		t.Fatalf("reloaded keyset does not verify: %v", err)
	}
}
