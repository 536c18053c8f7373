package reward

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/segmentio/ksuid"
)

// Enrolment (导购扫码): each store has an enrolment QR. A person who scans
// it signs in (a proved identity: a phone, a WeChat openid) and asks to be
// a guide of that store; the store's manager or an admin approves, which
// makes them a guide of the store at once, or rejects. The QR's code is
// random, expires, and can be replaced (rotated): an old code then stops
// working. One decision at a time holds every rule: a person has one open
// request, a request is decided once (of two managers approving together,
// one wins), and an approval makes exactly one guide.

// Codes of enrolment outcomes.
const (
	// CodeEnrolmentExpired: the enrolment QR's time ran out.
	CodeEnrolmentExpired Code = "enrolment_expired"
	// CodeEnrolmentReplaced: the QR was rotated; a newer one works.
	CodeEnrolmentReplaced Code = "enrolment_replaced"
	// CodeEnrolmentPending: the person has a request waiting at another
	// store.
	CodeEnrolmentPending Code = "enrolment_pending"
	// CodeEnrolmentDecided: the request was approved or rejected already.
	CodeEnrolmentDecided Code = "enrolment_decided"
	// CodeAlreadyGuide: the person is a guide already.
	CodeAlreadyGuide Code = "already_guide"
)

// Enrolment statuses.
const (
	EnrolmentPending  = "pending"
	EnrolmentApproved = "approved"
	EnrolmentRejected = "rejected"
)

// Enrolment QR validity: DefaultEnrolValid unless the brand says.
const (
	DefaultEnrolValid = 30 * 24 * time.Hour
	MaxEnrolValid     = 366 * 24 * time.Hour
	minEnrolValid     = time.Minute
	enrolCodeLen      = 16 // Crockford base32: 80 random bits
	maxEnrolName      = 50
)

// EnrolQR is a store's enrolment QR: what it opens (BASE/E/Code), until
// when. Replaced is set once a newer QR took its place.
type EnrolQR struct {
	Code     string    `json:"code"`
	Store    string    `json:"store"`
	Issued   time.Time `json:"issued"`
	Expires  time.Time `json:"expires"`
	Replaced time.Time `json:"replaced,omitzero"`
}

