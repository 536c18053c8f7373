package reward

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"
)

// Codes of member operations.
const (
	CodeInsufficientPoints Code = "insufficient_points"
	CodeAliasTaken         Code = "alias_taken"
	CodeAlreadyBound       Code = "already_bound"
	CodeUnknownGuide       Code = "unknown_guide"
)

// resolveChecked checks id, named what in a refusal, and resolves it to
// the member it belongs to.
func (e *Engine) resolveChecked(what, id string) (string, error) {
	if err := checkID(what, id, true); err != nil {
		return "", err
	}
	owner, err := resolve(e.db, id)
	return owner, wrapStore(err)
}

// resolve returns the member id an identity stands for: itself, or the
// member it is an alias of (one consumer, many ids: phone, openids, cards).
func resolve(tx getter, id string) (string, error) {
	var owner string
	found, err := getJSON(tx, aliasKey(id), &owner)
	if err != nil || !found {
		return id, err
	}
	return owner, nil
}

// loadMember returns the member an identity stands for, or a fresh record.
func loadMember(tx getter, id string, now time.Time) (*Member, error) {
	canonical, err := resolve(tx, id)
	if err != nil {
		return nil, err
	}
	return loadResolved(tx, canonical, now)
}

// loadResolved is loadMember for an id already resolved.
func loadResolved(tx getter, canonical string, now time.Time) (*Member, error) {
	m := &Member{ID: canonical}
	found, err := getJSON(tx, memberKey(canonical), m)
	if err != nil {
		return nil, err
	}
	if !found {
		m.Created, m.fresh = now, true
	}
	return m, nil
}

// LinkAlias makes alias another identity of member: scans and spends under
// alias credit and debit member. An alias that already has an account of its
// own, or belongs to someone else, is refused: merging balances is an
// operator's decision, not an API side effect. An alias whose record holds
// nothing but a guide binding (a person who joined a guide under that id and
// has never redeemed) is linked: see foldBinding.
func (e *Engine) LinkAlias(member, alias string) (*Member, error) {
	if err := checkIDs(true, [][2]string{{"member", member}, {"alias", alias}}); err != nil {
		return nil, err
	}
	var out *Member
	err := e.update(func(tx Tx) error {
		now := e.now()
		m, err := loadMember(tx, member, now)
		if err != nil {
			return err
		}
		if alias == m.ID {
			return Errorf(CodeInvalidRequest, "%q is the member itself", alias)
		}
		owner, err := resolve(tx, alias)
		if err != nil {
			return err
		}
		if owner != alias {
			if owner == m.ID {
				out = m
				return nil // already linked: idempotent
			}
			return Errorf(CodeAliasTaken, "%q is already an identity of another member", alias)
		}
		var held Member
		if found, err := getJSON(tx, memberKey(alias), &held); err != nil {
			return err
		} else if found {
			if !held.onlyBound() {
				return Errorf(CodeAliasTaken, "%q has an account of its own; merge it by hand before linking", alias)
			}
			if err := foldBinding(tx, m, &held, now); err != nil {
				return err
			}
		}
		putJSON(tx, aliasKey(alias), m.ID)
		m.Aliases = append(m.Aliases, alias)
		if err := putMember(tx, m); err != nil {
			return err
		}
		if err := record(tx, FeedMemberAliasLinked, now, map[string]string{"member": m.ID, "alias": alias}); err != nil {
			return err
		}
		out = m
		return nil
	})
	return out, err
}

// onlyBound reports whether a member record holds nothing but a guide
// binding: no ledger entry, no redemption, no alias. Linking it as an alias
// loses nothing.
func (m *Member) onlyBound() bool {
	return m.Seq == 0 && m.Redemptions == 0 && m.Points == 0 && m.Growth == 0 && len(m.Aliases) == 0 && len(m.Merged) == 0 && m.MergedInto == ""
}

// foldBinding merges held, a record that holds only a binding, into m
// before its id becomes an alias of m. held keeps its record, empty, with
// MergedInto set, as a sign-in's merge leaves one. The member's own binding
// wins (the first binding wins, as in Bind), and the guide loses the id; an
// unbound member takes held's guide, with the time the person joined,
// unless that guide has left or is the member themselves.
func foldBinding(tx Tx, m, held *Member, now time.Time) error {
	guide, boundAt := held.Guide, held.BoundAt
	held.Guide, held.BoundAt, held.MergedInto = "", time.Time{}, m.ID
	putJSON(tx, memberKey(held.ID), held)
	m.Merged = append(m.Merged, held.ID)
	if err := record(tx, FeedMemberMerged, now, MemberMerge{Member: held.ID, Into: m.ID, IDs: []string{held.ID}}); err != nil || guide == "" {
		return err
	}
	if err := unbind(tx, guide, held.ID, now); err != nil {
		return err
	}
	if err := record(tx, FeedMemberBound, now, MemberBinding{Member: held.ID, Previous: guide, Why: "alias"}); err != nil || m.Guide != "" {
		return err
	}
	return bindToGuide(tx, m, guide, boundAt, now, "alias")
}

