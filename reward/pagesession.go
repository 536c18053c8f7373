package reward

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	json "github.com/segmentio/encoding/json"
)

// Page sessions are the browsers signed in with a token: the admin's
// dashboard, a guide's desk and counter page. They are records, so that
// every node of a cluster knows them: a browser signed in through one node
// is signed in on all, and signing out through one ends it on all.
//
// A session's record is filed under the SHA-256 of its id (the cookie's
// value) and holds the SHA-256 of the token it signed in with, never the
// id or the token: a copy of the database signs no one in. Looking a
// session up reads the token's record again, so a revoked token ends its
// sessions at once.

var sessionPrefix = []byte("ses/")

func sessionKey(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return hex.AppendEncode(append([]byte(nil), sessionPrefix...), sum[:])
}

type pageSession struct {
	// Token is the hex SHA-256 of the token's secret.
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// StartPageSession records a browser signed in with the token whose secret
// is given, for ttl, and returns the session's id, for its cookie. The
// caller has checked the token.
func (e *Engine) StartPageSession(secret string, ttl time.Duration) (string, error) {
	id := NewSecret()
	sum := sha256.Sum256([]byte(secret))
	err := e.update(func(tx Tx) error {
		putJSON(tx, sessionKey(id), pageSession{Token: hex.EncodeToString(sum[:]), Expires: e.now().Add(ttl)})
		return nil
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// PageSession returns the SHA-256 of the token session id signed in with;
// ok is false when there is no such session or it expired.
func (e *Engine) PageSession(id string) (token [32]byte, ok bool, err error) {
	if id == "" {
		return token, false, nil
	}
	raw, found, err := e.db.Get(sessionKey(id))
	if err != nil || !found {
		return token, false, wrapStore(err)
	}
	var s pageSession
	if json.Unmarshal(raw, &s) != nil || !e.now().Before(s.Expires) {
		return token, false, nil
	}
	if n, err := hex.Decode(token[:], []byte(s.Token)); err != nil || n != len(token) {
		return token, false, nil
	}
	return token, true, nil
}

// EndPageSession deletes session id (signing out): every node refuses it
// from then on.
func (e *Engine) EndPageSession(id string) error {
	if id == "" {
		return nil
	}
	return e.update(func(tx Tx) error {
		tx.Delete(sessionKey(id))
		return nil
	})
}

// TokenByHash looks a token up by the SHA-256 of its secret, as a page
// session holds it; nil when there is none (revoked).
func (e *Engine) TokenByHash(sum [32]byte) (*Token, error) {
	key := append(append([]byte(nil), tokenPrefix...), sum[:]...)
	raw, found, err := e.db.Get(key)
	if err != nil || !found {
		return nil, wrapStore(err)
	}
	t, err := decodeToken(key, raw)
	return t, wrapStore(err)
}

// EndExpiredPageSessions deletes the sessions that expired (they are
// refused already) and returns how many.
func (e *Engine) EndExpiredPageSessions() (int, error) {
	now := e.now()
	var old [][]byte
	err := e.db.Scan(sessionPrefix, nil, func(k, v []byte) bool {
		var s pageSession
		if json.Unmarshal(v, &s) != nil || !now.Before(s.Expires) {
			old = append(old, append([]byte(nil), k...))
		}
		return true
	})
	if err != nil || len(old) == 0 {
		return 0, wrapStore(err)
	}
	err = e.update(func(tx Tx) error {
		for _, k := range old {
			tx.Delete(k)
		}
		return nil
	})
	return len(old), err
}
