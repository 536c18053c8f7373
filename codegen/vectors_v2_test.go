package codegen_test

import (
	"encoding/hex"
	"testing"

	"github.com/yima-dev/yima/codegen"
)

// The version 2 vectors pin the AES-128-CMAC format as vectors.json pins
// version 1; -update-vectors rewrites both. Each vector is checked against
// the package, against the tests' own AES-CMAC and crypto/hkdf, and, where
// the openssl command exists, against OpenSSL.

const vectorsV2Path = "testdata/vectors-v2.json"

type vectorFileV2 = vectorFile[vectorKeyV2, validVectorV2]

type vectorKeyV2 struct {
	ID        uint8  `json:"id"`
	SecretHex string `json:"secret_hex"`
	AESKeyHex string `json:"aes_key_hex"`
	K1Hex     string `json:"k1_hex"`
	K2Hex     string `json:"k2_hex"`
}

type validVectorV2 struct {
	Version     uint8  `json:"version"`
	Key         uint8  `json:"key"`
	Batch       uint32 `json:"batch"`
	Serial      uint32 `json:"serial"`
	MACInputHex string `json:"mac_input_hex"`
	CMACHex     string `json:"cmac_hex"`
	TagHex      string `json:"tag_hex"`
	Code        string `json:"code"`
}

