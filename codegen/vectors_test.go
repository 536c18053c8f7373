package codegen_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/yima-dev/yima/codegen"
)

// The vectors pin format version 1. Regenerating them is for adding cases,
// never for making a failing test pass: a change to an existing vector means
// every printed code stops verifying.
var updateVectors = flag.Bool("update-vectors", false, "rewrite testdata/vectors.json")

const vectorsPath = "testdata/vectors.json"

// vectorFile is a vectors file of one format version: K and V are that
// version's key and valid code records.
type vectorFile[K, V any] struct {
	Comment   string          `json:"comment"`
	Key       K               `json:"key"`
	Valid     []V             `json:"valid"`
	Spellings []spellVector   `json:"spellings"`
	Invalid   []invalidVector `json:"invalid"`
}

type vectorFileV1 = vectorFile[vectorKey, validVector]

// readVectors reads the vectors file at path.
func readVectors[F any](tb testing.TB, path string) F {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var vf F
	if err := json.Unmarshal(raw, &vf); err != nil {
		tb.Fatal(err)
	}
	return vf
}

// loadVectors reads the vectors file at path, which write rewrites first
// under -update-vectors, and fails on an empty section.
func loadVectors[K, V any](t *testing.T, path string, write func(*testing.T)) vectorFile[K, V] {
	t.Helper()
	if *updateVectors {
		write(t)
	}
	vf := readVectors[vectorFile[K, V]](t, path)
	if len(vf.Valid) == 0 || len(vf.Spellings) == 0 || len(vf.Invalid) == 0 {
		t.Fatal("vectors file has an empty section")
	}
	return vf
}

// writeVectorFile writes vf to path as indented JSON.
func writeVectorFile(t *testing.T, path string, vf any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(vf); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// codes returns the codes of vf's valid vectors (code reads one).
func (vf vectorFile[K, V]) codes(code func(V) string) []string {
	var out []string
	for _, v := range vf.Valid {
		out = append(out, code(v))
	}
	return out
}

// inputs returns every input vf names: its valid codes (code reads one),
// spellings and invalid inputs.
func (vf vectorFile[K, V]) inputs(code func(V) string) []string {
	in := vf.codes(code)
	for _, v := range vf.Spellings {
		in = append(in, v.Input)
	}
	for _, v := range vf.Invalid {
		in = append(in, v.Input)
	}
	return in
}

// vectorIDs are the (batch, serial) pairs of both versions' valid vectors:
// the ends of each field, alternating bits, and a few ordinary ones.
var vectorIDs = [][2]uint32{
	{1, 1}, {1, 2}, {1, codegen.MaxSerial}, {codegen.MaxBatch, 1}, {codegen.MaxBatch, codegen.MaxSerial},
	{42, 12345}, {1000, 100000000}, {0x55555, 0x2AAAAAA}, {0xAAAAA, 0x5555555}, {314159, 26535897},
}

// otherSymbol returns code with its i-th symbol changed to another symbol
// of a different value.
func otherSymbol(code string, i int) string {
	b := []byte(code)
	if b[i] == 'Z' {
		b[i] = 'Y'
	} else {
		b[i] = 'Z'
	}
	return string(b)
}

// vectorKeyID and vectorSecret are the key of both versions' vectors; the
// id 17 (0b10001) sets both ends of the 5-bit field.
const vectorKeyID = 17

func vectorSecret() []byte {
	secret, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	return secret
}

// vectorIDsOf returns the ids of a version's valid vectors: vectorIDs
// under vectorKeyID.
func vectorIDsOf(version uint8) []codegen.ID {
	ids := make([]codegen.ID, len(vectorIDs))
	for i, bs := range vectorIDs {
		ids[i] = codegen.ID{Version: version, Key: vectorKeyID, Batch: bs[0], Serial: bs[1]}
	}
	return ids
}

// mutator spells a version's codes with its tag function and makes that
// version's invalid codes from one good code (batch 42, serial 12345).
type mutator struct {
	tagOf func(codegen.ID) [codegen.TagBytes]byte
	good  codegen.ID
	code  string // good, spelled
}

func newMutator(version uint8, tagOf func(codegen.ID) [codegen.TagBytes]byte) mutator {
	m := mutator{tagOf: tagOf, good: codegen.ID{Version: version, Key: vectorKeyID, Batch: 42, Serial: 12345}}
	m.code = m.spell(m.good)
	return m
}

// spell returns id's code, correctly tagged.
func (m mutator) spell(id codegen.ID) string { return codegen.EncodeForTest(id, m.tagOf(id)) }

// with returns the good code with fields changed by f, correctly tagged:
// only the check of the field itself can refuse it.
func (m mutator) with(f func(*codegen.ID)) string {
	id := m.good
	f(&id)
	return m.spell(id)
}

// at returns the good code with its i-th symbol changed, under the old tag.
func (m mutator) at(i int) string { return otherSymbol(m.code, i) }

// checkMintsAndVerifies holds ks to one valid vector: it mints code for id,
// and verifies code to id with the tag tagHex.
func checkMintsAndVerifies(t *testing.T, ks *codegen.Keyset, id codegen.ID, code, tagHex string) {
	t.Helper()
	s, err := ks.VersionSigner(id.Version, id.Key, id.Batch)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Code(id.Serial); got != code {
		t.Errorf("VersionSigner(%d, %d, %d).Code(%d) = %s, want %s", id.Version, id.Key, id.Batch, id.Serial, got, code)
	}
	p, err := ks.Verify(code)
	if err != nil || p.ID != id || hex.EncodeToString(p.Tag[:]) != tagHex || p.String() != code {
		t.Errorf("Verify(%s) = %+v %x, %v; want %+v %s", code, p.ID, p.Tag, err, id, tagHex)
	}
}

type vectorKey struct {
	ID        uint8  `json:"id"`
	SecretHex string `json:"secret_hex"`
}

type validVector struct {
	Version     uint8  `json:"version"`
	Key         uint8  `json:"key"`
	Batch       uint32 `json:"batch"`
	Serial      uint32 `json:"serial"`
	MACInputHex string `json:"mac_input_hex"`
	TagHex      string `json:"tag_hex"`
	Code        string `json:"code"`
}

type spellVector struct {
	Input string `json:"input"`
	Code  string `json:"code"`
}

type invalidVector struct {
	Input  string         `json:"input"`
	Reason codegen.Reason `json:"reason"`
	Why    string         `json:"why"`
}

// macInput is the MAC input as docs/code-format.md specifies it, written
// out independently of the package.
func macInput(version, key uint8, batch, serial uint32) []byte {
	m := append([]byte("yima/code\x00"), version, key)
	m = binary.BigEndian.AppendUint32(m, batch)
	return binary.BigEndian.AppendUint32(m, serial)
}

// referenceCode spells the 135 bits of a code as docs/code-format.md says,
// independently of the package: one big number, five bits per symbol, most
// significant first.
func referenceCode(version, key uint8, batch, serial uint32, tag []byte) string {
	n := new(big.Int).SetUint64(uint64(version)<<52 | uint64(key)<<47 | uint64(batch)<<27 | uint64(serial))
	n.Lsh(n, 80).Or(n, new(big.Int).SetBytes(tag))
	out := make([]byte, codegen.Len)
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[n.Uint64()&31]
		n.Rsh(n, 5)
	}
	return string(out)
}

