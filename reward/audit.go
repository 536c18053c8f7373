package reward

import (
	"fmt"
	"slices"

	json "github.com/segmentio/encoding/json"
)

// Scanner is what an audit reads: every record under a prefix.
type Scanner interface {
	Scan(prefix, start []byte, fn func(key, value []byte) bool) error
}

// AuditReport is the result of an audit. A clean store has no Violations.
type AuditReport struct {
	Redemptions int `json:"redemptions"`
	Members     int `json:"members"`
	Guides      int `json:"guides"`
	Entries     int `json:"entries"`
	Coupons     int `json:"coupons"`
	Campaigns   int `json:"campaigns"`
	Stores      int `json:"stores"`
	// Settlements counts the months settled (see Settle).
	Settlements int      `json:"settlements"`
	Rewards     int      `json:"rewards"`
	Exchanges   int      `json:"exchanges"`
	Orders      int      `json:"orders"`
	Adjustments int      `json:"adjustments"`
	Enrolments  int      `json:"enrolments"`
	Violations  []string `json:"violations"`
}

// maxViolations bounds a report: the first ones are what a person reads.
const maxViolations = 1000

func (a *AuditReport) violate(format string, args ...any) {
	if len(a.Violations) < maxViolations {
		a.Violations = append(a.Violations, fmt.Sprintf(format, args...))
	}
}

// corrupt reports a record of the kind what that does not decode, and
// lets the audit read on.
func (a *AuditReport) corrupt(what string) func(key string, err error) error {
	return func(key string, err error) error {
		a.violate("%s %q is corrupt: %v", what, key, err)
		return nil
	}
}

// scanRecords decodes each record under prefix as a T and hands it, with
// its key less the prefix, to keep. A record that does not decode goes to
// corrupt instead; an error corrupt returns stops the scan with it.
func scanRecords[T any](db Scanner, prefix string, corrupt func(key string, err error) error, keep func(key string, v *T)) error {
	p := []byte(prefix)
	var ferr error
	err := db.Scan(p, nil, func(k, raw []byte) bool {
		key := string(k[len(p):])
		v := new(T)
		if err := json.Unmarshal(raw, v); err != nil {
			ferr = corrupt(key, err)
			return ferr == nil
		}
		keep(key, v)
		return true
	})
	return firstErr(err, ferr)
}

// stopOnCorrupt stops a scan of records at one that does not decode, with
// its error.
func stopOnCorrupt(_ string, err error) error { return err }

// into keeps each record in m by its key.
func into[T any](m map[string]*T) func(key string, v *T) {
	return func(key string, v *T) { m[key] = v }
}

// Audit recomputes every balance from the ledger and checks the money rules
// over the whole store: one redemption per code, each with its ledger
// entries and no entry without its redemption, balances equal to their
// ledgers and never negative, budgets and stock never overspent, every
// coupon issued once and verified at most once, commissions that match
// scans and verifications; and the mall's stock, voucher lists and
// exchanges, purchase orders and adjustments (see mallAudit). Run it on a
// quiet store (yima audit opens the data directory, so no server holds it).
//
// It reads each kind of record in key order and holds in memory what is
// bounded by something else than the number of codes: the campaigns,
// guides and the mall's records, one member or guide's running sums at a
// time, and the sums of the joins across kinds (see auditjoin.go). What
// grows with the store is a filter of about 10 bits a ledger entry.
func Audit(db Scanner) (*AuditReport, error) {
	a := &AuditReport{Violations: []string{}}
	w := &auditWalk{a: a, db: db}
	if err := w.run(); err != nil {
		return nil, wrapStore(err)
	}
	slices.Sort(a.Violations) // maps iterate randomly; a report reads the same twice
	return a, nil
}

// Audit runs Audit over a consistent snapshot of the engine's store, so it
// can run beside live traffic.
func (e *Engine) Audit() (*AuditReport, error) {
	snap, err := e.db.Snapshot()
	if err != nil {
		return nil, wrapStore(err)
	}
	defer snap.Close()
	rep, err := Audit(snap)
	return rep, wrapStore(err)
}

// firstErr returns the first of errs that is not nil: after a scan, the
// store's own error before the one its callback kept and stopped on.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
