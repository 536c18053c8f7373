package reward

import (
	"crypto/hmac"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/ksuid"
)

// Sign-in identities. A browser that has not signed in is a cookie member
// ("web:<cookie>"); signing in proves an identity, which is an alias of one
// member everywhere: a phone ("tel:+8613812345678"), a WeChat openid
// ("wx:<openid>", one per official account) or a WeChat unionid
// ("wxu:<unionid>", one per person across the brand's accounts).
const (
	PrefixWeb     = "web:"
	PrefixPhone   = "tel:"
	PrefixOpenID  = "wx:"
	PrefixUnionID = "wxu:"
)

// SignedInIdentity reports whether id is an identity a person proves by
// signing in, not a browser's cookie.
func SignedInIdentity(id string) bool {
	for _, p := range []string{PrefixPhone, PrefixOpenID, PrefixUnionID} {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}

// NormalizePhone returns a mobile number in E.164 ("+8613812345678"). A
// number without a country code is mainland China's: 11 digits starting
// with 1. Spaces, dashes and a leading 0086 are accepted.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return "", Errorf(CodeInvalidPhone, "%q is not a phone number; enter the 11 digits of a mobile number", s)
		}
	}
	n := b.String()
	if rest, ok := strings.CutPrefix(n, "0086"); ok {
		n = "+86" + rest
	}
	if !strings.HasPrefix(n, "+") {
		n = "+86" + n
	}
	digits := n[1:]
	if strings.HasPrefix(n, "+86") {
		if len(digits) != 13 || digits[2] != '1' || digits[3] < '3' {
			return "", Errorf(CodeInvalidPhone, "%q is not a mainland mobile number; enter its 11 digits, starting with 1", s)
		}
		return n, nil
	}
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", Errorf(CodeInvalidPhone, "%q is not a phone number; enter +, the country code and the number", s)
	}
	return n, nil
}

// Codes of sign-in outcomes.
const (
	CodeInvalidPhone Code = "invalid_phone"
	// CodeSMSTooSoon refuses a second code to one phone within
	// OTPResend; CodeSMSDailyLimit past OTPPerDay codes a day.
	CodeSMSTooSoon    Code = "sms_too_soon"
	CodeSMSDailyLimit Code = "sms_daily_limit"
	// CodeOTPWrong is a code that is not the one sent; CodeOTPExpired one
	// older than OTPTTL; CodeOTPUsed one already used to sign in;
	// CodeOTPTooManyTries a code after OTPMaxTries wrong tries;
	// CodeOTPNone a phone that was sent no code.
	CodeOTPWrong        Code = "otp_wrong"
	CodeOTPExpired      Code = "otp_expired"
	CodeOTPUsed         Code = "otp_used"
	CodeOTPTooManyTries Code = "otp_too_many_tries"
	CodeOTPNone         Code = "otp_none"
)

// The one-time code's rules.
const (
	OTPDigits   = 6
	OTPTTL      = 5 * time.Minute
	OTPMaxTries = 5
	OTPResend   = time.Minute
	OTPPerDay   = 10
)

// otpRecord is a phone's current one-time code, by its hash only: the
// store never holds a code that could sign anyone in.
type otpRecord struct {
	Hash    []byte    `json:"hash,omitempty"`
	Expires time.Time `json:"expires"`
	Tries   int       `json:"tries"`
	Used    bool      `json:"used,omitempty"`
	Sent    time.Time `json:"sent"`
	// Day (in the brand's zone) and Sends count the codes sent that day.
	Day   string `json:"day"`
	Sends int    `json:"sends"`
}

func otpKey(phone string) []byte { return append([]byte("otp/"), phone...) }

