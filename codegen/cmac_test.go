package codegen_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
)

// rfc4493 are the examples of RFC 4493 §4: AES-128 key
// 2b7e151628aed2a6abf7158809cf4f3c and prefixes of one 64-byte message.
var rfc4493 = struct {
	key, k1, k2, msg string
	macs             map[int]string // message length: AES-CMAC
}{
	key: "2b7e151628aed2a6abf7158809cf4f3c",
	k1:  "fbeed618357133667c85e08f7236a8de",
	k2:  "f7ddac306ae266ccf90bc11ee46d513b",
	msg: "6bc1bee22e409f96e93d7e117393172a" + "ae2d8a571e03ac9c9eb76fac45af8e51" +
		"30c81c46a35ce411e5fbc1191a0a52ef" + "f69f2445df4f9b17ad2b417be66c3710",
	macs: map[int]string{
		0:  "bb1d6929e95937287fa37d129b756746",
		16: "070a16b46b4d4144f79bdd9dd04a287c",
		40: "dfa66747de9ae63030ca32611497c827",
		64: "51f0bebf7e3b9d92fc49741779363cfe",
	},
}

func unhex16(tb testing.TB, s string) (b [16]byte) {
	tb.Helper()
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != 16 {
		tb.Fatalf("%q is not 16 bytes of hex", s)
	}
	copy(b[:], raw)
	return b
}

// referenceCMAC is AES-CMAC written out a second way, from RFC 4493's
// definitions and not from the package: subkeys by big-number arithmetic in
// GF(2^128), the MAC as the last block of AES-CBC with a zero IV over the
// prepared message.
func referenceCMAC(key [16]byte, msg []byte) (mac, k1, k2 [16]byte) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err)
	}
	var l [16]byte
	block.Encrypt(l[:], make([]byte, 16))
	mod := new(big.Int).Lsh(big.NewInt(1), 128)
	poly := new(big.Int).Or(mod, big.NewInt(0x87)) // x^128 + x^7 + x^2 + x + 1
	dbl := func(in []byte) (out [16]byte) {
		n := new(big.Int).Lsh(new(big.Int).SetBytes(in), 1)
		if n.Cmp(mod) >= 0 {
			n.Xor(n, poly)
		}
		n.FillBytes(out[:])
		return out
	}
	k1 = dbl(l[:])
	k2 = dbl(k1[:])
	m := append([]byte(nil), msg...)
	sub := k1
	if len(m) == 0 || len(m)%16 != 0 {
		m = append(m, 0x80)
		for len(m)%16 != 0 {
			m = append(m, 0)
		}
		sub = k2
	}
	for i := range 16 {
		m[len(m)-16+i] ^= sub[i]
	}
	out := make([]byte, len(m))
	cipher.NewCBCEncrypter(block, make([]byte, 16)).CryptBlocks(out, m)
	copy(mac[:], out[len(out)-16:])
	return mac, k1, k2
}

// opensslCMAC asks the openssl command for AES-128-CMAC of msg. It skips the
// test only when there is no openssl; an openssl that cannot compute a CMAC
// fails it.
func opensslCMAC(t *testing.T, key [16]byte, msg []byte) [16]byte {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl command to check AES-CMAC against")
	}
	hexKey := hex.EncodeToString(key[:])
	tries := [][]string{
		{"mac", "-cipher", "AES-128-CBC", "-macopt", "hexkey:" + hexKey, "CMAC"},                       // OpenSSL 3
		{"dgst", "-mac", "cmac", "-macopt", "cipher:aes-128-cbc", "-macopt", "hexkey:" + hexKey, "-r"}, // 1.1
	}
	var errs []string
	for _, args := range tries {
		cmd := exec.Command(bin, args...)
		cmd.Stdin = bytes.NewReader(msg)
		out, err := cmd.Output()
		if err != nil {
			errs = append(errs, strings.Join(args[:1], " ")+": "+err.Error())
			continue
		}
		fields := strings.Fields(string(out))
		if len(fields) > 0 {
			if raw, err := hex.DecodeString(fields[0]); err == nil && len(raw) == 16 {
				return [16]byte(raw)
			}
		}
		errs = append(errs, strings.Join(args[:1], " ")+": unexpected output "+string(out))
	}
	t.Fatalf("openssl computes no AES-CMAC: %s", strings.Join(errs, "; "))
	return [16]byte{}
}

func TestCMACRFC4493(t *testing.T) {
	key := unhex16(t, rfc4493.key)
	msg, _ := hex.DecodeString(rfc4493.msg)
	for n, want := range rfc4493.macs {
		mac, k1, k2 := codegen.CMACForTest(key, msg[:n])
		if got := hex.EncodeToString(mac[:]); got != want {
			t.Errorf("AES-CMAC of the first %d bytes = %s, RFC 4493 says %s", n, got, want)
		}
		if hex.EncodeToString(k1[:]) != rfc4493.k1 || hex.EncodeToString(k2[:]) != rfc4493.k2 {
			t.Errorf("subkeys %x %x, RFC 4493 says %s %s", k1, k2, rfc4493.k1, rfc4493.k2)
		}
		// The checks of the other implementations are themselves checked.
		if ref, rk1, rk2 := referenceCMAC(key, msg[:n]); hex.EncodeToString(ref[:]) != want ||
			hex.EncodeToString(rk1[:]) != rfc4493.k1 || hex.EncodeToString(rk2[:]) != rfc4493.k2 {
			t.Errorf("the tests' reference AES-CMAC of %d bytes = %x (subkeys %x %x), RFC 4493 says %s", n, ref, rk1, rk2, want)
		}
	}
	t.Run("openssl", func(t *testing.T) {
		for n, want := range rfc4493.macs {
			if got := opensslCMAC(t, key, msg[:n]); hex.EncodeToString(got[:]) != want {
				t.Errorf("openssl AES-CMAC of %d bytes = %x, RFC 4493 says %s", n, got, want)
			}
		}
	})
}