// SpendRequest redeems points (积分兑换).
type SpendRequest struct {
	Points    int64  `json:"points"`
	Reason    string `json:"reason"`
	RequestID string `json:"request_id"`
	// Scope is whose request_id it is (see ScanRequest.Scope).
	Scope string `json:"-"`
}

// SpendResult is the answer to a spend.
type SpendResult struct {
	Result    string    `json:"result"`
	Member    string    `json:"member"`
	Points    int64     `json:"points"`
	Balance   int64     `json:"balance"`
	Entry     string    `json:"entry"`
	At        time.Time `json:"at"`
	RequestID string    `json:"request_id"`
}

// Spend takes points from a member's balance, never below zero, exactly
// once per request_id.
func (e *Engine) Spend(member string, req SpendRequest) (json.RawMessage, error) {
	if err := checkID("member", member, true); err != nil {
		return nil, err
	}
	if err := checkID("request_id", req.RequestID, true); err != nil {
		return nil, err
	}
	if err := checkID("reason", req.Reason, true); err != nil {
		return nil, err
	}
	if req.Points <= 0 {
		return nil, Errorf(CodeInvalidRequest, "points must be a positive number")
	}
	hash := hashOf("spend", member, fmt.Sprint(req.Points), req.Reason)
	return e.updateOnce(req.Scope, req.RequestID, hash, func(tx Tx, now time.Time) (json.RawMessage, error) {
		m, err := loadMember(tx, member, now)
		if err != nil {
			return nil, err
		}
		if m.Seq == 0 {
			return nil, Errorf(CodeNotFound, "member %q has no points yet; an account starts with its first redeemed scan", member)
		}
		if m.Points < req.Points {
			return nil, &Error{Code: CodeInsufficientPoints,
				Message: fmt.Sprintf("member has %d points, %d asked; nothing was taken", m.Points, req.Points),
				Details: map[string]any{"balance": m.Points}}
		}
		en, err := m.post(tx, now, AccountPoints, -req.Points, "spend: "+req.Reason, Entry{Request: req.RequestID})
		if err != nil {
			return nil, err
		}
		putJSON(tx, memberKey(m.ID), m)
		emit(tx, Event{Kind: EventSpent, Points: req.Points})
		return json.Marshal(SpendResult{Result: "spent", Member: m.ID, Points: req.Points, Balance: m.Points, Entry: en.ID, At: now, RequestID: req.RequestID})
	})
}

// hashOf identifies a request's content for request_id replays.
func hashOf(parts ...string) []byte {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// replay returns the stored answer of request id, if any. The same id with
// other content is refused.
func replay(tx Tx, scope, id string, hash []byte) (json.RawMessage, bool, error) {
	if id == "" {
		return nil, false, nil
	}
	var prev Stored
	found, err := getJSON(tx, requestKey(scope, id), &prev)
	if err != nil || !found {
		return nil, false, err
	}
	if !bytes.Equal(prev.Hash, hash) {
		return nil, false, Errorf(CodeIdempotencyReused, "request_id %q was already used for a different request; use a new request_id for a new operation", id)
	}
	return prev.Result, true, nil
}

// updateOnce decides once per request id: a retry of the same request
// (its caller's scope, its id, its content) gets the first answer back
// without deciding again, and the answer decide gives is stored with the
// decision for the retries to come. Without an id it just decides.
func (e *Engine) updateOnce(scope, id string, hash []byte, decide func(tx Tx, now time.Time) (json.RawMessage, error)) (json.RawMessage, error) {
	var out json.RawMessage
	err := e.update(func(tx Tx) error {
		prev, found, err := replay(tx, scope, id, hash)
		if err != nil || found {
			out = prev
			return err
		}
		if out, err = decide(tx, e.now()); err != nil {
			return err
		}
		remember(tx, scope, id, hash, out)
		return nil
	})
	return out, err
}

// remember stores the answer of request id.
func remember(tx Tx, scope, id string, hash []byte, out json.RawMessage) {
	if id != "" {
		putJSON(tx, requestKey(scope, id), Stored{Hash: hash, Result: out})
	}
}
