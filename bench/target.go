package bench

import (
	"context"
	"math"

	"github.com/yima-dev/yima/reward"
)

// Target is a system under test. The in-process yima server and a running
// one reached by URL are Targets; so are the Redis and PostgreSQL
// baselines, each answering the same Ops in its own way.
type Target interface {
	// Name says what is measured, for the report.
	Name() string
	// Prepare sets up what the run needs: the campaign, the guides and
	// their tokens, the members' bindings, and s.Codes codes that were
	// never scanned, redeemable now (mint and activate), which it returns.
	Prepare(ctx context.Context, s *Setup) (Codes, error)
	// Do performs one operation and reports its outcome. It is called from
	// many goroutines at once, and keeps nothing of op after it returns.
	Do(op *Op) Outcome
	// Stats samples the server's counters; Run takes one sample before and
	// one after the measured phase.
	Stats(ctx context.Context) (Stats, error)
	// Checker reads back the server's state for the audit.
	Checker
	Close() error
}

// Setup is what a run asks its target to prepare before the load.
type Setup struct {
	// Codes is how many fresh codes to mint.
	Codes int
	// Points is what a scan earns when there is no Campaign.
	Points int64
	// Campaign, when set, governs every scan of the minted codes: the
	// target applies it and mints the codes under it. Nil: fixed Points.
	Campaign *reward.Campaign
	// Guides are the ids of the guides to create, each with a token of
	// its own for verifying coupons.
	Guides []string
	// Bindings bind members to guides before the load.
	Bindings []Binding
}

// Binding binds a member to a guide.
type Binding struct{ Member, Guide string }

// Op is one request of the workload.
type Op struct {
	Kind   Kind
	Code   string // the code scanned (Fresh, Duplicate, Contested, Forged)
	Member string // who scans or spends
	// Guide is the guide at the counter (Verify), who sends the request
	// with their own token.
	Guide string
	// Coupon is the coupon verified (Verify).
	Coupon string
	// Points is how many points to spend (Spend).
	Points int64
	// RequestID makes a spend exactly-once (Spend).
	RequestID string
}

// Outcome is what came back for an Op.
type Outcome struct {
	// Status is the HTTP status, or for a non-HTTP target the status the
	// same answer would have; 0 when no answer came (see Err).
	Status int
	// Code is the error code of a refusal ("already_redeemed"), or for a
	// transport failure a short class ("timeout", "conn_refused").
	Code string
	// Points is what a redeemed scan promised the member (points and
	// bonus), or what a spend took.
	Points int64
	// Coupon is the id of the gift coupon a redeemed scan issued, if any.
	Coupon string
	// Guide is the guide a redeemed scan credited with Commission.
	Guide string
	// Commission is what a redeemed scan credited to Guide, or what a
	// verification credited to the verifying guide.
	Commission int64
	// Err is the transport failure, if no answer came.
	Err error
}

// uncertain reports whether the outcome leaves open whether the server
// acted: no answer, or a server error.
func (o Outcome) uncertain() bool { return o.Status == 0 || o.Status >= 500 }

// Codes are the codes a Target prepared, fresh for this run.
type Codes interface {
	Len() int
	// Code returns the i-th code, 0 <= i < Len(). Safe for concurrent use.
	Code(i int) string
}

// Stats is a sample of the server's counters. A figure the target cannot
// know is NaN.
type Stats struct {
	// CPUSeconds is the CPU time (user+system) the server process has used.
	CPUSeconds float64
	// CPUIncludesClient is true when the server shares the process with the
	// load generator (the in-process target).
	CPUIncludesClient bool
	// GroupSum and GroupCount are the sum and count of the
	// yima_commit_group_size histogram: decisions and commits.
	GroupSum, GroupCount float64
}

// UnknownStats is Stats with every figure unknown (NaN), for a target to
// fill in what it can measure.
func UnknownStats() Stats {
	return Stats{CPUSeconds: math.NaN(), GroupSum: math.NaN(), GroupCount: math.NaN()}
}

// Checker is what the audit reads back from the server. The in-process and
// URL targets ask yima's API; a baseline asks its database; a test fakes
// it.
type Checker interface {
	// CodeRedeemed reports whether the server records code as redeemed.
	CodeRedeemed(ctx context.Context, code string) (bool, error)
	// Member returns what the server's ledger says of a member.
	Member(ctx context.Context, member string) (MemberState, error)
	// Campaign returns a campaign's counters.
	Campaign(ctx context.Context, id string) (CampaignState, error)
	// Guide returns a guide's commission balance and verifications.
	Guide(ctx context.Context, id string) (GuideState, error)
	// Coupon returns a coupon's status.
	Coupon(ctx context.Context, id string) (CouponState, error)
	// ServerAudit runs the server's own consistency check over all its
	// state and returns the violations it found (none: clean).
	ServerAudit(ctx context.Context) ([]string, error)
}

// MemberState is a member's account as the server keeps it.
type MemberState struct {
	// Found is false when the member has no account (never redeemed).
	Found bool
	// Points is the member's balance.
	Points int64
	// Codes are the codes of the member's ledger entries for scans.
	Codes []string
	// Spends are the request ids of the member's ledger entries for
	// spends.
	Spends []string
}

// CampaignState is a campaign's running totals as the server keeps them.
type CampaignState struct {
	Found         bool
	PointsPaid    int64
	CouponsIssued int64
	CouponsUsed   int64
	Commission    int64
	RewardedScans int64
}

// GuideState is a guide's account as the server keeps it.
type GuideState struct {
	Found      bool
	Commission int64
	Verified   int64
}

// CouponState is a coupon as the server keeps it.
type CouponState struct {
	Found bool
	// Status is "issued", "used" or "void".
	Status string
}
