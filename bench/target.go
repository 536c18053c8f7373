package bench

import (
	"context"
	"math"
)

// Target is a system under test. The in-process yima server and a running
// one reached by URL are Targets; so will be the Redis and PostgreSQL
// baselines, each answering the same Ops in its own way.
type Target interface {
	// Name says what is measured, for the report.
	Name() string
	// Prepare makes n codes that were never scanned, redeemable now (mint
	// and activate), and returns them.
	Prepare(ctx context.Context, n int) (Codes, error)
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

// Op is one request of the workload.
type Op struct {
	Kind   Kind
	Code   string // the code scanned (Fresh, Duplicate, Contested, Forged)
	Member string // who scans
}

// Outcome is what came back for an Op.
type Outcome struct {
	// Status is the HTTP status, or for a non-HTTP target the status the
	// same answer would have; 0 when no answer came (see Err).
	Status int
	// Code is the error code of a refusal ("already_redeemed"), or for a
	// transport failure a short class ("timeout", "conn_refused").
	Code string
	// Points is what a redeemed scan promised the member.
	Points int64
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

func unknownStats() Stats {
	return Stats{CPUSeconds: math.NaN(), GroupSum: math.NaN(), GroupCount: math.NaN()}
}

// Checker is what the audit reads back from the server. The in-process and
// URL targets ask yima's API; a test fakes it.
type Checker interface {
	// CodeRedeemed reports whether the server records code as redeemed.
	CodeRedeemed(ctx context.Context, code string) (bool, error)
	// Member returns what the server's ledger says of a member.
	Member(ctx context.Context, member string) (MemberState, error)
}

// MemberState is a member's account as the server keeps it.
type MemberState struct {
	// Found is false when the member has no account (never redeemed).
	Found bool
	// Points is the member's balance.
	Points int64
	// Codes are the codes of the member's ledger entries for scans.
	Codes []string
}
