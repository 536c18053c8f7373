package reward

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	json "github.com/segmentio/encoding/json"
	"github.com/yima-dev/yima/store"
)

// RangeState is the state of a range of serials in a batch.
type RangeState string

const (
	// Inactive serials verify as genuine but are not redeemed: the pallet
	// has not shipped. Every serial starts inactive unless minted with
	// --activate.
	Inactive RangeState = "inactive"
	Active   RangeState = "active"
	// Revoked serials are frozen for good, e.g. a leaked range.
	Revoked RangeState = "revoked"
)

// Range is an inclusive range of serials in one state.
type Range struct {
	From  uint32     `json:"from"`
	To    uint32     `json:"to"`
	State RangeState `json:"state"`
	// Region, on an activation, is where that shipment is meant to be
	// sold; it overrides the batch's for those serials.
	Region string `json:"region,omitempty"`
}

// Batch is the one record a mint writes: codes themselves are never stored
// until they are scanned.
type Batch struct {
	ID       uint32    `json:"id"`
	Product  string    `json:"product"`
	GTIN     string    `json:"gtin,omitempty"`
	Count    uint32    `json:"count"`
	KeyID    uint8     `json:"key_id"`
	Created  time.Time `json:"created"`
	Campaign string    `json:"campaign,omitempty"`
	Region   string    `json:"region,omitempty"`
	// Points is the fixed reward of a scan when no campaign applies.
	Points int64 `json:"points,omitempty"`
	// Produced is the production date the factory gave, YYYY-MM-DD.
	Produced string `json:"produced,omitempty"`
	// Ranges lists the serial ranges that are active or revoked; serials in
	// none of them are inactive. Revocation wins over activation.
	Ranges []Range `json:"ranges,omitempty"`

	// CodeVersion is the code format the batch's codes are minted in, for
	// good: one item has one code. Records from before version 2 have 0,
	// which means 1; read it through Codes.
	CodeVersion uint8 `json:"code_version,omitempty"`

	// MintedBy is the id of the factory token that minted the batch, empty
	// for the brand's own (admin) batches. A factory token activates and
	// revokes only its own batches.
	MintedBy string `json:"minted_by,omitempty"`
	// Factory is the factory of the token that minted the batch, when the
	// token was made for one: every token of that factory sees the batch.
	Factory string `json:"factory,omitempty"`
	// PayoutHeld is set on a factory's batch: its codes verify as genuine
	// but pay nothing until the brand releases the batch for payout (see
	// Engine.ReleaseBatch). What a code pays is the brand's decision, not
	// a factory's.
	PayoutHeld bool `json:"payout_held,omitempty"`
	// Claim is ClaimPIN when a code's reward needs the inner PIN printed
	// inside the package, PINDigits long; empty claims with the code.
	Claim      string    `json:"claim,omitempty"`
	PINDigits  uint8     `json:"pin_digits,omitempty"`
	ReleasedAt time.Time `json:"payout_released_at,omitzero"`
}

// Codes returns the code version of the batch: CodeVersion, or 1 for a
// record written before the field existed.
func (b *Batch) Codes() uint8 {
	if b.CodeVersion == 0 {
		return 1
	}
	return b.CodeVersion
}

// State returns the state of serial.
func (b *Batch) State(serial uint32) RangeState {
	st := Inactive
	for _, r := range b.Ranges {
		if serial >= r.From && serial <= r.To {
			if r.State == Revoked {
				return Revoked
			}
			st = r.State
		}
	}
	return st
}

