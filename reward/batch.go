package reward

import (
	"errors"
	"fmt"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/store"
)

// DefaultBatchPoints is what a scan of a batch earns when no campaign covers
// it and the batch was minted without points.
const DefaultBatchPoints = 10

// BatchSpec is what a factory asks for when minting.
type BatchSpec struct {
	Product  string `json:"product"`
	GTIN     string `json:"gtin,omitempty"`
	Count    uint32 `json:"count"`
	Region   string `json:"region,omitempty"`
	Campaign string `json:"campaign,omitempty"`
	// Points is what a scan earns when no campaign covers the batch; nil
	// means DefaultBatchPoints.
	Points   *int64 `json:"points,omitempty"`
	Activate bool   `json:"activate,omitempty"`
}

func (s *BatchSpec) check() error {
	if err := checkID("product", s.Product, true); err != nil {
		return err
	}
	for _, f := range [][2]string{{"gtin", s.GTIN}, {"region", s.Region}, {"campaign", s.Campaign}} {
		if err := checkID(f[0], f[1], false); err != nil {
			return err
		}
	}
	if s.GTIN != "" {
		for _, r := range s.GTIN {
			if r < '0' || r > '9' {
				return Errorf(CodeInvalidRequest, "gtin %q must be digits only (GTIN-8/12/13/14)", s.GTIN)
			}
		}
		if n := len(s.GTIN); n != 8 && n != 12 && n != 13 && n != 14 {
			return Errorf(CodeInvalidRequest, "gtin %q must have 8, 12, 13 or 14 digits", s.GTIN)
		}
	}
	if s.Count == 0 || s.Count > codegen.MaxSerial {
		return Errorf(CodeInvalidRequest, "count must be between 1 and %d codes per batch", codegen.MaxSerial)
	}
	if s.Points != nil && *s.Points < 0 {
		return Errorf(CodeInvalidRequest, "points must not be negative")
	}
	return nil
}

// CreateBatch records a new batch under the primary key: one record, however
// many codes. The caller then exports the codes with codegen.
func (e *Engine) CreateBatch(spec BatchSpec) (*store.Batch, error) {
	if err := spec.check(); err != nil {
		return nil, err
	}
	b := &store.Batch{
		Product: spec.Product, GTIN: spec.GTIN, Count: spec.Count, KeyID: e.Keys().Primary,
		Created: e.now(), Campaign: spec.Campaign, Region: spec.Region, Points: DefaultBatchPoints,
	}
	if spec.Points != nil {
		b.Points = *spec.Points
	}
	if spec.Activate {
		b.Ranges = []store.Range{{From: 1, To: spec.Count, State: store.Active}}
	}
	err := e.update(func(tx Tx) error {
		id, err := store.NextBatchID(tx, codegen.MaxBatch)
		if err != nil {
			return Errorf(CodeInvalidRequest, "%v", err)
		}
		b.ID = id
		return store.PutBatch(tx, b)
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Batch returns a batch record.
func (e *Engine) Batch(id uint32) (*store.Batch, error) {
	b, err := store.GetBatch(e.db, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(CodeNotFound, "no batch %d (see yima batch list)", id)
	}
	return b, wrapStore(err)
}

// SetRange activates or revokes serials r.From..r.To of a batch (zero
// bounds: the whole batch). An activation may name the region its shipment
// is meant for: scans of those serials elsewhere are flagged diverted.
func (e *Engine) SetRange(id uint32, r store.Range) (*store.Batch, error) {
	if err := checkID("region", r.Region, false); err != nil {
		return nil, err
	}
	var out *store.Batch
	err := e.update(func(tx Tx) error {
		b, err := store.GetBatch(tx, id)
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(CodeNotFound, "no batch %d (see yima batch list)", id)
		}
		if err != nil {
			return err
		}
		if r.From == 0 && r.To == 0 {
			r.From, r.To = 1, b.Count
		}
		if err := b.AddRange(r); err != nil {
			return Errorf(CodeInvalidRequest, "%v", err)
		}
		out = b
		return store.PutBatch(tx, b)
	})
	return out, err
}

// Signer returns a signer for a batch, to export its codes.
func (e *Engine) Signer(b *store.Batch) (*codegen.Signer, error) {
	s, err := e.Keys().Signer(b.KeyID, b.ID)
	if err != nil {
		return nil, fmt.Errorf("reward: batch %d: %w", b.ID, err)
	}
	return s, nil
}

// CodeBatchReleased refuses to delete a batch whose codes were released.
const CodeBatchReleased Code = "batch_released"

// DeleteBatch removes a batch that was never released: no serial of it was
// ever activated or revoked, so none of its codes can have paid anything.
// A mint that fails to deliver its codes uses it to leave nothing behind.
// The id is never given out again, so the codes stay unknown for good.
func (e *Engine) DeleteBatch(id uint32) error {
	return e.update(func(tx Tx) error {
		b, err := store.GetBatch(tx, id)
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(CodeNotFound, "no batch %d (see yima batch list)", id)
		}
		if err != nil {
			return err
		}
		if len(b.Ranges) > 0 {
			return Errorf(CodeBatchReleased, "batch %d has activated or revoked serials; revoke it instead of deleting it", id)
		}
		tx.Delete(store.BatchKey(id))
		return nil
	})
}
