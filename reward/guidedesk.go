package reward

import (
	"cmp"
	"slices"
	"strings"
	"time"

	json "github.com/segmentio/encoding/json"
)

// GuideDesk is what a guide's own page (/guide) shows them: their members,
// what they earned this month and last, and the gifts they verified.
type GuideDesk struct {
	Guide Guide `json:"guide"`
	// Members counts the members bound to the guide; NewThisMonth those
	// bound since this month began (in the brand's time zone).
	Members      int64 `json:"members"`
	NewThisMonth int64 `json:"new_this_month"`
	// Recent are the members bound last, newest first, at most
	// DeskMembers of them, each shown by a masked phone number.
	Recent []DeskMember `json:"recent"`
	// ThisMonth and LastMonth are the months (YYYY-MM), and
	// CommissionThisMonth and CommissionLastMonth the net commission
	// entries dated in them (voids included).
	ThisMonth           string `json:"this_month"`
	LastMonth           string `json:"last_month"`
	CommissionThisMonth int64  `json:"commission_this_month"`
	CommissionLastMonth int64  `json:"commission_last_month"`
	// Verified counts the gifts the guide verified.
	Verified int64 `json:"verified"`
}

// DeskMember is a bound member as a guide sees them: never their ids,
// only a masked phone number when the member signed in with one.
type DeskMember struct {
	Phone   string    `json:"phone,omitempty"`
	BoundAt time.Time `json:"bound_at"`
}

// DeskMembers bounds GuideDesk.Recent.
const DeskMembers = 20

// maxDeskScan bounds the bound members a desk reads to count this month's:
// past it, NewThisMonth counts only the members read.
const maxDeskScan = 50_000

// GuideDesk returns guide id's desk as of now.
func (e *Engine) GuideDesk(id string) (*GuideDesk, error) {
	if err := checkID("guide", id, true); err != nil {
		return nil, err
	}
	// The months' commission is read from the ledger: number what is
	// pending first.
	if err := e.foldShared(id); err != nil {
		return nil, err
	}
	g, err := findGuide(e.db, id)
	if err != nil {
		return nil, wrapStore(err)
	}
	now := e.now().In(e.Zone())
	thisStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, e.Zone())
	lastStart := thisStart.AddDate(0, -1, 0)
	d := &GuideDesk{Guide: *g, Members: g.Members, Verified: g.Verified, Recent: []DeskMember{},
		ThisMonth: thisStart.Format("2006-01"), LastMonth: lastStart.Format("2006-01")}

	// Members: the guide's index, each member's record for when they were
	// bound and how they signed in.
	prefix := guideMemberKey(id, "")
	var ids []string
	err = e.db.Scan(prefix, nil, func(k, _ []byte) bool {
		ids = append(ids, string(k[len(prefix):]))
		return len(ids) < maxDeskScan
	})
	if err != nil {
		return nil, wrapStore(err)
	}
	var all []DeskMember
	for _, mid := range ids {
		var m Member
		found, err := getJSON(e.db, memberKey(mid), &m)
		if err != nil {
			return nil, wrapStore(err)
		}
		if !found || m.Guide != id {
			continue
		}
		if !m.BoundAt.Before(thisStart) {
			d.NewThisMonth++
		}
		all = append(all, DeskMember{Phone: PhoneOf(append([]string{m.ID}, m.Aliases...)), BoundAt: m.BoundAt})
	}
	slices.SortFunc(all, func(a, b DeskMember) int {
		return cmp.Or(b.BoundAt.Compare(a.BoundAt), strings.Compare(a.Phone, b.Phone))
	})
	d.Recent = append(d.Recent, all[:min(len(all), DeskMembers)]...)

	// Commission: the ledger read backwards until last month began.
	for seq := g.Seq; seq >= 1; seq-- {
		var en Entry
		found, err := getJSON(e.db, guideLedgerKey(id, seq), &en)
		if err != nil {
			return nil, wrapStore(err)
		}
		if !found {
			continue
		}
		switch {
		case !en.At.Before(thisStart):
			d.CommissionThisMonth += en.Delta
		case !en.At.Before(lastStart):
			d.CommissionLastMonth += en.Delta
		}
		if en.At.Before(lastStart) {
			break
		}
	}
	return d, nil
}

// GuideOfIdentity returns the guide whose own consumer identity is
// identity, or the member it stands for (a phone that signed in, and the
// guide named by its member id or another of its identities), or nil
// when none is. A guide who left is no one's.
func (e *Engine) GuideOfIdentity(identity string) (*Guide, error) {
	owner, err := e.resolveChecked("alias", identity)
	if err != nil {
		return nil, err
	}
	ids := []string{identity}
	if owner != identity {
		ids = append(ids, owner)
	}
	var m Member
	if _, err := getJSON(e.db, memberKey(owner), &m); err != nil {
		return nil, wrapStore(err)
	}
	ids = append(ids, m.Aliases...)
	for _, id := range ids {
		gid, err := guideOfMember(e.db, id)
		if err != nil {
			return nil, wrapStore(err)
		}
		if gid == "" {
			continue
		}
		g, err := loadGuide(e.db, gid)
		if err != nil {
			return nil, wrapStore(err)
		}
		if g != nil && g.LeftAt.IsZero() {
			return g, nil
		}
	}
	// Guides added before the index existed are found by reading them
	// all: only a person who opens the guides' page and is no guide gets
	// here.
	var found *Guide
	var bad error
	err = e.db.Scan([]byte("g/"), nil, func(_, raw []byte) bool {
		var g Guide
		if bad = json.Unmarshal(raw, &g); bad != nil {
			return false
		}
		if g.Member == "" || !g.LeftAt.IsZero() {
			return true
		}
		own, err := resolve(e.db, g.Member)
		if bad = err; err != nil {
			return false
		}
		if own == owner || slices.Contains(ids, g.Member) {
			found = &g
			return false
		}
		return true
	})
	if err = firstErr(err, bad); err != nil {
		return nil, wrapStore(err)
	}
	return found, nil
}
