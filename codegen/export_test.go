package codegen

// Internals exposed to the external test package only.

// EncodeForTest spells any id and tag, including ones the Signer refuses to
// make (version 2, serial 0), so that tests can build invalid codes.
func EncodeForTest(id ID, tag [TagBytes]byte) string { return string(appendCode(nil, id, &tag)) }

// TagForTest computes the version 1 tag of any id under secret.
func TagForTest(secret []byte, id ID) (tag [TagBytes]byte) {
	newMACState(newPadStates(secret), fastMAC).tag(id, &tag)
	return tag
}

// FastMAC reports whether the pre-padded block path is in use.
func FastMAC() bool { return fastMAC }

// SetFastMAC switches the fast path for new signers and keysets; the
// returned function restores the previous setting.
func SetFastMAC(on bool) (restore func()) {
	old := fastMAC
	fastMAC = on
	return func() { fastMAC = old }
}

// TagV2ForTest computes the version 2 tag of any id under secret.
func TagV2ForTest(secret []byte, id ID) (tag [TagBytes]byte) {
	newCMACState(newCMACKey(deriveCMACKey(secret))).tag(id, &tag)
	return tag
}

// CMACForTest is the general AES-128-CMAC of msg (RFC 4493 §2.4) and the
// subkeys of key (§2.3).
func CMACForTest(key [16]byte, msg []byte) (mac, k1, k2 [16]byte) {
	c := newCMACKey(key)
	return c.sum(msg), c.k1, c.k2
}

// CMACKeyForTest is the AES key derived from a keyset secret.
func CMACKeyForTest(secret []byte) [16]byte { return deriveCMACKey(secret) }

// MACInputV2ForTest is the version 2 MAC input of id.
func MACInputV2ForTest(id ID) (m [16]byte) {
	macInputV2(&m, id)
	return m
}