// TestCMACMatchesOpenSSL compares the package with OpenSSL over random keys
// and messages of every length up to four blocks, and over version 2 tags.
func TestCMACMatchesOpenSSL(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64} {
		key := [16]byte(random(16))
		msg := random(n)
		got, _, _ := codegen.CMACForTest(key, msg)
		if want := opensslCMAC(t, key, msg); got != want {
			t.Fatalf("key %x message %x: AES-CMAC %x, openssl %x", key, msg, got, want)
		}
	}
	for range 8 {
		secret := random(32)
		id := codegen.ID{Version: codegen.V2, Key: uint8(rng.IntN(codegen.MaxKeyID)) + 1,
			Batch: rng.Uint32N(codegen.MaxBatch) + 1, Serial: rng.Uint32N(codegen.MaxSerial) + 1}
		mac := opensslCMAC(t, referenceCMACKey(t, secret), referenceMACInputV2(id))
		if got := codegen.TagV2ForTest(secret, id); !bytes.Equal(got[:], mac[:codegen.TagBytes]) {
			t.Fatalf("secret %x id %+v: tag %x, openssl AES-CMAC %x", secret, id, got, mac)
		}
	}
}

// referenceCMACKey derives a key's AES key with crypto/hkdf, as
// docs/code-format.md specifies it.
func referenceCMACKey(tb testing.TB, secret []byte) [16]byte {
	k, err := hkdf.Expand(sha256.New, secret, "yima/code v2 AES-128-CMAC key", 16)
	if err != nil {
		tb.Fatal(err)
	}
	return [16]byte(k)
}

// referenceMACInputV2 is the version 2 MAC input as docs/code-format.md
// specifies it: "yima/code" and the 55-bit header in 7 bytes, big endian.
func referenceMACInputV2(id codegen.ID) []byte {
	hdr := uint64(id.Version)<<52 | uint64(id.Key)<<47 | uint64(id.Batch)<<27 | uint64(id.Serial)
	return append([]byte("yima/code"), binary.BigEndian.AppendUint64(nil, hdr)[1:]...)
}

// FuzzCMAC holds the package's AES-CMAC to the reference for any key and
// message.
func FuzzCMAC(f *testing.F) {
	key, _ := hex.DecodeString(rfc4493.key)
	msg, _ := hex.DecodeString(rfc4493.msg)
	for n := range rfc4493.macs {
		f.Add(key, msg[:n])
	}
	f.Add(make([]byte, 16), []byte("yima/code\x21\x00\x04\x00\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, key, msg []byte) {
		if len(key) < 16 {
			return
		}
		k := [16]byte(key)
		got, k1, k2 := codegen.CMACForTest(k, msg)
		want, wk1, wk2 := referenceCMAC(k, msg)
		if got != want || k1 != wk1 || k2 != wk2 {
			t.Fatalf("key %x message %x: AES-CMAC %x (subkeys %x %x), reference %x (%x %x)", k, msg, got, k1, k2, want, wk1, wk2)
		}
	})
}

// FuzzTagV2 holds the one-block path that mints codes to the reference
// CMAC, the reference MAC input and crypto/hkdf's key derivation.
func FuzzTagV2(f *testing.F) {
	f.Add([]byte("000102030405060708090a0b0c0d0e0f"), uint8(17), uint32(42), uint32(12345))
	f.Add(make([]byte, 16), uint8(1), uint32(1), uint32(1))
	f.Add(bytes.Repeat([]byte{0xff}, 100), uint8(31), uint32(codegen.MaxBatch), uint32(codegen.MaxSerial))
	f.Fuzz(func(t *testing.T, secret []byte, key uint8, batch, serial uint32) {
		if len(secret) < 16 {
			return
		}
		id := codegen.ID{Version: codegen.V2, Key: key%codegen.MaxKeyID + 1, Batch: batch%codegen.MaxBatch + 1, Serial: serial%codegen.MaxSerial + 1}
		aesKey := referenceCMACKey(t, secret)
		if got := codegen.CMACKeyForTest(secret); got != aesKey {
			t.Fatalf("secret %x: AES key %x, crypto/hkdf %x", secret, got, aesKey)
		}
		in := referenceMACInputV2(id)
		if got := codegen.MACInputV2ForTest(id); !bytes.Equal(got[:], in) {
			t.Fatalf("%+v: MAC input %x, reference %x", id, got, in)
		}
		mac, _, _ := referenceCMAC(aesKey, in)
		if got := codegen.TagV2ForTest(secret, id); !bytes.Equal(got[:], mac[:codegen.TagBytes]) {
			t.Fatalf("secret %x %+v: tag %x, reference AES-CMAC %x", secret, id, got, mac)
		}
	})
}
