package codegen

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// domain separates version 1 tags from any other use of the same key.
const domain = "yima/code\x00"

// msgLen is the length of the version 1 MAC input: domain, version, key,
// batch, serial.
const msgLen = len(domain) + 1 + 1 + 4 + 4

// domainV2 starts the version 2 MAC input, followed by the 7-byte header:
// one AES block in all.
const domainV2 = "yima/code"

// KeyStatus is the lifecycle state of a signing key.
type KeyStatus string

const (
	// KeyActive keys verify codes; the primary key also signs new batches.
	KeyActive KeyStatus = "active"
	// KeyRetired keys verify nothing: their codes are refused with
	// ReasonRetiredKey.
	KeyRetired KeyStatus = "retired"
)

// Key is one signing key. Secret never leaves the keyset file.
type Key struct {
	ID      uint8     `json:"id"`
	Secret  []byte    `json:"secret"`
	Status  KeyStatus `json:"status"`
	Created time.Time `json:"created"`
	Retired time.Time `json:"retired,omitzero"`
	// PINSecret derives the inner PINs of batches that claim with one
	// (DerivePIN). Keys made before PINs existed have none.
	PINSecret []byte `json:"pin_secret,omitempty"`

	pads  *padStates
	pool  *sync.Pool // of *macState, for Verify of version 1
	cmac  *cmacKey
	pool2 *sync.Pool // of *cmacState, for Verify of version 2
}

// KeyInfo is what may be shown of a key.
type KeyInfo struct {
	ID      uint8     `json:"id"`
	Status  KeyStatus `json:"status"`
	Primary bool      `json:"primary"`
	Created time.Time `json:"created"`
	Retired time.Time `json:"retired,omitzero"`
}

// Keyset holds the signing keys of a deployment. It is safe for concurrent
// Verify calls; Rotate and Retire must not run concurrently with them (the
// CLI changes the file, a server reloads it on start).
type Keyset struct {
	Primary uint8  `json:"primary"`
	Keys    []*Key `json:"keys"`
}

// init derives what signing and verifying need from the secret: the HMAC
// pad states of version 1 and the AES key and subkeys of version 2. Every
// key serves both versions, so rotation and retirement work alike for them.
func (k *Key) init() {
	k.pads = newPadStates(k.Secret)
	k.pool = &sync.Pool{New: func() any { return newMACState(k.pads, fastMAC) }}
	k.cmac = newCMACKey(deriveCMACKey(k.Secret))
	k.pool2 = &sync.Pool{New: func() any { return newCMACState(k.cmac) }}
}

// NewKeyset returns a keyset with one fresh primary key.
func NewKeyset(now time.Time) (*Keyset, error) {
	ks := &Keyset{}
	if _, err := ks.Rotate(now); err != nil {
		return nil, err
	}
	return ks, nil
}

// NewKeysetFromSecret returns a keyset whose only key, the primary, has the
// given id and secret (at least 16 bytes; the secret is copied). It is for
// test vectors and for other tools that must reproduce codes byte for byte;
// a deployment uses NewKeyset and Rotate, which draw secrets from crypto/rand.
func NewKeysetFromSecret(id uint8, secret []byte) (*Keyset, error) {
	k := &Key{ID: id, Secret: append([]byte(nil), secret...), Status: KeyActive}
	ks := &Keyset{Primary: id, Keys: []*Key{k}}
	if err := ks.validate(); err != nil {
		return nil, fmt.Errorf("codegen: %w", err)
	}
	k.init()
	return ks, nil
}

// ErrKeysExhausted is returned by Rotate when all key ids are used.
var ErrKeysExhausted = fmt.Errorf("codegen: all %d key ids are used; the code layout has room for no more", MaxKeyID)

// Rotate adds a fresh key and makes it the primary. Old keys keep verifying.
func (ks *Keyset) Rotate(now time.Time) (*Key, error) {
	var maxID uint8
	for _, k := range ks.Keys {
		maxID = max(maxID, k.ID)
	}
	if maxID >= MaxKeyID {
		return nil, ErrKeysExhausted
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("codegen: reading random key: %w", err)
	}
	pin, err := newPINSecret()
	if err != nil {
		return nil, err
	}
	k := &Key{ID: maxID + 1, Secret: secret, PINSecret: pin, Status: KeyActive, Created: now.UTC()}
	k.init()
	ks.Keys = append(ks.Keys, k)
	ks.Primary = k.ID
	return k, nil
}

// Retire marks a key retired: its codes stop verifying. The primary key cannot
// be retired; rotate first.
func (ks *Keyset) Retire(id uint8, now time.Time) error {
	k := ks.key(id)
	switch {
	case k == nil:
		return fmt.Errorf("codegen: no key with id %d (see yima keys list)", id)
	case id == ks.Primary:
		return fmt.Errorf("codegen: key %d is the primary key; run yima keys rotate first", id)
	case k.Status == KeyRetired:
		return fmt.Errorf("codegen: key %d is already retired", id)
	}
	k.Status = KeyRetired
	k.Retired = now.UTC()
	return nil
}

