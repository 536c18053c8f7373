package codegen_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/yima-dev/yima/codegen"
)

// Plain `go test` runs only the seeds below; `go test -fuzz FuzzX ./codegen`
// explores from them.

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// seededKeyset returns vectorKeyset's keyset, with its seeds added to f.
func seededKeyset(f *testing.F) *codegen.Keyset {
	ks, seeds := vectorKeyset(f)
	for _, s := range seeds {
		f.Add(s)
	}
	return ks
}

// vectorKeyset returns the keyset of testdata/vectors.json and every input
// it and testdata/vectors-v2.json name, as fuzz seeds.
func vectorKeyset(tb testing.TB) (*codegen.Keyset, []string) {
	tb.Helper()
	vf := readVectors[vectorFileV1](tb, vectorsPath)
	secret, _ := hex.DecodeString(vf.Key.SecretHex)
	ks, err := codegen.NewKeysetFromSecret(vf.Key.ID, secret)
	if err != nil {
		tb.Fatal(err)
	}
	v2 := readVectors[vectorFileV2](tb, vectorsV2Path)
	if v2.Key.ID != vf.Key.ID || v2.Key.SecretHex != vf.Key.SecretHex {
		tb.Fatal("the version 1 and version 2 vectors use different keys")
	}
	seeds := vf.inputs(func(v validVector) string { return v.Code })
	return ks, append(seeds, v2.inputs(func(v validVectorV2) string { return v.Code })...)
}

func checkRefusal(t *testing.T, in string, err error) {
	var ce *codegen.Error
	if !errors.As(err, &ce) || !errors.Is(err, codegen.ErrNotGenuine) {
		t.Fatalf("%q: error %v is not a *codegen.Error", in, err)
	}
	switch ce.Reason {
	case codegen.ReasonMalformed, codegen.ReasonVersion, codegen.ReasonUnknownKey, codegen.ReasonRetiredKey, codegen.ReasonForged:
	default:
		t.Fatalf("%q: unknown reason %q", in, ce.Reason)
	}
}

func FuzzParse(f *testing.F) {
	seededKeyset(f)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := codegen.Parse(in)
		if lp, lerr := codegen.Parse(strings.ToLower(in)); (err == nil) != (lerr == nil) || lp != p {
			t.Fatalf("Parse(%q) and Parse of its lower case differ: %v / %v", in, err, lerr)
		}
		if err != nil {
			checkRefusal(t, in, err)
			return
		}
		c := p.String()
		if len(c) != codegen.Len || strings.Trim(c, alphabet) != "" {
			t.Fatalf("Parse(%q): canonical form %q is not %d alphabet symbols", in, c, codegen.Len)
		}
		if q, err := codegen.Parse(c); err != nil || q != p {
			t.Fatalf("Parse(%q) = %+v, but its canonical form %q parses to %+v, %v", in, p, c, q, err)
		}
	})
}

func FuzzVerify(f *testing.F) {
	ks := seededKeyset(f)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ks.Verify(in)
		if err != nil {
			checkRefusal(t, in, err)
			return
		}
		q, err := ks.Verify(p.String())
		if err != nil || q != p {
			t.Fatalf("%q verifies as %+v, its canonical form %q as %+v, %v", in, p.ID, p.String(), q.ID, err)
		}
	})
}

// FuzzOneSymbol changes one symbol of a genuine code, of each version, to a
// symbol of another value: the result must never verify. (O, I and L are spellings of 0 and 1,
// not other values, so they are not substitutions.)
func FuzzOneSymbol(f *testing.F) {
	ks, _ := vectorKeyset(f)
	key := ks.Primary
	f.Add(uint32(42), uint32(12345), uint8(0), uint8(1))
	f.Add(uint32(1), uint32(1), uint8(10), uint8(31))
	f.Add(uint32(codegen.MaxBatch), uint32(codegen.MaxSerial), uint8(26), uint8(0))
	f.Add(uint32(7), uint32(99), uint8(11), uint8(16))
	f.Fuzz(func(t *testing.T, batch, serial uint32, pos, sym uint8) {
		batch = batch%codegen.MaxBatch + 1
		serial = serial%codegen.MaxSerial + 1
		for _, v := range []uint8{codegen.V1, codegen.V2} {
			s, err := ks.VersionSigner(v, key, batch)
			if err != nil {
				t.Fatal(err)
			}
			code := []byte(s.Code(serial))
			i := int(pos) % codegen.Len
			c := alphabet[sym%32]
			if code[i] == c {
				c = alphabet[(sym+1)%32]
			}
			orig := string(code)
			code[i] = c
			if p, err := ks.Verify(string(code)); err == nil {
				t.Fatalf("%s changed at %d to %s verifies as %+v", orig, i, code, p.ID)
			}
		}
	})
}