// Enrolment is a person's request to be a guide of a store, and its
// outcome.
type Enrolment struct {
	ID    string `json:"id"`
	Store string `json:"store"`
	// Member is the person's member id; Identity the sign-in they proved
	// (tel:+86..., wx:...).
	Member   string    `json:"member"`
	Identity string    `json:"identity"`
	Name     string    `json:"name"`
	Status   string    `json:"status"`
	At       time.Time `json:"at"`
	// QR is the enrolment code scanned.
	QR        string    `json:"qr"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	DecidedBy string    `json:"decided_by,omitempty"`
	// Guide is the guide an approval made.
	Guide string `json:"guide,omitempty"`
}

// Keys of enrolment: QR codes by code, a store's current code, requests by
// id, a store's requests, a person's latest request; and the indexes of
// guides by store and by member.
func enrolQRKey(code string) []byte       { return append([]byte("enq/"), code...) }
func storeEnrolQRKey(store string) []byte { return append([]byte("enc/"), store...) }
func enrolmentKey(id string) []byte       { return append([]byte("en/"), id...) }
func storeEnrolmentKey(store, id string) []byte {
	return append(append(append([]byte("sen/"), store...), 0), id...)
}
func memberEnrolmentKey(member string) []byte { return append([]byte("men/"), member...) }
func storeGuideKey(store, guide string) []byte {
	return append(append(append([]byte("stg/"), store...), 0), guide...)
}
func memberGuideKey(member string) []byte { return append([]byte("mgd/"), member...) }

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// randomCode is n random Crockford base32 characters: upper case, so a
// URL of them keeps a QR in alphanumeric mode.
func randomCode(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = crockford[b[i]&31]
	}
	return string(b)
}

// EnrolmentQR returns store's enrolment QR: the current one, or with
// rotate (or when there is none, or it expired) a new one valid for valid
// (0: DefaultEnrolValid), which replaces the old: the old code stops
// working at once.
func (e *Engine) EnrolmentQR(store string, rotate bool, valid time.Duration) (*EnrolQR, error) {
	if err := checkStoreID(store); err != nil {
		return nil, err
	}
	if valid == 0 {
		valid = DefaultEnrolValid
	}
	if valid < minEnrolValid || valid > MaxEnrolValid {
		return nil, Errorf(CodeInvalidRequest, "an enrolment QR is valid from a minute to %d days, not %s", int(MaxEnrolValid/(24*time.Hour)), valid)
	}
	var out *EnrolQR
	err := e.update(func(tx Tx) error {
		now := e.now()
		if s, err := loadStore(tx, store); err != nil {
			return err
		} else if s == nil {
			return Errorf(CodeUnknownStore, "no store %q; create it first with yima store add %s --name ...", store, store)
		}
		var cur string
		if _, err := getJSON(tx, storeEnrolQRKey(store), &cur); err != nil {
			return err
		}
		if cur != "" {
			var q EnrolQR
			if _, err := getJSON(tx, enrolQRKey(cur), &q); err != nil {
				return err
			}
			if !rotate && now.Before(q.Expires) {
				out = &q
				return nil
			}
			q.Replaced = now
			putJSON(tx, enrolQRKey(cur), q)
		}
		q := EnrolQR{Code: randomCode(enrolCodeLen), Store: store, Issued: now, Expires: now.Add(valid)}
		putJSON(tx, enrolQRKey(q.Code), q)
		putJSON(tx, storeEnrolQRKey(store), q.Code)
		out = &q
		return nil
	})
	return out, err
}

// normalizeEnrolCode is a scanned code as stored: upper case, without
// the hyphens and spaces a person may type.
func normalizeEnrolCode(code string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
}

// checkEnrolQR reads the enrolment QR code and refuses one that is
// unknown, replaced or expired.
func checkEnrolQR(r getter, code string, now time.Time) (*EnrolQR, error) {
	if len(code) != enrolCodeLen || strings.Trim(code, crockford) != "" {
		return nil, Errorf(CodeNotFound, "%q is not an enrolment QR's code; scan the store's enrolment QR again", code)
	}
	var q EnrolQR
	found, err := getJSON(r, enrolQRKey(code), &q)
	switch {
	case err != nil:
		return nil, err
	case !found:
		return nil, Errorf(CodeNotFound, "no enrolment QR %s; scan the store's enrolment QR again", code)
	case !q.Replaced.IsZero():
		return &q, &Error{Code: CodeEnrolmentReplaced, Message: "this enrolment QR was replaced by a newer one; scan the store's current QR, or ask the store manager for it", Details: map[string]any{"store": q.Store, "replaced": q.Replaced}}
	case !now.Before(q.Expires):
		return &q, &Error{Code: CodeEnrolmentExpired, Message: fmt.Sprintf("this enrolment QR expired on %s; ask the store manager for the current one", q.Expires.Format("2006-01-02")), Details: map[string]any{"store": q.Store, "expires": q.Expires}}
	}
	return &q, nil
}

// EnrolmentQRInfo returns the enrolment QR code and its store, refusing a
// code that is unknown (not_found), replaced or expired; the QR is
// returned with those two refusals, so a page can name the store.
func (e *Engine) EnrolmentQRInfo(code string) (*EnrolQR, *Store, error) {
	code = normalizeEnrolCode(code)
	q, err := checkEnrolQR(e.db, code, e.now())
	if q == nil {
		return nil, nil, wrapStore(err)
	}
	s, serr := loadStore(e.db, q.Store)
	if serr != nil {
		return nil, nil, wrapStore(serr)
	}
	if s == nil {
		return q, nil, Errorf(CodeUnknownStore, "store %q of this enrolment QR is gone", q.Store)
	}
	return q, s, wrapStore(err)
}

func checkEnrolName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", Errorf(CodeInvalidRequest, "give your name, as the store manager knows you")
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxEnrolName {
		return "", Errorf(CodeInvalidRequest, "a name is at most %d characters", maxEnrolName)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", Errorf(CodeInvalidRequest, "a name may not hold a control character")
		}
	}
	return name, nil
}

// Enrol asks, for the person signed in as identity, to be a guide of the
// store whose enrolment QR is code. Asking again while the request waits
// returns it unchanged; a person already a guide, or waiting at another
// store, is refused.
func (e *Engine) Enrol(code, identity, name string) (*Enrolment, error) {
	code = normalizeEnrolCode(code)
	if err := checkID("alias", identity, true); err != nil {
		return nil, err
	}
	if !SignedInIdentity(identity) {
		return nil, Errorf(CodeInvalidRequest, "only a person who signed in (a phone, WeChat) can enrol, not %q", identity)
	}
	name, err := checkEnrolName(name)
	if err != nil {
		return nil, err
	}
	var out *Enrolment
	err = e.update(func(tx Tx) error {
		now := e.now()
		q, err := checkEnrolQR(tx, code, now)
		if err != nil {
			return err
		}
		if s, err := loadStore(tx, q.Store); err != nil {
			return err
		} else if s == nil {
			return Errorf(CodeUnknownStore, "store %q of this enrolment QR is gone", q.Store)
		}
		member, err := resolve(tx, identity)
		if err != nil {
			return err
		}
		if g, err := guideOfMember(tx, member); err != nil {
			return err
		} else if g != "" {
			return &Error{Code: CodeAlreadyGuide, Message: fmt.Sprintf("you are guide %s already", g), Details: map[string]any{"guide": g}}
		}
		prev, err := latestEnrolment(tx, member)
		if err != nil {
			return err
		}
		if prev != nil && prev.Status == EnrolmentPending {
			if prev.Store == q.Store {
				out = prev
				return nil
			}
			return &Error{Code: CodeEnrolmentPending, Message: fmt.Sprintf("your request to join store %s is waiting for its manager; it must be decided first", prev.Store), Details: map[string]any{"store": prev.Store}}
		}
		en := &Enrolment{ID: ksuid.New().String(), Store: q.Store, Member: member, Identity: identity, Name: name, Status: EnrolmentPending, At: now, QR: code}
		putJSON(tx, enrolmentKey(en.ID), en)
		tx.Put(storeEnrolmentKey(en.Store, en.ID), nil)
		putJSON(tx, memberEnrolmentKey(member), en.ID)
		out = en
		return record(tx, FeedGuideEnrolled, now, en)
	})
	return out, err
}

func latestEnrolment(r getter, member string) (*Enrolment, error) {
	var id string
	if found, err := getJSON(r, memberEnrolmentKey(member), &id); err != nil || !found {
		return nil, err
	}
	var en Enrolment
	if found, err := getJSON(r, enrolmentKey(id), &en); err != nil || !found {
		return nil, err
	}
	return &en, nil
}

// guideOfMember is the guide whose own consumer identity is member, a
// resolved member id; "" when none is.
func guideOfMember(r getter, member string) (string, error) {
	var g string
	_, err := getJSON(r, memberGuideKey(member), &g)
	return g, err
}

// guideOfPerson resolves a guide's own consumer identity to its member,
// and names the guide that member is ("" when none).
func guideOfPerson(r getter, identity string) (member, guide string, err error) {
	if member, err = resolve(r, identity); err != nil {
		return "", "", err
	}
	guide, err = guideOfMember(r, member)
	return member, guide, err
}

// MyEnrolment returns the latest enrolment of the person signed in as
// identity, nil when they never asked.
func (e *Engine) MyEnrolment(identity string) (*Enrolment, error) {
	member, err := e.resolveChecked("alias", identity)
	if err != nil {
		return nil, err
	}
	en, err := latestEnrolment(e.db, member)
	return en, wrapStore(err)
}

// GuideOfMember returns the guide whose own consumer identity is member
// (resolved through its aliases: a phone, an openid), nil when they are
// no guide. A guide who signs in is recognised by it.
func (e *Engine) GuideOfMember(member string) (*Guide, error) {
	m, err := e.resolveChecked("member", member)
	if err != nil {
		return nil, err
	}
	id, err := guideOfMember(e.db, m)
	if err != nil || id == "" {
		return nil, wrapStore(err)
	}
	g, err := loadGuide(e.db, id)
	return g, wrapStore(err)
}

// DecideEnrolment approves or rejects the waiting request id at store;
// by names who decided (an admin, or a manager's identity). An approval
// makes the person a guide of the store, with a new guide id, at once.
// A request decided already is refused with enrolment_decided: of two
// managers deciding together, the first wins.
func (e *Engine) DecideEnrolment(store, id string, approve bool, by string) (*Enrolment, error) {
	if err := checkStoreID(store); err != nil {
		return nil, err
	}
	if _, err := ksuid.Parse(id); err != nil {
		return nil, Errorf(CodeInvalidRequest, "%q is not an enrolment id (27 characters, as the enrolment list shows them)", id)
	}
	var out *Enrolment
	err := e.update(func(tx Tx) error {
		now := e.now()
		var en Enrolment
		found, err := getJSON(tx, enrolmentKey(id), &en)
		if err != nil {
			return err
		}
		if !found || en.Store != store {
			return Errorf(CodeNotFound, "store %s has no enrolment %s", store, id)
		}
		if en.Status != EnrolmentPending {
			return &Error{Code: CodeEnrolmentDecided, Message: fmt.Sprintf("this request was %s already, by %s", en.Status, en.DecidedBy), Details: map[string]any{"status": en.Status, "decided_by": en.DecidedBy}}
		}
		en.DecidedAt, en.DecidedBy = now, by
		if !approve {
			en.Status = EnrolmentRejected
			putJSON(tx, enrolmentKey(id), en)
			out = &en
			return record(tx, FeedGuideRejected, now, en)
		}
		if g, err := guideOfMember(tx, en.Member); err != nil {
			return err
		} else if g != "" {
			return &Error{Code: CodeAlreadyGuide, Message: fmt.Sprintf("this person is guide %s already", g), Details: map[string]any{"guide": g}}
		}
		gid := ""
		for gid == "" {
			gid = "G" + randomCode(9)
			if _, taken, err := tx.Get(guideKey(gid)); err != nil {
				return err
			} else if taken {
				gid = ""
			}
		}
		g := Guide{ID: gid, Store: store, Name: en.Name, Member: en.Member, Created: now}
		putJSON(tx, guideKey(gid), g)
		tx.Put(storeGuideKey(store, gid), nil)
		putJSON(tx, memberGuideKey(en.Member), gid)
		if err := record(tx, FeedGuideCreated, now, g); err != nil {
			return err
		}
		en.Status, en.Guide = EnrolmentApproved, gid
		putJSON(tx, enrolmentKey(id), en)
		out = &en
		return record(tx, FeedGuideApproved, now, en)
	})
	return out, err
}

// EnrolmentPage returns up to limit of store's enrolments, oldest first,
// after the enrolment id after; with status, only those in it.
func (e *Engine) EnrolmentPage(store, status, after string, limit int) ([]*Enrolment, string, error) {
	if err := checkStoreID(store); err != nil {
		return nil, "", err
	}
	switch status {
	case "", EnrolmentPending, EnrolmentApproved, EnrolmentRejected:
	default:
		return nil, "", Errorf(CodeInvalidRequest, "status %q: use pending, approved or rejected", status)
	}
	if err := checkID("after", after, false); err != nil {
		return nil, "", err
	}
	out := []*Enrolment{}
	next, err := idPage(e.db, storeEnrolmentKey(store, ""), after, limit, func(id string) (bool, error) {
		var en Enrolment
		if _, err := getJSON(e.db, enrolmentKey(id), &en); err != nil {
			return false, err
		}
		if status != "" && en.Status != status {
			return false, nil
		}
		out = append(out, &en)
		return true, nil
	})
	return out, next, err
}

// StoreGuides returns up to limit of the guides of store that joined it
// since guides belong to store records (by enrolment or yima guide add),
// in id order after the guide id after.
func (e *Engine) StoreGuides(store, after string, limit int) ([]*Guide, string, error) {
	if err := checkStoreID(store); err != nil {
		return nil, "", err
	}
	if err := checkID("after", after, false); err != nil {
		return nil, "", err
	}
	out := []*Guide{}
	next, err := idPage(e.db, storeGuideKey(store, ""), after, limit, func(id string) (bool, error) {
		g, err := loadGuide(e.db, id)
		if err != nil || g == nil {
			return false, err
		}
		if err := withPending(e.db, g); err != nil {
			return false, err
		}
		out = append(out, g)
		return true, nil
	})
	return out, next, err
}

// auditEnrolments checks the enrolments and the store indexes of guides:
// each request names a store that exists, is in its store's list, and an
// approved one names a guide of that store whose member is the person;
// each guide in a store's list names that store.
func auditEnrolments(db Scanner, a *AuditReport, guides map[string]*Guide, stores map[string]bool) error {
	listed := map[string]bool{}
	err := db.Scan([]byte("sen/"), nil, func(k, _ []byte) bool {
		store, id, _ := strings.Cut(string(k[len("sen/"):]), "\x00")
		listed[store+"\x00"+id] = true
		return true
	})
	if err != nil {
		return err
	}
	err = db.Scan([]byte("en/"), nil, func(k, v []byte) bool {
		id := string(k[len("en/"):])
		a.Enrolments++
		var en Enrolment
		if err := json.Unmarshal(v, &en); err != nil {
			a.violate("enrolment %q is corrupt: %v", id, err)
			return true
		}
		if !stores[en.Store] {
			a.violate("enrolment %s names store %q, which has no record", id, en.Store)
		}
		if !listed[en.Store+"\x00"+id] {
			a.violate("enrolment %s is missing from store %s's list", id, en.Store)
		}
		if en.Status == EnrolmentApproved {
			g := guides[en.Guide]
			switch {
			case g == nil:
				a.violate("enrolment %s was approved as guide %q, who does not exist", id, en.Guide)
			case g.Store != en.Store || g.Member != en.Member:
				a.violate("enrolment %s made guide %s of store %q for %q, but the guide is of %q for %q", id, g.ID, en.Store, en.Member, g.Store, g.Member)
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	var missing [][2]string
	err = db.Scan([]byte("stg/"), nil, func(k, _ []byte) bool {
		store, id, _ := strings.Cut(string(k[len("stg/"):]), "\x00")
		switch g := guides[id]; {
		case g == nil:
			missing = append(missing, [2]string{store, id})
		case g.Store != store:
			a.violate("store %s lists guide %q, who is not its guide", store, id)
		}
		return true
	})
	if err != nil {
		return err
	}
	// A guide whose record is there but corrupt was reported already.
	for _, m := range missing {
		key := guideKey(m[1])
		found := false
		if err := db.Scan(key, nil, func(k, _ []byte) bool {
			found = string(k) == string(key)
			return false
		}); err != nil {
			return err
		}
		if !found {
			a.violate("store %s lists guide %q, who does not exist", m[0], m[1])
		}
	}
	return nil
}