// List describes the keys without their secrets, in id order.
func (ks *Keyset) List() []KeyInfo {
	out := make([]KeyInfo, 0, len(ks.Keys))
	for _, k := range ks.Keys {
		out = append(out, KeyInfo{ID: k.ID, Status: k.Status, Primary: k.ID == ks.Primary, Created: k.Created, Retired: k.Retired})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (ks *Keyset) key(id uint8) *Key {
	for _, k := range ks.Keys {
		if k.ID == id {
			return k
		}
	}
	return nil
}

var (
	errUnknownKey = &Error{ReasonUnknownKey, "the code names a signing key this deployment does not have"}
	errRetiredKey = &Error{ReasonRetiredKey, "the code's signing key was retired; codes under it are no longer honoured"}
)

// Verify parses text and checks its tag in constant time. It does no I/O. On
// success the result's Canonical field is the code's only spelling.
func (ks *Keyset) Verify(text string) (Parsed, error) {
	p, err := Parse(text)
	if err != nil {
		return p, err
	}
	k := ks.key(p.Key)
	if k == nil {
		return p, errUnknownKey
	}
	var want [TagBytes]byte
	if p.Version == V1 {
		st := k.pool.Get().(*macState)
		st.tag(p.ID, &want)
		k.pool.Put(st)
	} else {
		st := k.pool2.Get().(*cmacState)
		st.tag(p.ID, &want)
		k.pool2.Put(st)
	}
	if !hmac.Equal(want[:], p.Tag[:]) {
		return p, errForged
	}
	// Retirement is checked after the tag, so that "retired" is only ever
	// said of a code the brand really minted.
	if k.Status == KeyRetired {
		return p, errRetiredKey
	}
	return p, nil
}

// Signer mints codes of one version for one batch under one key. A Signer
// is not safe for concurrent use; make one per goroutine.
type Signer struct {
	id ID // Serial unused
	v1 *macState
	v2 *cmacState
}

// Signer returns a signer of version MintVersion for a new batch under key
// id. A batch that exists already is signed in its own version: see
// VersionSigner.
func (ks *Keyset) Signer(keyID uint8, batch uint32) (*Signer, error) {
	return ks.VersionSigner(MintVersion, keyID, batch)
}

// VersionSigner returns a signer of the given code version for batch under
// key id. A batch's codes are all of one version, the one it was minted in,
// so that one item never has two codes. It fails for an unknown version,
// an unknown or retired key, or a batch outside the layout.
func (ks *Keyset) VersionSigner(version, keyID uint8, batch uint32) (*Signer, error) {
	if version != V1 && version != V2 {
		return nil, fmt.Errorf("codegen: code version %d is not %d or %d", version, V1, V2)
	}
	k := ks.key(keyID)
	if k == nil {
		return nil, fmt.Errorf("codegen: no key with id %d", keyID)
	}
	if k.Status != KeyActive {
		return nil, fmt.Errorf("codegen: key %d is retired and signs nothing", keyID)
	}
	if err := CheckRange(batch, 1); err != nil {
		return nil, err
	}
	s := &Signer{id: ID{Version: version, Key: keyID, Batch: batch}}
	if version == V1 {
		s.v1 = newMACState(k.pads, fastMAC)
	} else {
		s.v2 = newCMACState(k.cmac)
	}
	return s, nil
}

// Version is the code version the signer mints.
func (s *Signer) Version() uint8 { return s.id.Version }

// Append appends the canonical code of serial to dst. serial must be within
// 1..MaxSerial; the caller checks the batch's range once, not per code.
func (s *Signer) Append(dst []byte, serial uint32) []byte {
	id := s.id
	id.Serial = serial
	var tag [TagBytes]byte
	if s.v2 != nil {
		s.v2.tag(id, &tag)
	} else {
		s.v1.tag(id, &tag)
	}
	return appendCode(dst, id, &tag)
}

// Code returns the canonical code of serial as a string.
func (s *Signer) Code(serial uint32) string { return string(s.Append(nil, serial)) }

// LoadKeyset reads a keyset file.
func LoadKeyset(path string) (*Keyset, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("codegen: reading keyset: %w", err)
	}
	ks, err := ParseKeyset(raw)
	if err != nil {
		return nil, fmt.Errorf("codegen: keyset %s: %w", path, err)
	}
	return ks, nil
}

// ParseKeyset reads a keyset from the contents of a keyset file.
func ParseKeyset(raw []byte) (*Keyset, error) {
	var ks Keyset
	if err := json.Unmarshal(raw, &ks); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if err := ks.validate(); err != nil {
		return nil, err
	}
	for _, k := range ks.Keys {
		k.init()
	}
	return &ks, nil
}

func (ks *Keyset) validate() error {
	seen := map[uint8]bool{}
	for _, k := range ks.Keys {
		switch {
		case k.ID == 0 || k.ID > MaxKeyID:
			return fmt.Errorf("key id %d out of range 1..%d", k.ID, MaxKeyID)
		case seen[k.ID]:
			return fmt.Errorf("key id %d appears twice", k.ID)
		case len(k.Secret) < 16:
			return fmt.Errorf("key %d has a secret shorter than 128 bits", k.ID)
		case k.Status != KeyActive && k.Status != KeyRetired:
			return fmt.Errorf("key %d has unknown status %q", k.ID, k.Status)
		}
		seen[k.ID] = true
	}
	if p := ks.key(ks.Primary); p == nil || p.Status != KeyActive {
		return errors.New("the primary key is missing or retired")
	}
	return nil
}

// Save writes the keyset to path atomically with mode 0600: a temporary file
// in the same directory, synced, then renamed over the old one.
func (ks *Keyset) Save(path string) error {
	raw, err := json.MarshalIndent(ks, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, append(raw, '\n'), 0o600)
}

// WriteFileAtomic writes data to path through a synced temporary file and a
// rename, so that a reader sees the old content or the new, never a part.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
