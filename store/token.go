package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Token is an API credential. Only the SHA-256 of the secret is stored, so a
// copy of the database does not hand out access.
type Token struct {
	// ID names the token in lists and revocations without giving it away
	// (see TokenID). It is derived from the key, never stored.
	ID      string    `json:"id,omitempty"`
	Role    string    `json:"role"`
	Name    string    `json:"name,omitempty"`
	Subject string    `json:"subject,omitempty"` // the guide a guide token belongs to
	Created time.Time `json:"created"`
}

var tokenPrefix = []byte("tok/")

// tokenIDBytes is how much of a secret's hash its id shows: 64 bits, enough
// that two tokens of one brand never share an id, far too little to find
// the secret from.
const tokenIDBytes = 8

func tokenKey(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return append(append([]byte(nil), tokenPrefix...), sum[:]...)
}

// TokenID is the id of the token whose secret is given: the first 8 bytes
// of the secret's SHA-256, in hex.
func TokenID(secret string) string { return idOfKey(tokenKey(secret)) }

func idOfKey(key []byte) string {
	return hex.EncodeToString(key[len(tokenPrefix):][:tokenIDBytes])
}

// PutToken stores t under the hash of secret inside a decision.
func PutToken(tx ReadWriter, secret string, t Token) error {
	t.ID = ""
	raw, err := json.Marshal(t)
	if err != nil {
		return err
	}
	tx.Put(tokenKey(secret), raw)
	return nil
}

// GetToken looks up the token whose secret is given.
func GetToken(r Reader, secret string) (*Token, error) {
	key := tokenKey(secret)
	raw, err := r.Get(key)
	if err != nil {
		return nil, err
	}
	return decodeToken(key, raw)
}

func decodeToken(key, raw []byte) (*Token, error) {
	var t Token
	if err := json.Unmarshal(raw, &t); err != nil || len(key) != len(tokenPrefix)+sha256.Size {
		return nil, errors.New("store: token record is corrupt")
	}
	t.ID = idOfKey(key)
	return &t, nil
}

// Scanner reads records by prefix; *DB and *Snapshot satisfy it.
type Scanner interface {
	Scan(prefix, start []byte, fn func(key, value []byte) bool) error
}

// ListTokens returns every stored token, in id order.
func ListTokens(s Scanner) ([]Token, error) {
	var out []Token
	var derr error
	err := s.Scan(tokenPrefix, nil, func(k, v []byte) bool {
		var t *Token
		if t, derr = decodeToken(k, v); derr != nil {
			return false
		}
		out = append(out, *t)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// ErrBadTokenID is returned for a token id that is not 16 hex digits.
var ErrBadTokenID = errors.New("store: a token id is 16 hex digits")

// TokenKey finds the key of the token named id, or returns ErrNotFound.
func TokenKey(s Scanner, id string) ([]byte, error) {
	prefix, err := hex.DecodeString(id)
	if err != nil || len(prefix) != tokenIDBytes {
		return nil, fmt.Errorf("%w, not %q", ErrBadTokenID, id)
	}
	var key []byte
	err = s.Scan(append(append([]byte(nil), tokenPrefix...), prefix...), nil, func(k, _ []byte) bool {
		key = append([]byte(nil), k...)
		return false
	})
	if err == nil && key == nil {
		err = fmt.Errorf("%w: token %s", ErrNotFound, id)
	}
	return key, err
}

// DeleteToken removes the token record at key inside a decision, returning
// it, or ErrNotFound when it is gone.
func DeleteToken(tx ReadWriter, key []byte) (*Token, error) {
	raw, err := tx.Get(key)
	if err != nil {
		return nil, err
	}
	t, err := decodeToken(key, raw)
	if err != nil {
		return nil, err
	}
	tx.Delete(key)
	return t, nil
}
