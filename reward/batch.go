package reward

import (
	"fmt"
	"strings"
	"time"

	"github.com/yima-dev/yima/codegen"
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
	// Produced is the batch's production date as the factory gives it,
	// YYYY-MM-DD; a code's page shows it.
	Produced string `json:"produced,omitempty"`
	// Claim is ClaimPIN for codes claimed with an inner PIN, PINDigits
	// long (6-8; 0 is 8); empty claims with the code alone.
	Claim     string `json:"claim,omitempty"`
	PINDigits uint8  `json:"pin_digits,omitempty"`
	// Factory is the id of the factory token minting, set by the server:
	// the batch is that factory's and its payout is held until the brand
	// releases it. Empty for the brand's own mints.
	Factory string `json:"-"`
	// FactoryName is the factory that token belongs to, set by the
	// server: the factory's other tokens see the batch too.
	FactoryName string `json:"-"`
}

func (s *BatchSpec) check() error {
	if err := checkID("product", s.Product, true); err != nil {
		return err
	}
	if err := checkIDs(false, [][2]string{{"gtin", s.GTIN}, {"region", s.Region}, {"campaign", s.Campaign}}); err != nil {
		return err
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
	if s.Produced != "" {
		if _, err := time.Parse(time.DateOnly, s.Produced); err != nil {
			return Errorf(CodeInvalidRequest, "produced %q: give the production date as YYYY-MM-DD, e.g. 2026-11-01", s.Produced)
		}
	}
	if s.Count == 0 || s.Count > codegen.MaxSerial {
		return Errorf(CodeInvalidRequest, "count must be between 1 and %d codes per batch", codegen.MaxSerial)
	}
	switch {
	case s.Claim != "" && s.Claim != ClaimPIN:
		return Errorf(CodeInvalidRequest, "claim %q: use pin, or leave it out to claim with the code alone", s.Claim)
	case s.Claim == "" && s.PINDigits != 0:
		return Errorf(CodeInvalidRequest, "pin_digits needs claim pin")
	case s.PINDigits != 0 && (s.PINDigits < codegen.MinPINDigits || s.PINDigits > codegen.MaxPINDigits):
		return Errorf(CodeInvalidRequest, "pin_digits must be %d to %d", codegen.MinPINDigits, codegen.MaxPINDigits)
	}
	if s.Points != nil && *s.Points < 0 {
		return Errorf(CodeInvalidRequest, "points must not be negative")
	}
	if s.Points != nil && *s.Points > MaxPoints {
		return &Error{Code: CodeAmountOutOfRange, Message: fmt.Sprintf("points %d is above the limit of %d a scan", *s.Points, MaxPoints),
			Details: map[string]any{"field": "points", "limit": MaxPoints}}
	}
	return nil
}

// CreateBatch records a new batch under the primary key: one record, however
// many codes. The caller then exports the codes with codegen.
func (e *Engine) CreateBatch(spec BatchSpec) (*Batch, error) {
	if err := spec.check(); err != nil {
		return nil, err
	}
	b := &Batch{
		Product: spec.Product, GTIN: spec.GTIN, Count: spec.Count, KeyID: e.Keys().Primary, CodeVersion: codegen.MintVersion,
		Created: e.now(), Campaign: spec.Campaign, Region: spec.Region, Points: DefaultBatchPoints, Produced: spec.Produced,
	}
	if spec.Points != nil {
		b.Points = *spec.Points
	}
	if spec.Claim == ClaimPIN {
		if !e.Keys().HasPINSecret(b.KeyID) {
			return nil, Errorf(CodeInvalidRequest, "the primary signing key %d was made before keys had PIN secrets: rotate keys (yima keys rotate) to mint batches claimed with a PIN", b.KeyID)
		}
		b.Claim, b.PINDigits = ClaimPIN, spec.PINDigits
		if b.PINDigits == 0 {
			b.PINDigits = codegen.DefaultPINDigits
		}
	}
	if spec.Activate {
		b.Ranges = []Range{{From: 1, To: spec.Count, State: Active}}
	}
	if spec.Factory != "" {
		if spec.Points != nil || spec.Campaign != "" {
			return nil, Errorf(CodeForbidden, "a factory mints codes but does not set what they pay: leave out points and campaign; the brand decides when it releases the batch (yima batch release)")
		}
		b.MintedBy, b.Factory, b.PayoutHeld = spec.Factory, spec.FactoryName, true
	}
	var out *Batch
	err := e.update(func(tx Tx) error {
		id, err := nextBatchID(tx, codegen.MaxBatch)
		if err != nil {
			return Errorf(CodeInvalidRequest, "%v", err)
		}
		nb := *b
		nb.ID = id
		putJSON(tx, batchKey(id), &nb)
		out = &nb
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Batch returns a batch record.
func (e *Engine) Batch(id uint32) (*Batch, error) {
	b, found, err := getBatch(e.db, id)
	if err == nil && !found {
		return nil, Errorf(CodeNotFound, "no batch %d (see yima batch list)", id)
	}
	return b, wrapStore(err)
}

// Batches returns every batch record, in id order.
func (e *Engine) Batches() ([]*Batch, error) {
	bs, err := listBatches(e.db)
	return bs, wrapStore(err)
}

// SetRange activates or revokes serials r.From..r.To of a batch (zero
// bounds: the whole batch). An activation may name the region its shipment
// is meant for: scans of those serials elsewhere are flagged diverted.
func (e *Engine) SetRange(id uint32, r Range) (*Batch, error) { return e.SetRangeFor(id, r, Owner{}) }

// SetRangeFor is SetRange asked by o: a factory activates and revokes only
// the batches it (or its factory) minted. The zero Owner is the brand, who
// may change any batch.
func (e *Engine) SetRangeFor(id uint32, r Range, o Owner) (*Batch, error) {
	if err := checkID("region", r.Region, false); err != nil {
		return nil, err
	}
	return e.changeBatch(id, func(b *Batch) error {
		if !o.Owns(b) {
			return notOwned(id)
		}
		if r.From == 0 && r.To == 0 {
			r.From, r.To = 1, b.Count
		}
		if err := b.AddRange(r); err != nil {
			return Errorf(CodeInvalidRequest, "%s", strings.TrimPrefix(err.Error(), "reward: "))
		}
		return nil
	})
}

// changeBatch is one decision that loads batch id, lets change update it
// (or refuse) and stores it.
func (e *Engine) changeBatch(id uint32, change func(b *Batch) error) (*Batch, error) {
	var out *Batch
	err := e.update(func(tx Tx) error {
		b, err := batchToChange(tx, id)
		if err != nil {
			return err
		}
		if err := change(b); err != nil {
			return err
		}
		putJSON(tx, batchKey(id), b)
		out = b
		return nil
	})
	return out, err
}

// Release is what the brand decides a held batch pays: its fixed points
// when no campaign covers it (nil keeps DefaultBatchPoints) or a campaign.
type Release struct {
	Points   *int64 `json:"points,omitempty"`
	Campaign string `json:"campaign,omitempty"`
}

// ReleaseBatch releases a factory's batch for payout, an admin's decision:
// until then its codes verify but are refused with payout_held and stay
// unredeemed. Releasing a batch that is not held is a no-op that may still
// set what it pays.
func (e *Engine) ReleaseBatch(id uint32, r Release) (*Batch, error) {
	if err := checkID("campaign", r.Campaign, false); err != nil {
		return nil, err
	}
	if err := (&BatchSpec{Product: "-", Count: 1, Points: r.Points}).check(); err != nil {
		return nil, err
	}
	return e.changeBatch(id, func(b *Batch) error {
		if b.PayoutHeld {
			b.PayoutHeld, b.ReleasedAt = false, e.now()
		}
		if r.Points != nil {
			b.Points = *r.Points
		}
		if r.Campaign != "" {
			b.Campaign = r.Campaign
		}
		return nil
	})
}

// Signer returns a signer for a batch, to export its codes: under the
// batch's key and in the batch's code version, so that a batch printed
// again gives the same codes.
func (e *Engine) Signer(b *Batch) (*codegen.Signer, error) {
	s, err := e.Keys().VersionSigner(b.Codes(), b.KeyID, b.ID)
	if err != nil {
		return nil, fmt.Errorf("reward: batch %d: %w", b.ID, err)
	}
	return s, nil
}

// NotMinted says why a genuine code is not one of batch b's codes, or ""
// when it is. A batch's codes have its key and its code version: a code of
// the same serial in another version or under another key was never
// printed, and honouring it would give one item two codes.
func NotMinted(b *Batch, p codegen.Parsed) string {
	switch {
	case p.Serial > b.Count:
		return fmt.Sprintf("serial %d is beyond batch %d's %d codes", p.Serial, b.ID, b.Count)
	case p.Version != b.Codes() || p.Key != b.KeyID:
		return fmt.Sprintf("batch %d's codes are version %d under key %d, not version %d under key %d", b.ID, b.Codes(), b.KeyID, p.Version, p.Key)
	}
	return ""
}

// CodeBatchReleased refuses to delete a batch whose codes were released.
const CodeBatchReleased Code = "batch_released"

// DeleteBatch removes a batch that was never released: no serial of it was
// ever activated or revoked, so none of its codes can have paid anything.
// A mint that fails to deliver its codes uses it to leave nothing behind.
// The id is never given out again, so the codes stay unknown for good.
func (e *Engine) DeleteBatch(id uint32) error { return e.DeleteBatchFor(id, Owner{}) }

// DeleteBatchFor is DeleteBatch asked by o, who must own the batch.
func (e *Engine) DeleteBatchFor(id uint32, o Owner) error {
	return e.update(func(tx Tx) error {
		b, err := batchToChange(tx, id)
		if err != nil {
			return err
		}
		if !o.Owns(b) {
			return notOwned(id)
		}
		if len(b.Ranges) > 0 {
			return Errorf(CodeBatchReleased, "batch %d has activated or revoked serials; revoke it instead of deleting it", id)
		}
		tx.Delete(batchKey(id))
		return nil
	})
}

// batchToChange reads the batch a decision changes; an unknown id is the
// caller's not_found.
func batchToChange(tx Tx, id uint32) (*Batch, error) {
	b, found, err := getBatch(tx, id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, Errorf(CodeNotFound, "no batch %d (see yima batch list)", id)
	}
	return b, nil
}
