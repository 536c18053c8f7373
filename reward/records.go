package reward

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"github.com/yima-dev/yima/store"
)

// Tx is what a rule sees of storage. *store.Tx satisfies it.
type Tx interface {
	// Get returns the value of key or store.ErrNotFound.
	Get(key []byte) ([]byte, error)
	Put(key, value []byte)
}

// Redemption is the record of a code's one payout.
type Redemption struct {
	Code      string    `json:"code"`
	Member    string    `json:"member"`
	Guide     string    `json:"guide,omitempty"`
	Region    string    `json:"region,omitempty"`
	Batch     uint32    `json:"batch"`
	Serial    uint32    `json:"serial"`
	Product   string    `json:"product"`
	At        time.Time `json:"at"`
	Points    int64     `json:"points"`
	RequestID string    `json:"request_id,omitempty"`
	// Ledger lists the ids of the ledger entries the redemption wrote, so
	// the audit can check both directions.
	Ledger []string `json:"ledger,omitempty"`
}

// ScanStats counts every scan of a code, redeemed or not.
type ScanStats struct {
	Scans    uint64    `json:"scans"`
	Scanners uint64    `json:"scanners"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
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
}

// Entry is one append-only ledger line. Balances are the sums of entries.
type Entry struct {
	ID      string    `json:"id"`
	Seq     uint64    `json:"seq"`
	At      time.Time `json:"at"`
	Member  string    `json:"member"`
	Account string    `json:"account"` // points, growth
	Delta   int64     `json:"delta"`
	Balance int64     `json:"balance"`
	Reason  string    `json:"reason"`
	Code    string    `json:"code,omitempty"`
}

// Stored is the remembered answer of a request_id.
type Stored struct {
	Hash   []byte          `json:"hash"`
	Result json.RawMessage `json:"result"`
}

// Keys. Member ids are validated to exclude 0x00, which ends them inside
// composite keys so that no id is a prefix of another's entries.
func redemptionKey(code string) []byte { return append([]byte("r/"), code...) }
func scanStatsKey(code string) []byte  { return append([]byte("sc/"), code...) }
func scannerKey(code, who string) []byte {
	k := append([]byte("sm/"), code...)
	return append(append(k, 0), who...)
}
func memberKey(id string) []byte { return append([]byte("m/"), id...) }
func ledgerPrefix(member string) []byte {
	return append(append([]byte("l/"), member...), 0)
}
func ledgerKey(member string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(ledgerPrefix(member), seq)
}
func requestKey(id string) []byte { return append([]byte("q/"), id...) }

// getJSON reads key into v; found is false when the key is absent.
func getJSON(tx store.Reader, key []byte, v any) (found bool, err error) {
	raw, err := tx.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(raw, v)
}

func putJSON(tx Tx, key []byte, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		// Every record type here marshals; a failure is a programming
		// error and the decider turns the panic into an error.
		panic(err)
	}
	tx.Put(key, raw)
}
