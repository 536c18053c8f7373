package rewardtest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/store"
)

// Start is the time a fixture's clock starts at: inside the default
// campaign's window, on a weekday morning in UTC.
var Start = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// sharedSecret signs fixtures asked for shared keys, so that two of them
// mint the very same codes and can be asked about one code.
var sharedSecret = []byte("yima reward rules tests, not a real key")

// Options shape a fixture.
type Options struct {
	// Count and Points are the active batch's size and its points a scan.
	Count  uint32
	Points int64
	// SharedKeys signs with a fixed secret instead of fresh keys.
	SharedKeys bool
	// Now is the engine's clock; nil reads the fixture's Now field.
	Now func() time.Time
}

// Fixture is an engine over one store with one active batch of product
// SKU-1. Tests move Now to move the engine's clock (unless Options.Now
// replaced it).
type Fixture struct {
	DB     store.DB
	Eng    *reward.Engine
	Signer *codegen.Signer
	Batch  *reward.Batch
	Now    time.Time
}

// Keys returns fresh keys, or with shared the fixed ones every fixture
// asked for shared keys signs with.
func Keys(tb testing.TB, shared bool) *codegen.Keyset {
	tb.Helper()
	ks, err := codegen.NewKeyset(time.Unix(0, 0))
	if shared {
		ks, err = codegen.NewKeysetFromSecret(1, sharedSecret)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return ks
}

// NewEngine returns an engine over db with fresh keys, its index of
// scanned codes loaded.
func NewEngine(tb testing.TB, db store.DB, opts reward.Options) *reward.Engine {
	tb.Helper()
	return newEngine(tb, db, Keys(tb, false), opts)
}

func newEngine(tb testing.TB, db store.DB, ks *codegen.Keyset, opts reward.Options) *reward.Engine {
	tb.Helper()
	eng := reward.New(db, ks, opts)
	if err := eng.LoadSeen(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return eng
}

// Open returns a fixture over db, an empty store the caller opened (and
// closes).
func Open(tb testing.TB, db store.DB, o Options) *Fixture {
	tb.Helper()
	f := &Fixture{DB: db, Now: Start}
	clock := o.Now
	if clock == nil {
		clock = func() time.Time { return f.Now }
	}
	f.Eng = newEngine(tb, db, Keys(tb, o.SharedKeys), reward.Options{Now: clock})
	f.Batch, f.Signer = MustMint(tb, f.Eng, reward.BatchSpec{Product: "SKU-1", Count: o.Count, Points: new(o.Points), Activate: true})
	return f
}

// Codes returns the codes of serials 1 to n that s mints (a signer is not
// for concurrent use: tests that scan from many goroutines mint first).
func Codes(s *codegen.Signer, n int) []string {
	codes := make([]string, n)
	for i := range codes {
		codes[i] = s.Code(uint32(i + 1))
	}
	return codes
}

// CampaignDoc is a small valid campaign ("promo", 10 points a scan on
// SKU-1, live from 2026 through 2029) with fields replaced; a nil value
// removes the field.
func CampaignDoc(tb testing.TB, fields map[string]any) string {
	tb.Helper()
	doc := map[string]any{
		"id":        "promo",
		"products":  []string{"SKU-1"},
		"starts_at": "2026-01-01T00:00:00Z",
		"ends_at":   "2030-01-01T00:00:00Z",
		"points":    10,
	}
	for k, v := range fields {
		if v == nil {
			delete(doc, k)
		} else {
			doc[k] = v
		}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return string(raw)
}

// Scan runs a scan and decodes a redeemed answer; raw is the answer as the
// engine wrote it.
func Scan(eng *reward.Engine, req reward.ScanRequest) (res reward.ScanResult, raw json.RawMessage, err error) {
	raw, err = eng.Scan(req)
	if err == nil {
		if jerr := json.Unmarshal(raw, &res); jerr != nil {
			return res, raw, jerr
		}
	}
	return res, raw, err
}

// MustRedeem scans code as member and stops the test unless it redeems.
func MustRedeem(tb testing.TB, eng *reward.Engine, code, member string) reward.ScanResult {
	tb.Helper()
	res, _, err := Scan(eng, reward.ScanRequest{Code: code, Member: member})
	if err != nil {
		tb.Fatalf("scan of %s by %s: %v", code, member, err)
	}
	return res
}

// WantRefused scans code as member and stops the test unless the scan is
// refused with want.
func WantRefused(tb testing.TB, eng *reward.Engine, code, member string, want reward.Code) error {
	tb.Helper()
	_, _, err := Scan(eng, reward.ScanRequest{Code: code, Member: member})
	if got := reward.ErrorCode(err); got != want {
		tb.Fatalf("scan of %s by %s: %v, want %s", code, member, err, want)
	}
	return err
}

// IsRedeemed says whether code reads as redeemed.
func IsRedeemed(tb testing.TB, eng *reward.Engine, code string) bool {
	tb.Helper()
	st, err := eng.Status(code)
	if err != nil {
		tb.Fatal(err)
	}
	return st.Redeemed
}

// MustApply parses and applies a campaign document.
func MustApply(tb testing.TB, eng *reward.Engine, doc string) *reward.CampaignView {
	tb.Helper()
	return mustPut(tb, doc, reward.ParseCampaign, eng.ApplyCampaign)
}

// MustPutReward parses and puts a mall reward document.
func MustPutReward(tb testing.TB, eng *reward.Engine, doc string) *reward.RewardView {
	tb.Helper()
	parse := func(raw []byte) (*reward.Reward, error) { return reward.ParseReward(raw, "") }
	return mustPut(tb, doc, parse, eng.PutReward)
}

// mustPut parses doc and puts what it says, stopping the test if either
// fails: how a test writes a document as the admin API would.
func mustPut[R, V any](tb testing.TB, doc string, parse func([]byte) (R, error), put func(R) (V, error)) V {
	tb.Helper()
	r, err := parse([]byte(doc))
	if err != nil {
		tb.Fatal(err)
	}
	v, err := put(r)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// MustAudit stops the test when the audit finds anything.
func MustAudit(tb testing.TB, eng *reward.Engine) {
	tb.Helper()
	rep, err := eng.Audit()
	if err != nil {
		tb.Fatal(err)
	}
	noViolations(tb, "audit", rep.Violations)
	// The event feed alone must rebuild every balance and coupon the
	// audit checked.
	MustReplay(tb, eng)
}

// MustReplay replays the event feed against the records and stops the
// test on any violation (see reward.ReplayFeed).
func MustReplay(tb testing.TB, eng *reward.Engine) *reward.ReplayReport {
	tb.Helper()
	rep, err := eng.ReplayFeed()
	if err != nil {
		tb.Fatal(err)
	}
	noViolations(tb, "replaying the feed", rep.Violations)
	return rep
}

// noViolations stops the test when a check (what) found any violation,
// naming the first.
func noViolations(tb testing.TB, what string, violations []string) {
	tb.Helper()
	if len(violations) > 0 {
		tb.Fatalf("%s: %d violations, first: %q", what, len(violations), violations[0])
	}
}

// MustCampaign reads a campaign's view.
func MustCampaign(tb testing.TB, eng *reward.Engine, id string) *reward.CampaignView {
	tb.Helper()
	v, err := eng.Campaign(id)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// MustStore creates the store id, named after its id, unless it exists:
// a guide belongs to a store record.
func MustStore(tb testing.TB, eng *reward.Engine, id string) {
	tb.Helper()
	if _, err := eng.Store(id); err == nil {
		return
	}
	name := "Store " + id
	if _, _, err := eng.PutStore(id, reward.StoreChange{Name: &name}); err != nil {
		tb.Fatal(err)
	}
}

// MustGuide adds guide id at store-1; member is the guide's own consumer
// identity ("" for none).
func MustGuide(tb testing.TB, eng *reward.Engine, id, member string) {
	tb.Helper()
	MustStore(tb, eng, "store-1")
	if _, _, err := eng.AddGuide(reward.Guide{ID: id, Store: "store-1", Member: member}); err != nil {
		tb.Fatal(err)
	}
}

// MustMember reads a member with the newest ledger entry.
func MustMember(tb testing.TB, eng *reward.Engine, id string) *reward.MemberView {
	tb.Helper()
	v, err := eng.Member(id, "", 1)
	if err != nil {
		tb.Fatalf("member %s: %v", id, err)
	}
	return v
}

// Ledger reads a member's ("l/") or guide's ("gl/") whole ledger, oldest
// first, straight from the store.
func Ledger(tb testing.TB, db store.Reader, prefix, holder string) []reward.Entry {
	tb.Helper()
	var out []reward.Entry
	err := db.Scan([]byte(prefix+holder+"\x00"), nil, func(_, v []byte) bool {
		var en reward.Entry
		if err := json.Unmarshal(v, &en); err != nil {
			tb.Fatal(err)
		}
		out = append(out, en)
		return true
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Redemption reads code's redemption record straight from the store.
func Redemption(tb testing.TB, db store.Reader, code string) reward.Redemption {
	tb.Helper()
	raw, found, err := db.Get([]byte("r/" + code))
	if err != nil || !found {
		tb.Fatalf("redemption of %s: found %v, %v", code, found, err)
	}
	var r reward.Redemption
	if err := json.Unmarshal(raw, &r); err != nil {
		tb.Fatal(err)
	}
	return r
}