// IssueOTP records hash as phone's one-time code, replacing any earlier
// one, unless the phone was sent one less than OTPResend ago or OTPPerDay
// today. The caller sends the code once this returns nil: hash is a keyed
// hash of it (the engine never sees the code).
func (e *Engine) IssueOTP(phone string, hash []byte) error {
	if _, err := NormalizePhone(phone); err != nil || !strings.HasPrefix(phone, "+") {
		return Errorf(CodeInvalidPhone, "%q is not a normalized phone number", phone)
	}
	if len(hash) == 0 {
		return Errorf(CodeInvalidRequest, "a one-time code needs its hash")
	}
	return e.update(func(tx Tx) error {
		now := e.now()
		var r otpRecord
		if _, err := getJSON(tx, otpKey(phone), &r); err != nil {
			return err
		}
		if wait := r.Sent.Add(OTPResend).Sub(now); wait > 0 {
			secs := int(wait.Round(time.Second) / time.Second)
			return &Error{Code: CodeSMSTooSoon, Message: fmt.Sprintf("a code was sent to this phone just now; wait %d seconds before asking for another", secs), Details: map[string]any{"retry_after": secs}}
		}
		day := now.In(e.Zone()).Format("2006-01-02")
		if r.Day != day {
			r.Day, r.Sends = day, 0
		}
		if r.Sends >= OTPPerDay {
			return Errorf(CodeSMSDailyLimit, "this phone was sent %d codes today, the most a day; try again tomorrow or sign in with WeChat", OTPPerDay)
		}
		r.Sends++
		r.Hash, r.Expires, r.Tries, r.Used, r.Sent = hash, now.Add(OTPTTL), 0, false, now
		putJSON(tx, otpKey(phone), r)
		return nil
	})
}

// CheckOTP uses phone's one-time code: nil when hash is its hash, still
// unused, within OTPTTL and its OTPMaxTries. A wrong try is counted
// (durably, so a restart does not give an attacker fresh tries); a right
// one uses the code up, so it signs in once.
func (e *Engine) CheckOTP(phone string, hash []byte) error {
	var refusal error
	err := e.update(func(tx Tx) error {
		refusal = nil
		now := e.now()
		var r otpRecord
		found, err := getJSON(tx, otpKey(phone), &r)
		switch {
		case err != nil:
			return err
		case !found || (len(r.Hash) == 0 && !r.Used):
			refusal = Errorf(CodeOTPNone, "no code was sent to this phone; ask for one first")
			return nil
		case r.Used:
			refusal = Errorf(CodeOTPUsed, "this code was already used to sign in; ask for a new one")
			return nil
		case !now.Before(r.Expires):
			refusal = Errorf(CodeOTPExpired, "this code expired (codes last %d minutes); ask for a new one", int(OTPTTL/time.Minute))
			return nil
		case r.Tries >= OTPMaxTries:
			refusal = Errorf(CodeOTPTooManyTries, "too many wrong tries for this code; ask for a new one")
			return nil
		}
		if !hmac.Equal(r.Hash, hash) {
			r.Tries++
			left := OTPMaxTries - r.Tries
			if left == 0 {
				refusal = Errorf(CodeOTPTooManyTries, "wrong code, and that was the last try; ask for a new one")
			} else {
				refusal = &Error{Code: CodeOTPWrong, Message: fmt.Sprintf("wrong code; %d tries left", left), Details: map[string]any{"tries_left": left}}
			}
			putJSON(tx, otpKey(phone), r)
			return nil
		}
		r.Used, r.Hash = true, nil
		putJSON(tx, otpKey(phone), r)
		return nil
	})
	if err != nil {
		return err
	}
	return refusal
}

// Outcomes of a sign-in.
const (
	// SignInNew: the identity was seen for the first time and became an
	// identity of the browser's member.
	SignInNew = "new"
	// SignInSame: the browser's member already was the identity's.
	SignInSame = "same"
	// SignInJoined: the browser's member held nothing; its cookie became
	// an identity of the signed-in member.
	SignInJoined = "joined"
	// SignInMerged: the browser's member held points, growth or coupons;
	// they moved to the signed-in member by ledger transfers.
	SignInMerged = "merged"
	// SignInSeparate: the browser's member belongs to another signed-in
	// person (a shared phone); the two stay apart.
	SignInSeparate = "separate"
)

// SignInResult says what a sign-in did.
type SignInResult struct {
	// Member is the member the browser now acts as.
	Member  string `json:"member"`
	Outcome string `json:"outcome"`
	// Points and Growth moved by a merge.
	Points int64 `json:"points,omitempty"`
	Growth int64 `json:"growth,omitempty"`
}

