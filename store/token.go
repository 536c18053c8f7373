package store

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"
)

// Token is an API credential. Only the SHA-256 of the secret is stored, so a
// copy of the database does not hand out access.
type Token struct {
	Role    string    `json:"role"`
	Name    string    `json:"name,omitempty"`
	Subject string    `json:"subject,omitempty"` // the guide a guide token belongs to
	Created time.Time `json:"created"`
}

var tokenPrefix = []byte("tok/")

func tokenKey(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return append(append([]byte(nil), tokenPrefix...), sum[:]...)
}

// PutToken stores t under the hash of secret inside a decision.
func PutToken(tx ReadWriter, secret string, t Token) error {
	raw, err := json.Marshal(t)
	if err != nil {
		return err
	}
	tx.Put(tokenKey(secret), raw)
	return nil
}

// GetToken looks up the token whose secret is given.
func GetToken(r Reader, secret string) (*Token, error) {
	raw, err := r.Get(tokenKey(secret))
	if err != nil {
		return nil, err
	}
	var t Token
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, errors.New("store: token record is corrupt")
	}
	return &t, nil
}
