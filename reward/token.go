package reward

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"

	"github.com/yima-dev/yima/store"
)

// Roles a token can hold. The admin token is not stored: it lives in the
// data directory's admin.token file.
const (
	RoleAdmin   = "admin"
	RoleApp     = "app"
	RoleFactory = "factory"
	RoleGuide   = "guide"
)

// NewSecret returns a fresh unguessable token secret (192 bits).
func NewSecret() string {
	b := make([]byte, 24)
	rand.Read(b) // never fails on supported platforms
	return "yt_" + base64.RawURLEncoding.EncodeToString(b)
}

// CreateToken stores a new token for role and returns its secret, which is
// shown once and never stored in clear.
func (e *Engine) CreateToken(role, name, subject string) (string, error) {
	if !slices.Contains([]string{RoleApp, RoleFactory, RoleGuide}, role) {
		return "", Errorf(CodeInvalidRequest, "role %q is not one of app, factory, guide", role)
	}
	if err := checkID("name", name, false); err != nil {
		return "", err
	}
	secret := NewSecret()
	err := e.update(func(tx Tx) error {
		return store.PutToken(tx, secret, store.Token{Role: role, Name: name, Subject: subject, Created: e.now()})
	})
	return secret, err
}

// Token looks up a token by its secret; nil when unknown.
func (e *Engine) Token(secret string) (*store.Token, error) {
	t, err := store.GetToken(e.db, secret)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return t, wrapStore(err)
}
