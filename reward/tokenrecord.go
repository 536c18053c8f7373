package reward

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	json "github.com/segmentio/encoding/json"
	"github.com/yima-dev/yima/store"
)

// Token is an API credential. Only the SHA-256 of the secret is stored, so a
// copy of the database does not hand out access.
type Token struct {
	// ID names the token in lists and revocations without giving it away
	// (see TokenID). It is derived from the key, never stored.
	ID   string `json:"id,omitempty"`
	Role string `json:"role"`
	Name string `json:"name,omitempty"`
	// Subject is the guide a guide token belongs to, or the factory a
	// factory token was made for.
	Subject string    `json:"subject,omitempty"`
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

// putToken stores t under the hash of secret inside a decision.
func putToken(tx Tx, secret string, t Token) {
	t.ID = ""
	putJSON(tx, tokenKey(secret), t)
}

// getToken looks up the token whose secret is given.
func getToken(r getter, secret string) (*Token, bool, error) {
	key := tokenKey(secret)
	raw, found, err := r.Get(key)
	if err != nil || !found {
		return nil, false, err
	}
	t, err := decodeToken(key, raw)
	return t, err == nil, err
}

func decodeToken(key, raw []byte) (*Token, error) {
	var t Token
	if err := json.Unmarshal(raw, &t); err != nil || len(key) != len(tokenPrefix)+sha256.Size {
		return nil, errors.New("reward: token record is corrupt")
	}
	t.ID = idOfKey(key)
	return &t, nil
}

// listTokens returns every stored token, in id order.
func listTokens(r store.Reader) ([]Token, error) {
	var out []Token
	var derr error
	err := r.Scan(tokenPrefix, nil, func(k, v []byte) bool {
		var t *Token
		if t, derr = decodeToken(k, v); derr != nil {
			return false
		}
		out = append(out, *t)
		return true
	})
	err = firstErr(err, derr)
	return out, err
}

// errBadTokenID is returned for a token id that is not 16 hex digits.
var errBadTokenID = errors.New("reward: a token id is 16 hex digits")

// tokenKeyOf finds the key of the token named id; found is false when no
// token has that id.
func tokenKeyOf(r store.Reader, id string) (key []byte, found bool, err error) {
	prefix, err := hex.DecodeString(id)
	if err != nil || len(prefix) != tokenIDBytes {
		return nil, false, fmt.Errorf("%w, not %q", errBadTokenID, id)
	}
	err = r.Scan(append(append([]byte(nil), tokenPrefix...), prefix...), nil, func(k, _ []byte) bool {
		key = append([]byte(nil), k...)
		return false
	})
	return key, key != nil, err
}

// deleteToken removes the token record at key inside a decision, returning
// it; found is false when it is gone.
func deleteToken(tx Tx, key []byte) (*Token, bool, error) {
	raw, found, err := tx.Get(key)
	if err != nil || !found {
		return nil, false, err
	}
	t, err := decodeToken(key, raw)
	if err != nil {
		return nil, false, err
	}
	tx.Delete(key)
	return t, true, nil
}
