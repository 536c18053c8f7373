package reward

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
)

// Roles a token can hold. A data directory's admin token is not stored: it
// lives in its admin.token file. Admin tokens that are records (yima token
// create --role admin) are how a cluster's admins are let in, every node
// reading them from the shared database.
const (
	RoleAdmin   = "admin"
	RoleApp     = "app"
	RoleFactory = "factory"
	RoleGuide   = "guide"
	// RoleMetrics reads /metrics and nothing else: what a Prometheus
	// scraper holds, so that it need not hold the admin token.
	RoleMetrics = "metrics"
	// RoleManager manages one store (its Subject): its enrolment QR, the
	// requests it brought, its guides; nothing else (CreateManagerToken).
	RoleManager = "manager"
)

// NewSecret returns a fresh unguessable token secret (192 bits).
func NewSecret() string {
	b := make([]byte, 24)
	rand.Read(b) // never fails on supported platforms
	return "yt_" + base64.RawURLEncoding.EncodeToString(b)
}

// CreateToken stores a new token for role and returns its secret, which is
// shown once and never stored in clear. subject is the guide of a guide
// token, the factory of a factory token, the store of a manager token.
func (e *Engine) CreateToken(role, name, subject string) (string, error) {
	if role == RoleManager {
		return e.CreateManagerToken(name, subject)
	}
	if !slices.Contains([]string{RoleAdmin, RoleApp, RoleFactory, RoleGuide, RoleMetrics}, role) {
		return "", Errorf(CodeInvalidRequest, "role %q is not one of admin, app, factory, guide, manager, metrics", role)
	}
	if err := checkID("name", name, false); err != nil {
		return "", err
	}
	if role == RoleAdmin && subject != "" {
		return "", Errorf(CodeInvalidRequest, "an admin token names no guide or factory")
	}
	secret := NewSecret()
	err := e.update(func(tx Tx) error {
		putToken(tx, secret, Token{Role: role, Name: name, Subject: subject, Created: e.now()})
		return nil
	})
	return secret, err
}

// MinAdoptedSecret is the shortest secret AdoptToken takes: a guessable
// one would open what its role opens.
const MinAdoptedSecret = 16

// AdoptToken stores a token for role under a secret made elsewhere: the
// admin.token file of a data directory whose keys move into a shared
// database (yima keys upload), so that the admin's scripts keep working
// on every node. A token already stored under the secret is returned as it
// is.
func (e *Engine) AdoptToken(secret, role, name string) (*Token, error) {
	if len(secret) < MinAdoptedSecret {
		return nil, Errorf(CodeInvalidRequest, "a token's secret has at least %d characters", MinAdoptedSecret)
	}
	if !slices.Contains([]string{RoleAdmin, RoleApp, RoleFactory, RoleMetrics}, role) {
		return nil, Errorf(CodeInvalidRequest, "role %q is not one of admin, app, factory, metrics", role)
	}
	var out *Token
	err := e.update(func(tx Tx) error {
		t, found, err := getToken(tx, secret)
		if err != nil || found {
			out = t
			return err
		}
		t = &Token{Role: role, Name: name, Created: e.now()}
		putToken(tx, secret, *t)
		t.ID = TokenID(secret)
		out = t
		return nil
	})
	return out, err
}

// CreateFactoryToken is CreateToken for the API and the CLI: a factory
// token may name the factory it is for, whose batches it then shares with
// the factory's other tokens (see Owner); a manager token names the store
// it manages (CreateManagerToken). Other roles name none.
func (e *Engine) CreateFactoryToken(role, name, factory string) (string, error) {
	if role == RoleManager {
		return e.CreateToken(role, name, factory)
	}
	if factory != "" && role != RoleFactory {
		return "", Errorf(CodeInvalidRequest, "only a factory token names a factory; leave factory out for a %s token", role)
	}
	if err := checkID("factory", factory, false); err != nil {
		return "", err
	}
	return e.CreateToken(role, name, factory)
}

// Token looks up a token by its secret; nil when unknown.
func (e *Engine) Token(secret string) (*Token, error) {
	t, _, err := getToken(e.db, secret)
	return t, wrapStore(err)
}

// Tokens lists the stored tokens, by id: never their secrets, which are
// not stored. A data directory's admin.token is not among them.
func (e *Engine) Tokens() ([]Token, error) {
	ts, err := listTokens(e.db)
	return ts, wrapStore(err)
}

// RevokeToken deletes the token named id (as Tokens lists it): from the
// next request on, its secret is unknown. It returns the revoked token.
// A guide token's guide stays, with its members, ledger and commissions;
// only that credential ends.
func (e *Engine) RevokeToken(id string) (*Token, error) {
	key, found, err := tokenKeyOf(e.db, id)
	switch {
	case errors.Is(err, errBadTokenID):
		return nil, Errorf(CodeInvalidRequest, "%q is not a token id: ids are 16 hex digits, as yima token list shows them", id)
	case err != nil:
		return nil, wrapStore(err)
	case !found:
		return nil, Errorf(CodeNotFound, "no token %s (yima token list shows the ids)", id)
	}
	var t *Token
	err = e.update(func(tx Tx) error {
		var err error
		t, found, err = deleteToken(tx, key)
		if err == nil && !found {
			return Errorf(CodeNotFound, "token %s was revoked already", id)
		}
		return err
	})
	return t, err
}
