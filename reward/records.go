package reward

import (
	"encoding/binary"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/yima-dev/yima/store"
)

// Tx is what a rule sees of storage: the store contract's transaction.
type Tx = store.Tx

// getter is what a lookup needs: a Tx inside a decision; the store or a
// snapshot outside one.
type getter interface {
	Get(key []byte) (value []byte, found bool, err error)
}

// Redemption is the record of a code's one payout.
type Redemption struct {
	Code   string `json:"code"`
	Member string `json:"member"`
	Guide  string `json:"guide,omitempty"`
	Region string `json:"region,omitempty"`
	Source string `json:"source,omitempty"`
	// Store is the store the sale belongs to: that of the member's bound
	// guide, else of the scan's guide, when that guide is known and has
	// not left (as targeting's stores judge it).
	Store     string    `json:"store,omitempty"`
	Batch     uint32    `json:"batch"`
	Serial    uint32    `json:"serial"`
	Product   string    `json:"product"`
	At        time.Time `json:"at"`
	Points    int64     `json:"points"`
	RequestID string    `json:"request_id,omitempty"`
	// Ledger lists the ids of the ledger entries the redemption wrote, so
	// the audit can check both directions.
	Ledger   []string `json:"ledger,omitempty"`
	Campaign string   `json:"campaign,omitempty"`
	Version  int      `json:"campaign_version,omitempty"`
	Coupon   string   `json:"coupon,omitempty"`
	// Commission is what the guide earned for this scan.
	Commission int64 `json:"commission,omitempty"`
	// Diverted is set when the scan's region differs from the batch's
	// intended sales region (防窜货).
	Diverted   bool      `json:"diverted,omitempty"`
	Voided     bool      `json:"voided,omitempty"`
	VoidedAt   time.Time `json:"voided_at,omitzero"`
	VoidReason string    `json:"void_reason,omitempty"`
	// newMember is set, not stored, by the decision that made this the
	// member's first touch, for the statistics.
	newMember bool
}

