package reward

import (
	"fmt"
	"time"
)

// CodeGuideLeft refuses what needs a guide who has left the brand: binding
// a consumer to them, or verifying a gift as them.
const CodeGuideLeft Code = "guide_left"

// gone refuses a guide who left, naming who took their members and the
// day in the brand's time zone.
func (g *Guide) gone(zone *time.Location) error {
	if g.LeftAt.IsZero() {
		return nil
	}
	msg := fmt.Sprintf("guide %q left on %s", g.ID, g.LeftAt.In(zone).Format("2006-01-02"))
	details := map[string]any{"left_at": g.LeftAt}
	if g.Successor != "" {
		msg += fmt.Sprintf("; their members are with guide %q now", g.Successor)
		details["successor"] = g.Successor
	}
	return &Error{Code: CodeGuideLeft, Message: msg, Details: details}
}

// GuideLeaving is what a guide's departure did.
type GuideLeaving struct {
	Guide Guide `json:"guide"`
	// Moved counts the members this call moved to the successor, or
	// unbound when there is none.
	Moved int `json:"moved"`
	// RevokedTokens lists the ids of the guide's tokens this call revoked.
	RevokedTokens []string `json:"revoked_tokens"`
}

// leaveChunk bounds the members one decision moves, so that a guide of a
// big store does not hold the decider for long.
const leaveChunk = 256

// GuideLeaves records that a guide left the brand (导购离职). The customers
// are the brand's, not the guide's:
//   - the guide's tokens are revoked, and from now on they bind no one,
//     verify nothing and earn no commission;
//   - every member bound to them moves to successor, who earns on their
//     later scans and gifts; with no successor the members are unbound, and
//     the next guide whose QR they scan binds them;
//   - ledgers, past commissions and coupons stay as they are.
//
// The guide is marked left first, in one decision, so that no binding can
// reach them while their members move in later decisions of leaveChunk
// members each. If the process stops midway, calling GuideLeaves again with
// the same successor moves the rest; another successor is refused.
func (e *Engine) GuideLeaves(id, successor string) (*GuideLeaving, error) {
	if err := checkID("guide", id, true); err != nil {
		return nil, err
	}
	if err := checkID("successor", successor, false); err != nil {
		return nil, err
	}
	if successor == id {
		return nil, Errorf(CodeInvalidRequest, "a guide cannot succeed themselves")
	}
	tokens, err := e.guideTokens(id)
	if err != nil {
		return nil, err
	}
	out := &GuideLeaving{RevokedTokens: []string{}}
	err = e.update(func(tx Tx) error {
		// A retried decision starts its answer afresh.
		out.RevokedTokens = out.RevokedTokens[:0]
		now := e.now()
		g, err := findGuide(tx, id)
		if err != nil {
			return err
		}
		if !g.LeftAt.IsZero() && g.Successor != successor {
			return g.gone(e.Zone())
		}
		if successor != "" {
			s, err := loadGuide(tx, successor)
			if err != nil {
				return err
			}
			if s == nil {
				return Errorf(CodeUnknownGuide, "no guide %q to take the members", successor)
			}
			if err := s.gone(e.Zone()); err != nil {
				return err
			}
		}
		if g.LeftAt.IsZero() {
			g.LeftAt, g.Successor = now, successor
			putJSON(tx, guideKey(g.ID), g)
			// The person is no guide now: they may enrol again.
			if g.Member != "" {
				member, mine, err := guideOfPerson(tx, g.Member)
				if err != nil {
					return err
				}
				if mine == g.ID {
					tx.Delete(memberGuideKey(member))
				}
			}
			if err := record(tx, FeedGuideLeft, now, g); err != nil {
				return err
			}
		}
		for id, key := range tokens {
			if _, found, err := deleteToken(tx, key); err != nil {
				return err
			} else if found {
				out.RevokedTokens = append(out.RevokedTokens, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	members, err := e.boundMembers(id)
	if err != nil {
		return nil, err
	}
	for len(members) > 0 {
		chunk := members[:min(leaveChunk, len(members))]
		members = members[len(chunk):]
		var moved int
		if err := e.update(func(tx Tx) error {
			var err error
			moved, err = moveMembers(tx, id, successor, chunk, e.now())
			return err
		}); err != nil {
			return nil, err
		}
		out.Moved += moved
	}
	g, err := loadGuide(e.db, id)
	if err == nil && g != nil {
		err = withPending(e.db, g)
	}
	if err != nil {
		return nil, wrapStore(err)
	}
	out.Guide = *g
	return out, nil
}

// moveMembers moves the members of from in chunk to guide to (or unbinds
// them when to is empty), in one decision. A member no longer bound to
// from (rebound by an admin meanwhile) is left alone.
func moveMembers(tx Tx, from, to string, chunk []string, now time.Time) (int, error) {
	g, err := loadGuide(tx, from)
	if err != nil {
		return 0, err
	}
	var s *Guide
	if to != "" {
		if s, err = loadGuide(tx, to); err != nil {
			return 0, err
		}
	}
	moved := 0
	for _, id := range chunk {
		tx.Delete(guideMemberKey(from, id))
		var m Member
		found, err := getJSON(tx, memberKey(id), &m)
		if err != nil {
			return 0, err
		}
		if !found || m.Guide != from {
			continue
		}
		g.Members--
		m.Guide, m.BoundAt = "", time.Time{}
		if s != nil {
			// The successor's own consumer identity cannot be bound to
			// them: it stays unbound.
			self, err := s.isSelf(tx, m.ID)
			if err != nil {
				return 0, err
			}
			if !self {
				m.Guide, m.BoundAt = s.ID, now
				s.Members++
				tx.Put(guideMemberKey(s.ID, m.ID), nil)
			}
		}
		putJSON(tx, memberKey(m.ID), m)
		if err := record(tx, FeedMemberBound, now, MemberBinding{Member: m.ID, Guide: m.Guide, Previous: from, Why: "guide_left"}); err != nil {
			return 0, err
		}
		moved++
	}
	putJSON(tx, guideKey(g.ID), g)
	if s != nil {
		putJSON(tx, guideKey(s.ID), s)
	}
	return moved, nil
}

// guideTokens returns the keys of guide's tokens, by token id.
func (e *Engine) guideTokens(guide string) (map[string][]byte, error) {
	ts, err := listTokens(e.db)
	if err != nil {
		return nil, wrapStore(err)
	}
	keys := map[string][]byte{}
	for _, t := range ts {
		if t.Role != RoleGuide || t.Subject != guide {
			continue
		}
		k, _, err := tokenKeyOf(e.db, t.ID)
		if err != nil {
			return nil, wrapStore(err)
		}
		if k != nil {
			keys[t.ID] = k
		}
	}
	return keys, nil
}

// boundMembers lists the members bound to guide, from its index.
func (e *Engine) boundMembers(guide string) ([]string, error) {
	prefix := guideMemberKey(guide, "")
	var out []string
	err := e.db.Scan(prefix, nil, func(k, _ []byte) bool {
		out = append(out, string(k[len(prefix):]))
		return true
	})
	return out, wrapStore(err)
}