// SignIn attaches a browser to the member of the identity it proved.
// device is the member the browser was until now (its cookie member,
// "web:..."), identity the one proved ("tel:+86...", "wx:..."). The rules:
//
//   - an identity never seen becomes an identity of the device's member,
//     unless that member belongs to another signed-in person, when it
//     starts a member of its own;
//   - a device member that holds nothing becomes an identity of the
//     signed-in member;
//   - one that holds points, growth or coupons is merged into it: its
//     balances move by paired ledger entries (merge_out, merge_in) the
//     audit checks, its coupons and redemptions count for the signed-in
//     member through the alias, and its guide binding moves when the
//     signed-in member has none;
//   - a device member that is another signed-in person's stays apart:
//     merging two people's accounts is an operator's decision.
//
// It is one decision, so two devices signing in to one identity at once
// merge once each, in some order, and a second sign-in does nothing.
func (e *Engine) SignIn(device, identity string) (*SignInResult, error) {
	if err := checkID("member", device, true); err != nil {
		return nil, err
	}
	if err := checkID("alias", identity, true); err != nil {
		return nil, err
	}
	if !SignedInIdentity(identity) {
		return nil, Errorf(CodeInvalidRequest, "%q is not a sign-in identity (tel:, wx: or wxu:)", identity)
	}
	if SignedInIdentity(device) {
		return nil, Errorf(CodeInvalidRequest, "%q is a sign-in identity, not a browser's member", device)
	}
	var out *SignInResult
	err := e.update(func(tx Tx) error {
		now := e.now()
		out = &SignInResult{}
		src, err := loadMember(tx, device, now)
		if err != nil {
			return err
		}
		owner, err := resolve(tx, identity)
		if err != nil {
			return err
		}
		known := owner != identity
		if !known {
			if _, found, err := tx.Get(memberKey(identity)); err != nil {
				return err
			} else if found {
				known = true
			}
		}
		if !known {
			if src.signedIn() {
				// Someone else's browser: the identity starts its own
				// member rather than take theirs.
				m := &Member{ID: identity, Created: now, fresh: true}
				out.Member, out.Outcome = m.ID, SignInSeparate
				return putMember(tx, m)
			}
			putJSON(tx, aliasKey(identity), src.ID)
			src.Aliases = append(src.Aliases, identity)
			if err := putMember(tx, src); err != nil {
				return err
			}
			out.Member, out.Outcome = src.ID, SignInNew
			return record(tx, FeedMemberAliasLinked, now, map[string]string{"member": src.ID, "alias": identity})
		}
		dst, err := loadResolved(tx, owner, now)
		if err != nil {
			return err
		}
		out.Member = dst.ID
		switch {
		case src.ID == dst.ID:
			out.Outcome = SignInSame
			return nil
		case src.signedIn():
			out.Outcome = SignInSeparate
			return nil
		}
		held := src.Seq > 0 || src.Redemptions > 0 || src.Guide != ""
		if !held {
			if _, found, err := tx.Get(memberKey(src.ID)); err != nil {
				return err
			} else if !found {
				// A cookie that never earned: it just points at the member.
				putJSON(tx, aliasKey(src.ID), dst.ID)
				dst.Aliases = append(dst.Aliases, src.ID)
				if err := putMember(tx, dst); err != nil {
					return err
				}
				out.Outcome = SignInJoined
				return record(tx, FeedMemberAliasLinked, now, map[string]string{"member": dst.ID, "alias": src.ID})
			}
		}
		out.Outcome = SignInMerged
		out.Points, out.Growth = src.Points, src.Growth
		return e.merge(tx, src, dst, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// signedIn reports whether m is (or has) an identity someone signed in
// with.
func (m *Member) signedIn() bool {
	return SignedInIdentity(m.ID) || slices.ContainsFunc(m.Aliases, SignedInIdentity)
}

// merge moves src into dst: balances by paired ledger entries, guide
// binding when dst has none, and every id of src (itself and its aliases)
// becomes an alias of dst, so what src redeemed and its coupons are dst's.
// src keeps its record, at zero, with MergedInto set: its ledger and
// redemptions stay the history the audit reads.
//
// The new-member bonus is paid once per person: when both hold one (two
// browsers each welcomed before the person signed in on both), src's is
// taken back before the transfer, as far as its balance still holds it.
func (e *Engine) merge(tx Tx, src, dst *Member, now time.Time) error {
	if src.Bonus > 0 && dst.Bonus > 0 {
		if back := min(src.Bonus, src.Points); back > 0 {
			if _, err := src.post(tx, now, AccountPoints, -back, ReasonBonusRepeat, Entry{Counterpart: dst.ID}); err != nil {
				return err
			}
		}
	} else if dst.Bonus == 0 {
		dst.Bonus = src.Bonus
	}
	src.Bonus = 0
	for _, acct := range []string{AccountPoints, AccountGrowth} {
		amount := src.Points
		if acct == AccountGrowth {
			amount = src.Growth
		}
		if amount == 0 {
			continue
		}
		outID, inID := ksuid.New().String(), ksuid.New().String()
		if _, err := src.post(tx, now, acct, -amount, ReasonMergeOut, Entry{ID: outID, Transfer: inID, Counterpart: dst.ID}); err != nil {
			return err
		}
		if _, err := dst.post(tx, now, acct, amount, ReasonMergeIn, Entry{ID: inID, Transfer: outID, Counterpart: src.ID}); err != nil {
			return err
		}
	}
	if src.Guide != "" && dst.Guide == "" {
		g, err := loadGuide(tx, src.Guide)
		if err != nil {
			return err
		}
		self := false
		if g != nil {
			if self, err = g.isSelf(tx, dst.ID); err != nil {
				return err
			}
		}
		if g != nil && !self {
			tx.Delete(guideMemberKey(g.ID, src.ID))
			tx.Put(guideMemberKey(g.ID, dst.ID), nil)
			dst.Guide, dst.BoundAt = src.Guide, src.BoundAt
			src.Guide, src.BoundAt = "", time.Time{}
		}
	}
	ids := append([]string{src.ID}, src.Aliases...)
	for _, id := range ids {
		putJSON(tx, aliasKey(id), dst.ID)
	}
	dst.Aliases = append(dst.Aliases, ids...)
	dst.Merged = append(append(dst.Merged, src.ID), src.Merged...)
	src.Aliases, src.Merged, src.MergedInto = nil, nil, dst.ID
	putJSON(tx, memberKey(src.ID), src)
	if err := putMember(tx, dst); err != nil {
		return err
	}
	return record(tx, FeedMemberMerged, now, MemberMerge{Member: src.ID, Into: dst.ID, IDs: ids})
}

// Reasons of merge transfers: a pair of entries, one in each ledger, that
// name each other (Entry.Transfer).
const (
	ReasonMergeOut = "merge_out"
	ReasonMergeIn  = "merge_in"
)

// ReasonBonusRepeat takes back a second new-member bonus from a member
// merged into one that holds a bonus already (see merge).
const ReasonBonusRepeat = "new_member_bonus_repeat"

// maxNickname bounds a nickname, in characters.
const maxNickname = 64

// AddIdentities completes a sign-in that proved more than one identity
// (a WeChat unionid beside the openid) or a nickname: each identity never
// seen becomes one of member's, one of another member's is left where it
// is (merging two signed-in people is an operator's decision), and the
// nickname, cut to 64 characters, replaces the stored one.
func (e *Engine) AddIdentities(member string, identities []string, nickname string) error {
	if err := checkID("member", member, true); err != nil {
		return err
	}
	for _, id := range identities {
		if err := checkID("alias", id, true); err != nil {
			return err
		}
		if !SignedInIdentity(id) {
			return Errorf(CodeInvalidRequest, "%q is not a sign-in identity (tel:, wx: or wxu:)", id)
		}
	}
	nickname = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(nickname, ""))
	if r := []rune(nickname); len(r) > maxNickname {
		nickname = string(r[:maxNickname])
	}
	return e.update(func(tx Tx) error {
		m, err := loadMember(tx, member, e.now())
		if err != nil {
			return err
		}
		for _, id := range identities {
			owner, err := resolve(tx, id)
			if err != nil {
				return err
			}
			if owner != id || id == m.ID {
				continue
			}
			if _, found, err := tx.Get(memberKey(id)); err != nil {
				return err
			} else if found {
				continue
			}
			putJSON(tx, aliasKey(id), m.ID)
			m.Aliases = append(m.Aliases, id)
		}
		if nickname != "" {
			m.Nickname = nickname
		}
		putJSON(tx, memberKey(m.ID), m)
		return nil
	})
}