// ScanStats counts every scan of a code, redeemed or not: the code's scan
// record. A code whose one scan so far redeemed it has none: its
// redemption implies it (see impliedBy), and the decision skips a record
// that would say nothing new. So a code with neither record was never
// scanned; readers go through readScanStats.
type ScanStats struct {
	Scans    uint64    `json:"scans"`
	Scanners uint64    `json:"scanners"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
	// Seen holds 32-bit hashes of the distinct scanners, so that one record
	// answers "who scanned this before". Past maxSeen scanners the list is
	// full and Scanners stops growing: it is then a floor, which is all the
	// anti-counterfeit display needs ("scanned by many people").
	Seen []uint32 `json:"seen,omitempty"`
	// FlagDue is set when page views brought the code to flagScanners
	// people: views raise no flag, the next claim or API scan does.
	FlagDue bool `json:"flag_due,omitempty"`
}

// maxSeen bounds ScanStats.Seen.
const maxSeen = 64

// impliedStats is the scan record a redemption implies when the code has
// none: the one scan that redeemed it, by its member, at its time. A
// redemption's member is the scanner as resolved (decideScan), and is
// never rewritten.
func impliedStats(red *Redemption) ScanStats {
	return ScanStats{Scans: 1, Scanners: 1, First: red.At, Last: red.At, Seen: []uint32{fnv32a(red.Member)}}
}

// impliedBy reports whether st says nothing red does not (impliedStats):
// then the decision that redeemed the code need not write it.
func (st *ScanStats) impliedBy(red *Redemption) bool {
	return st.Scans == 1 && st.Scanners == 1 && len(st.Seen) == 1 && st.Seen[0] == fnv32a(red.Member) &&
		st.First.Equal(red.At) && st.Last.Equal(red.At) && !st.FlagDue
}

// readScanStats reads a code's scan record into st, or, where there is
// none, the one its redemption implies (returned too, so that the caller
// need not read it again). found is false for a code never scanned.
func readScanStats(r getter, code string, st *ScanStats) (found bool, red *Redemption, err error) {
	stats, redKey := statusKeys(code)
	if found, err = getJSON(r, stats, st); err != nil || found {
		return found, nil, err
	}
	red = new(Redemption)
	if found, err = getJSON(r, redKey, red); err != nil || !found {
		return false, nil, err
	}
	*st = impliedStats(red)
	return true, red, nil
}

// Member is the derived state of a member: balances kept in step with the
// ledger by the same decision that appends to it.
type Member struct {
	ID          string    `json:"member"`
	Points      int64     `json:"points"`
	Growth      int64     `json:"growth"`
	Redemptions uint64    `json:"redemptions"`
	Created     time.Time `json:"created"`
	// Seq is the number of ledger entries; entry keys are numbered by it so
	// that a member's ledger reads back in the order it was written.
	Seq uint64 `json:"seq"`
	// Guide is the store guide the member is bound to; the first binding
	// wins unless an admin rebinds.
	Guide   string    `json:"guide,omitempty"`
	BoundAt time.Time `json:"bound_at,omitzero"`
	Aliases []string  `json:"aliases,omitempty"`
	// Merged lists the members merged into this one when a browser that
	// held points signed in (see SignIn); MergedInto is set on each of
	// them, whose ledger ends at zero with the transfer.
	Merged     []string `json:"merged,omitempty"`
	MergedInto string   `json:"merged_into,omitempty"`
	// Nickname is the member's WeChat nickname, when the brand asks for it
	// (snsapi_userinfo).
	Nickname string `json:"nickname,omitempty"`
	// Bonus is the new-member bonus this member holds, in points: paid at
	// its first redemption, or brought by a member merged into it. A person
	// holds one: a merge of two members that both hold one takes the
	// merged member's back (see merge).
	Bonus int64 `json:"bonus,omitempty"`
	// Lots are the member's points by the month earned, oldest first, and
	// GrowthMonths its growth; Booked says they are kept (see lots.go).
	Lots         []Lot `json:"lots,omitempty"`
	GrowthMonths []Lot `json:"growth_months,omitempty"`
	Booked       bool  `json:"booked,omitempty"`
	// FirstTouch is where the member first came from (see targeting.go).
	FirstTouch *Touch `json:"first_touch,omitempty"`
	// zone is the brand's time zone of the lots' months, read once per
	// decision (see zoneOf).
	zone *time.Location
	// fresh marks a member with no stored record yet, so that the
	// decision that first writes it records member.created (feed.go).
	fresh bool
}

// Guide is a store guide (导购): who binds consumers and verifies gifts.
type Guide struct {
	ID      string    `json:"id"`
	Store   string    `json:"store"`
	Name    string    `json:"name,omitempty"`
	Created time.Time `json:"created"`
	// Member is the guide's own consumer identity, if any: a guide never
	// earns commission on their own scans.
	Member     string `json:"member,omitempty"`
	Commission int64  `json:"commission"`
	Members    int64  `json:"members"`
	Verified   int64  `json:"verified"`
	Seq        uint64 `json:"seq"`
	// LeftAt is when the guide left the brand (see GuideLeaves): from then
	// on they bind no one and earn nothing. Successor took their members.
	LeftAt    time.Time `json:"left_at,omitzero"`
	Successor string    `json:"successor,omitempty"`
}

// Coupon is a gift a scan issued, verified (核销) once at a counter.
type Coupon struct {
	ID       string    `json:"id"`
	Campaign string    `json:"campaign"`
	Title    string    `json:"title"`
	Member   string    `json:"member"`
	Code     string    `json:"code"`
	Issued   time.Time `json:"issued_at"`
	Expires  time.Time `json:"expires_at"`
	Status   string    `json:"status"` // issued, used, void
	// Prize is the name of the campaign's prize the coupon is (see
	// targeting.go); empty for a campaign's one coupon.
	Prize  string    `json:"prize,omitempty"`
	UsedAt time.Time `json:"used_at,omitzero"`
	UsedBy string    `json:"used_by,omitempty"`
	// Commission is what the verifying guide earned.
	Commission int64     `json:"commission,omitempty"`
	Ledger     []string  `json:"ledger,omitempty"`
	VoidedAt   time.Time `json:"voided_at,omitzero"`
	VoidReason string    `json:"void_reason,omitempty"`
	// Reward and Exchange name the mall's reward and the exchange that
	// issued a coupon bought with points; such a coupon has no Campaign
	// and no Code.
	Reward   string `json:"reward,omitempty"`
	Exchange string `json:"exchange,omitempty"`
}

// Coupon statuses.
const (
	CouponIssued = "issued"
	CouponUsed   = "used"
	CouponVoid   = "void"
)

// Entry is one append-only ledger line. Balances are the sums of entries.
type Entry struct {
	ID  string    `json:"id"`
	Seq uint64    `json:"seq"`
	At  time.Time `json:"at"`
	// Member or Guide holds the account.
	Member   string `json:"member,omitempty"`
	Guide    string `json:"guide,omitempty"`
	Account  string `json:"account"` // points, growth (members); commission (guides)
	Delta    int64  `json:"delta"`
	Balance  int64  `json:"balance"`
	Reason   string `json:"reason"`
	Code     string `json:"code,omitempty"`
	Coupon   string `json:"coupon,omitempty"`
	Campaign string `json:"campaign,omitempty"`
	// Request is the request_id of a spend.
	Request string `json:"request_id,omitempty"`
	// Transfer is the id of the other entry of a transfer between two
	// members (a merge), and Counterpart that entry's member.
	Transfer    string `json:"transfer,omitempty"`
	Counterpart string `json:"counterpart,omitempty"`
	// Exchange, Order and Adjustment name the mall's exchange, the
	// purchase order and the adjustment an entry belongs to.
	Exchange   string `json:"exchange,omitempty"`
	Order      string `json:"order,omitempty"`
	Adjustment string `json:"adjustment,omitempty"`
	// Month is the month a credit of points or growth was earned in (see
	// lots.go); Through, on an expiry, the last month whose points it
	// expired.
	Month   string `json:"month,omitempty"`
	Through string `json:"through,omitempty"`
}

// Ledger accounts.
const (
	AccountPoints     = "points"
	AccountGrowth     = "growth"
	AccountCommission = "commission"
)

// Stored is the remembered answer of a request_id.
type Stored struct {
	Hash   []byte          `json:"hash"`
	Result json.RawMessage `json:"result"`
}

// Keys. Member ids are validated to exclude 0x00, which ends them inside
// composite keys so that no id is a prefix of another's entries.
func redemptionKey(code string) []byte { return append([]byte("r/"), code...) }
func scanStatsKey(code string) []byte  { return append([]byte("sc/"), code...) }

// statusKeys are scanStatsKey(code) and redemptionKey(code) in one
// allocation, for Status.
func statusKeys(code string) (stats, red []byte) {
	b := make([]byte, 0, len("sc/r/")+2*len(code))
	stats = append(append(b, "sc/"...), code...)
	return stats, append(append(stats[len(stats):], "r/"...), code...)
}
func memberKey(id string) []byte        { return append([]byte("m/"), id...) }
func ledgerPrefix(member string) []byte { return joinKey("l/", member, "") }
func ledgerKey(member string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(ledgerPrefix(member), seq)
}

// requestKey scopes a request_id by its caller: integrators choose their
// ids independently, so one's "1" must not be another's. The empty scope
// (the admin token, the CLI) keeps the key ids had before scopes existed,
// so a retry across an upgrade still finds its answer; a scope is a token
// id (hex), and a request id never holds 0x00, so no two keys collide.
func requestKey(scope, id string) []byte {
	k := append([]byte("q/"), scope...)
	if scope != "" {
		k = append(k, 0)
	}
	return append(k, id...)
}
func aliasKey(alias string) []byte          { return append([]byte("ma/"), alias...) }
func guideKey(id string) []byte             { return append([]byte("g/"), id...) }
func guideLedgerPrefix(guide string) []byte { return joinKey("gl/", guide, "") }
func guideLedgerKey(guide string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(guideLedgerPrefix(guide), seq)
}
func guideMemberKey(guide, member string) []byte { return joinKey("gm/", guide, member) }
func couponKey(id string) []byte                 { return append([]byte("cpn/"), id...) }
func dailyKey(campaign, member, day string) []byte {
	return joinKey("dl/", campaign, member, day)
}
func deviceDailyKey(campaign, device, day string) []byte {
	return joinKey("dd/", campaign, device, day)
}

// joinKey returns the composite key prefix+parts[0]+0x00+parts[1]...,
// in one allocation; a last part "" makes the prefix of the keys whose
// earlier parts are those given.
func joinKey(prefix string, parts ...string) []byte {
	n := len(prefix) + len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	k := append(make([]byte, 0, n), prefix...)
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

// getJSON reads key into v; found is false when the key is absent.
func getJSON(tx getter, key []byte, v any) (found bool, err error) {
	raw, found, err := tx.Get(key)
	if err != nil || !found {
		return false, err
	}
	return true, json.Unmarshal(raw, v)
}

// getRecord reads the JSON record at key. Where there is none it answers
// missing(): a not_found that tells the caller what to do, or, with a nil
// missing, no record and no error.
func getRecord[T any](r getter, key []byte, missing func() error) (*T, error) {
	v := new(T)
	found, err := getJSON(r, key, v)
	switch {
	case err != nil:
		return nil, err
	case found:
		return v, nil
	case missing == nil:
		return nil, nil
	}
	return nil, missing()
}

func putJSON(tx Tx, key []byte, v any) { tx.Put(key, marshalRecord(v)) }

// marshalRecord encodes a record as putJSON writes it; a decision that
// also records it in the feed passes the same bytes as the event's body
// (encodedBody), so that the record is encoded once.
func marshalRecord(v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		// Every record type here marshals; a failure is a programming
		// error and the decider turns the panic into an error.
		panic(err)
	}
	return raw
}