func referenceTag(secret, input []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(input)
	return h.Sum(nil)[:codegen.TagBytes]
}

func TestVectors(t *testing.T) {
	vf := loadVectors[vectorKey, validVector](t, vectorsPath, writeVectors)
	check := func(t *testing.T) {
		secret, _ := hex.DecodeString(vf.Key.SecretHex)
		ks, err := codegen.NewKeysetFromSecret(vf.Key.ID, secret)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vf.Valid {
			in := macInput(v.Version, v.Key, v.Batch, v.Serial)
			if got := hex.EncodeToString(in); got != v.MACInputHex {
				t.Errorf("MAC input of %+v = %s, vector says %s", v, got, v.MACInputHex)
			}
			tag := referenceTag(secret, in)
			if got := hex.EncodeToString(tag); got != v.TagHex {
				t.Errorf("crypto/hmac tag of %+v = %s, vector says %s", v, got, v.TagHex)
			}
			if got := referenceCode(v.Version, v.Key, v.Batch, v.Serial, tag); got != v.Code {
				t.Errorf("reference spelling of %+v = %s, vector says %s", v, got, v.Code)
			}
			checkMintsAndVerifies(t, ks, codegen.ID{Version: v.Version, Key: v.Key, Batch: v.Batch, Serial: v.Serial}, v.Code, v.TagHex)
		}
		checkSpellingsAndRefusals(t, ks, vf.Spellings, vf.Invalid)
	}
	t.Run("fast", func(t *testing.T) {
		if !codegen.FastMAC() {
			t.Fatal("the fast HMAC path failed its self-check on this Go release")
		}
		check(t)
	})
	t.Run("crypto-hmac", func(t *testing.T) {
		defer codegen.SetFastMAC(false)()
		check(t)
	})
}

// checkSpellingsAndRefusals holds ks to a vector file's spellings and
// invalid inputs.
func checkSpellingsAndRefusals(t *testing.T, ks *codegen.Keyset, spellings []spellVector, invalid []invalidVector) {
	t.Helper()
	for _, v := range spellings {
		p, err := ks.Verify(v.Input)
		if err != nil || p.String() != v.Code {
			t.Errorf("Verify(%q) = %s, %v; want %s", v.Input, p.String(), err, v.Code)
		}
	}
	for _, v := range invalid {
		_, err := ks.Verify(v.Input)
		var ce *codegen.Error
		if !errors.As(err, &ce) || ce.Reason != v.Reason {
			t.Errorf("Verify(%q) (%s) = %v, want reason %s", v.Input, v.Why, err, v.Reason)
		}
	}
}