func TestVectorsV2(t *testing.T) {
	vf := loadVectors[vectorKeyV2, validVectorV2](t, vectorsV2Path, writeVectorsV2)
	secret, _ := hex.DecodeString(vf.Key.SecretHex)
	aesKey := referenceCMACKey(t, secret)
	if got := hex.EncodeToString(aesKey[:]); got != vf.Key.AESKeyHex {
		t.Errorf("crypto/hkdf derives AES key %s, vector says %s", got, vf.Key.AESKeyHex)
	}
	if got := codegen.CMACKeyForTest(secret); got != aesKey {
		t.Errorf("package derives AES key %x, crypto/hkdf %x", got, aesKey)
	}
	_, k1, k2 := referenceCMAC(aesKey, nil)
	if hex.EncodeToString(k1[:]) != vf.Key.K1Hex || hex.EncodeToString(k2[:]) != vf.Key.K2Hex {
		t.Errorf("subkeys %x %x, vector says %s %s", k1, k2, vf.Key.K1Hex, vf.Key.K2Hex)
	}
	ks, err := codegen.NewKeysetFromSecret(vf.Key.ID, secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vf.Valid {
		if v.Version != codegen.V2 {
			t.Errorf("vector %+v is not version 2", v)
		}
		id := codegen.ID{Version: v.Version, Key: v.Key, Batch: v.Batch, Serial: v.Serial}
		in := referenceMACInputV2(id)
		if got := hex.EncodeToString(in); got != v.MACInputHex {
			t.Errorf("MAC input of %+v = %s, vector says %s", v, got, v.MACInputHex)
		}
		mac, _, _ := referenceCMAC(aesKey, in)
		if got := hex.EncodeToString(mac[:]); got != v.CMACHex {
			t.Errorf("reference AES-CMAC of %+v = %s, vector says %s", v, got, v.CMACHex)
		}
		if v.TagHex != v.CMACHex[:2*codegen.TagBytes] {
			t.Errorf("vector %+v: tag is not the first %d bytes of the CMAC", v, codegen.TagBytes)
		}
		if got := referenceCode(v.Version, v.Key, v.Batch, v.Serial, mac[:codegen.TagBytes]); got != v.Code {
			t.Errorf("reference spelling of %+v = %s, vector says %s", v, got, v.Code)
		}
		checkMintsAndVerifies(t, ks, id, v.Code, v.TagHex)
	}
	checkSpellingsAndRefusals(t, ks, vf.Spellings, vf.Invalid)
	t.Run("openssl", func(t *testing.T) {
		for _, v := range vf.Valid[:3] {
			in, _ := hex.DecodeString(v.MACInputHex)
			if got := opensslCMAC(t, aesKey, in); hex.EncodeToString(got[:]) != v.CMACHex {
				t.Errorf("openssl AES-CMAC of %s = %x, vector says %s", v.MACInputHex, got, v.CMACHex)
			}
		}
	})
}

// writeVectorsV2 generates testdata/vectors-v2.json from the tests' own
// reference implementation, not from the package, with the key and ids of
// the version 1 vectors.
func writeVectorsV2(t *testing.T) {
	secret := vectorSecret()
	aesKey := referenceCMACKey(t, secret)
	_, k1, k2 := referenceCMAC(aesKey, nil)
	vf := vectorFileV2{
		Comment: "yima code format version 2 (AES-128-CMAC), see docs/code-format.md. Valid codes must mint and verify to exactly these fields; " +
			"spellings must verify to the canonical code; invalid inputs must be refused with the reason given.",
		Key: vectorKeyV2{ID: vectorKeyID, SecretHex: hex.EncodeToString(secret), AESKeyHex: hex.EncodeToString(aesKey[:]),
			K1Hex: hex.EncodeToString(k1[:]), K2Hex: hex.EncodeToString(k2[:])},
	}
	tagOf := func(id codegen.ID) (tag [codegen.TagBytes]byte) {
		mac, _, _ := referenceCMAC(aesKey, referenceMACInputV2(id))
		copy(tag[:], mac[:])
		return tag
	}
	m := newMutator(codegen.V2, tagOf)
	for _, id := range vectorIDsOf(codegen.V2) {
		in := referenceMACInputV2(id)
		mac, _, _ := referenceCMAC(aesKey, in)
		vf.Valid = append(vf.Valid, validVectorV2{id.Version, id.Key, id.Batch, id.Serial,
			hex.EncodeToString(in), hex.EncodeToString(mac[:]), hex.EncodeToString(mac[:codegen.TagBytes]), m.spell(id)})
	}
	vf.Spellings = spellingsOf(t, vf.codes(func(v validVectorV2) string { return v.Code }))
	good, g, with, at := m.good, m.code, m.with, m.at
	v1 := good
	v1.Version = codegen.V1
	mac, _, _ := referenceCMAC(aesKey, referenceMACInputV2(good))
	vf.Invalid = []invalidVector{
		{g[:26], codegen.ReasonMalformed, "26 symbols"},
		{with(func(id *codegen.ID) { id.Key = 0 }), codegen.ReasonMalformed, "key id 0, correctly tagged"},
		{with(func(id *codegen.ID) { id.Batch = 0 }), codegen.ReasonMalformed, "batch 0, correctly tagged"},
		{with(func(id *codegen.ID) { id.Serial = 0 }), codegen.ReasonMalformed, "serial 0, correctly tagged"},
		{with(func(id *codegen.ID) { id.Version = 3 }), codegen.ReasonVersion, "version 3, correctly tagged"},
		{with(func(id *codegen.ID) { id.Version = 3; id.Serial = 0 }), codegen.ReasonVersion, "version is checked before zero fields"},
		{with(func(id *codegen.ID) { id.Key = 5 }), codegen.ReasonUnknownKey, "key 5 is not in the keyset"},
		{with(func(id *codegen.ID) { id.Version = codegen.V1 }), codegen.ReasonForged, "version 1 with a version 2 tag"},
		{codegen.EncodeForTest(good, codegen.TagForTest(secret, v1)), codegen.ReasonForged, "version 2 with the version 1 (HMAC) tag of the same fields"},
		{codegen.EncodeForTest(good, [codegen.TagBytes]byte(mac[16-codegen.TagBytes:])), codegen.ReasonForged, "the last 10 bytes of the CMAC instead of the first"},
		{codegen.EncodeForTest(good, tagOf(codegen.ID{Version: codegen.V2, Key: vectorKeyID, Batch: 42, Serial: 12346})), codegen.ReasonForged, "tag of the next serial"},
		{codegen.EncodeForTest(good, [codegen.TagBytes]byte{}), codegen.ReasonForged, "all-zero tag"},
		{at(5), codegen.ReasonForged, "batch symbol changed, old tag"},
		{at(10), codegen.ReasonForged, "serial symbol changed, old tag"},
		{at(11), codegen.ReasonForged, "first tag symbol changed"},
		{at(26), codegen.ReasonForged, "last tag symbol changed"},
	}
	writeVectorFile(t, vectorsV2Path, vf)
}
