package scan

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/yima-dev/yima/reward"
)

// landingCache keeps what every landing page shows and seldom changes: the
// brand's settings and the catalog entries of products. Each page read
// and decoded both from the store before.
//
// Validation rule: an entry is believed for landingCacheTTL after it was
// read, then read again. Several nodes may share one PostgreSQL database,
// and a change made on one (PUT /v1/brand, PUT /v1/products/{sku}, yima
// brand set, yima product set) reaches the others' memory only so: a page
// may show the old name, logo or picture for up to a second after a
// change. The node that made the change through its API forgets the entry
// at once (forgetBrand, forgetProduct). Nothing that decides whether a
// code is genuine, redeemed or claimable is cached: the status is read
// afresh on every page.
type landingCache struct {
	// ttl, when set, replaces landingCacheTTL (in tests).
	ttl      atomic.Int64
	brand    atomic.Pointer[cachedBrand]
	mu       sync.RWMutex
	products map[string]cachedProduct
}

// landingCacheTTL is how long a cached entry is believed.
const landingCacheTTL = time.Second

// until is when an entry read at now expires.
func (c *landingCache) until(now time.Time) time.Time {
	if ttl := c.ttl.Load(); ttl > 0 {
		return now.Add(time.Duration(ttl))
	}
	return now.Add(landingCacheTTL)
}

// maxCachedProducts bounds the product entries: SKUs come from batches,
// so there are few, but the bound keeps a catalog of many from growing
// the map without end.
const maxCachedProducts = 4096

type cachedBrand struct {
	b     *reward.Brand
	until time.Time
}

// cachedProduct is a catalog entry, nil for a SKU the catalog lacks.
type cachedProduct struct {
	p     *reward.Product
	until time.Time
}

// landingBrand is the brand's settings, nil when they cannot be read.
// Callers must not modify it: it is shared.
func (s *Server) landingBrand(now time.Time) *reward.Brand {
	if c := s.landingCache.brand.Load(); c != nil && now.Before(c.until) {
		return c.b
	}
	b, err := s.app.Engine.Brand()
	if err != nil {
		return nil // as before: a page without the brand's look
	}
	s.landingCache.brand.Store(&cachedBrand{b: b, until: s.landingCache.until(now)})
	return b
}

// landingProduct is the catalog entry of sku, nil when there is none or it
// cannot be read. Callers must not modify it: it is shared.
func (s *Server) landingProduct(sku string, now time.Time) *reward.Product {
	c := &s.landingCache
	c.mu.RLock()
	e, ok := c.products[sku]
	c.mu.RUnlock()
	if ok && now.Before(e.until) {
		return e.p
	}
	p, err := s.app.Engine.Product(sku)
	switch {
	case err == nil:
	case reward.ErrorCode(err) == reward.CodeNotFound:
		p = nil // the page shows the SKU; remembered as the catalog's answer
	default:
		return nil // a SKU the catalog cannot name, or the store failing: not remembered
	}
	c.mu.Lock()
	if c.products == nil || len(c.products) >= maxCachedProducts {
		c.products = map[string]cachedProduct{}
	}
	c.products[sku] = cachedProduct{p: p, until: c.until(now)}
	c.mu.Unlock()
	return p
}

// forgetBrand drops the cached brand after this node changed it.
func (s *Server) forgetBrand() { s.landingCache.brand.Store(nil) }

// forgetProduct drops the cached entry of sku after this node changed it.
func (s *Server) forgetProduct(sku string) {
	c := &s.landingCache
	c.mu.Lock()
	delete(c.products, sku)
	c.mu.Unlock()
}