// spellingsOf returns the spellings of the first of codes that has both 0
// and 1 in it, which shows every substitution.
func spellingsOf(t *testing.T, codes []string) []spellVector {
	var c string
	for _, code := range codes {
		if strings.Contains(code, "0") && strings.Contains(code, "1") {
			c = code
			break
		}
	}
	if c == "" {
		t.Fatal("no vector code contains both 0 and 1")
	}
	return []spellVector{
		{c, c},
		{strings.ToLower(c), c},
		{strings.ReplaceAll(c, "0", "O"), c},
		{strings.ReplaceAll(strings.ToLower(c), "0", "o"), c},
		{strings.ReplaceAll(c, "1", "I"), c},
		{strings.ReplaceAll(c, "1", "l"), c},
		{c[:5] + "-" + c[5:11] + "-" + c[11:19] + "-" + c[19:], c},
		{c[:9] + " " + c[9:18] + " " + c[18:], c},
		{"-" + strings.Join(strings.Split(c, ""), "-"), c}, // 54 bytes: the longest input accepted
	}
}

// writeVectors generates the vectors file. It builds invalid codes with
// correct tags where it can, so that an implementation that skips a check
// (version, zero fields) is caught rather than saved by the tag.
func writeVectors(t *testing.T) {
	secret := vectorSecret()
	vf := vectorFileV1{
		Comment: "yima code format version 1, see docs/code-format.md. Valid codes must mint and verify to exactly these fields; " +
			"spellings must verify to the canonical code; invalid inputs must be refused with the reason given.",
		Key: vectorKey{ID: vectorKeyID, SecretHex: hex.EncodeToString(secret)},
	}
	tagOf := func(id codegen.ID) [codegen.TagBytes]byte { return codegen.TagForTest(secret, id) }
	m := newMutator(codegen.V1, tagOf)
	for _, id := range vectorIDsOf(codegen.V1) {
		in := macInput(id.Version, id.Key, id.Batch, id.Serial)
		tag := referenceTag(secret, in)
		vf.Valid = append(vf.Valid, validVector{id.Version, id.Key, id.Batch, id.Serial, hex.EncodeToString(in), hex.EncodeToString(tag), m.spell(id)})
	}
	vf.Spellings = spellingsOf(t, vf.codes(func(v validVector) string { return v.Code }))
	good, g, with, at := m.good, m.code, m.with, m.at
	vf.Invalid = []invalidVector{
		{"", codegen.ReasonMalformed, "empty"},
		{g[:26], codegen.ReasonMalformed, "26 symbols"},
		{g + "0", codegen.ReasonMalformed, "28 symbols"},
		{"U" + g[1:], codegen.ReasonMalformed, "U is not in the alphabet"},
		{g[:26] + "*", codegen.ReasonMalformed, "* is not in the alphabet"},
		{g[:26] + "\u0417", codegen.ReasonMalformed, "non-ASCII look-alike"},
		{"--" + strings.Join(strings.Split(g, ""), "-"), codegen.ReasonMalformed, "55 bytes: longer than 54 before decoding"},
		{with(func(id *codegen.ID) { id.Key = 0 }), codegen.ReasonMalformed, "key id 0, correctly tagged"},
		{with(func(id *codegen.ID) { id.Batch = 0 }), codegen.ReasonMalformed, "batch 0, correctly tagged"},
		{with(func(id *codegen.ID) { id.Serial = 0 }), codegen.ReasonMalformed, "serial 0, correctly tagged"},
		{with(func(id *codegen.ID) { id.Version = 0 }), codegen.ReasonVersion, "version 0, correctly tagged"},
		{with(func(id *codegen.ID) { id.Version = 3 }), codegen.ReasonVersion, "version 3, correctly tagged"},
		{with(func(id *codegen.ID) { id.Version = 7 }), codegen.ReasonVersion, "version 7, correctly tagged"},
		{with(func(id *codegen.ID) { id.Version = 3; id.Serial = 0 }), codegen.ReasonVersion, "version is checked before zero fields"},
		{with(func(id *codegen.ID) { id.Key = 5 }), codegen.ReasonUnknownKey, "key 5 is not in the keyset"},
		{at(0), codegen.ReasonVersion, "first symbol changed: version bits change"},
		{at(5), codegen.ReasonForged, "batch symbol changed, old tag"},
		{at(10), codegen.ReasonForged, "serial symbol changed, old tag"},
		{at(11), codegen.ReasonForged, "first tag symbol changed"},
		{at(26), codegen.ReasonForged, "last tag symbol changed"},
		{codegen.EncodeForTest(good, tagOf(codegen.ID{Version: 1, Key: vectorKeyID, Batch: 42, Serial: 12346})), codegen.ReasonForged, "tag of the next serial"},
		{codegen.EncodeForTest(good, [codegen.TagBytes]byte{}), codegen.ReasonForged, "all-zero tag"},
	}
	writeVectorFile(t, vectorsPath, vf)
}
