package codegen

// Internals exposed to the external test package only.

// EncodeForTest spells any id and tag, including ones the Signer refuses to
// make (version 2, serial 0), so that tests can build invalid codes.
func EncodeForTest(id ID, tag [TagBytes]byte) string { return string(appendCode(nil, id, &tag)) }

// TagForTest computes the tag of any id under secret.
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