// Counts returns how many serials are active and revoked. Ranges are few,
// so it sweeps their boundaries rather than the serials.
func (b *Batch) Counts() (active, revoked uint64) {
	bounds := []uint32{1, b.Count + 1}
	for _, r := range b.Ranges {
		bounds = append(bounds, r.From, r.To+1)
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	for i := 0; i+1 < len(bounds); i++ {
		n := uint64(bounds[i+1] - bounds[i])
		switch b.State(bounds[i]) {
		case Active:
			active += n
		case Revoked:
			revoked += n
		}
	}
	return active, revoked
}

// ErrRange is returned for a serial range outside the batch.
var ErrRange = errors.New("reward: serial range outside the batch")

// SetRange marks serials from..to with state. Revoked serials stay revoked.
func (b *Batch) SetRange(from, to uint32, state RangeState) error {
	return b.AddRange(Range{From: from, To: to, State: state})
}

// AddRange records r: an activation (with the region its shipment is
// meant for, if any) or a revocation. Revoked serials stay revoked.
func (b *Batch) AddRange(r Range) error {
	if r.From == 0 || r.From > r.To || r.To > b.Count {
		return fmt.Errorf("%w: %d..%d (batch %d has serials 1..%d)", ErrRange, r.From, r.To, b.ID, b.Count)
	}
	if r.State != Active && r.State != Revoked {
		return fmt.Errorf("reward: cannot set serials to %q", r.State)
	}
	if r.State == Revoked && r.Region != "" {
		return errors.New("reward: a revocation has no region; give regions when activating")
	}
	// Pallets ship one after another: a range that meets or overlaps the
	// last one, in the same state and region, extends it. Every scan reads
	// the ranges and every change rewrites them, so a batch activated
	// pallet by pallet must not gather one range per pallet. Only the last
	// range may grow: ranges after it would otherwise lose their say.
	if n := len(b.Ranges); n > 0 {
		last := &b.Ranges[n-1]
		if last.State == r.State && last.Region == r.Region && r.From <= last.To+1 && last.From <= r.To+1 {
			last.From, last.To = min(last.From, r.From), max(last.To, r.To)
			return nil
		}
	}
	b.Ranges = append(b.Ranges, r)
	return nil
}

// RegionOf returns where serial is meant to be sold: the region of the
// latest activation that covers it and names one, else the batch's.
func (b *Batch) RegionOf(serial uint32) string {
	for i := len(b.Ranges) - 1; i >= 0; i-- {
		if r := b.Ranges[i]; r.Region != "" && serial >= r.From && serial <= r.To {
			return r.Region
		}
	}
	return b.Region
}

var (
	batchSeqKey = []byte("meta/batch-seq")
	batchPrefix = []byte("b/")
)

// batchKey is the key of batch id's record.
func batchKey(id uint32) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), batchPrefix...), id)
}

// nextBatchID allocates a batch id inside a decision.
func nextBatchID(tx Tx, maxID uint32) (uint32, error) {
	var id uint32 = 1
	v, found, err := tx.Get(batchSeqKey)
	switch {
	case err != nil:
		return 0, err
	case found && len(v) == 4:
		id = binary.BigEndian.Uint32(v) + 1
	}
	if id > maxID {
		return 0, fmt.Errorf("reward: all %d batch ids are used", maxID)
	}
	tx.Put(batchSeqKey, binary.BigEndian.AppendUint32(nil, id))
	return id, nil
}

// getBatch reads batch id's record; found is false when there is none.
func getBatch(r getter, id uint32) (*Batch, bool, error) {
	raw, found, err := r.Get(batchKey(id))
	if err != nil || !found {
		return nil, false, err
	}
	var b Batch
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, false, fmt.Errorf("reward: batch %d record is corrupt: %w", id, err)
	}
	return &b, true, nil
}

// CountBatches returns how many batches r holds, without an engine: a
// data directory that lost its keyset checks it before making a new one.
func CountBatches(r store.Reader) (int, error) {
	n := 0
	err := r.Scan(batchPrefix, nil, func(_, _ []byte) bool { n++; return true })
	return n, err
}

// listBatches returns every batch record in id order.
func listBatches(r store.Reader) ([]*Batch, error) {
	var out []*Batch
	err := scanRecords(r, string(batchPrefix), stopOnCorrupt, func(_ string, b *Batch) { out = append(out, b) })
	return out, err
}
