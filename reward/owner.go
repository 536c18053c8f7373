package reward

// Owner is who asks about a batch: a factory token (its id) and the
// factory it belongs to. The zero Owner is the brand (the admin token, or
// the CLI on the data directory), who may see and change every batch.
//
// A factory's batches hold codes that will pay once the brand releases
// them, so a factory token that leaked must expose no other factory's
// codes, and one factory's printers must not read another's: each batch
// answers only to the token that minted it and to that token's factory.
type Owner struct {
	// Token is the id of the factory token (see TokenID); empty for the
	// brand.
	Token string
	// Factory is the factory the token was made for (yima token create
	// --role factory --factory F); empty when it names none, and then the
	// token sees only what it minted itself.
	Factory string
}

// IsBrand reports whether o is the brand, who sees every batch.
func (o Owner) IsBrand() bool { return o.Token == "" }

// Owns reports whether o may see, print, activate, revoke and delete b.
func (o Owner) Owns(b *Batch) bool {
	switch {
	case o.IsBrand():
		return true
	case b.MintedBy == o.Token:
		return true
	default:
		return o.Factory != "" && b.Factory == o.Factory
	}
}

// notOwned is the refusal of a batch another factory (or the brand) minted.
func notOwned(id uint32) error {
	return Errorf(CodeForbidden, "batch %d was not minted by this factory token or its factory; a factory sees, prints, activates and deletes only its own batches", id)
}

// BatchFor returns batch id if o owns it.
func (e *Engine) BatchFor(id uint32, o Owner) (*Batch, error) {
	b, err := e.Batch(id)
	if err != nil {
		return nil, err
	}
	if !o.Owns(b) {
		return nil, notOwned(id)
	}
	return b, nil
}

// BatchesFor returns the batches o owns, in id order: every batch for the
// brand.
func (e *Engine) BatchesFor(o Owner) ([]*Batch, error) {
	bs, err := e.Batches()
	if err != nil || o.IsBrand() {
		return bs, err
	}
	out := bs[:0]
	for _, b := range bs {
		if o.Owns(b) {
			out = append(out, b)
		}
	}
	return out, nil
}
