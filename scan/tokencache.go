package scan

import "sync"

// tokenCache keeps the callers of tokens known to exist, so that a request
// with one is authenticated without a read of the store. It is looked up
// with the request's bytes, which costs no copy (see callerOf).
type tokenCache struct {
	mu sync.RWMutex
	m  map[string]caller
}

func (c *tokenCache) get(tok []byte) (caller, bool) {
	c.mu.RLock()
	who, ok := c.m[string(tok)]
	c.mu.RUnlock()
	return who, ok
}

func (c *tokenCache) put(tok string, who caller) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]caller{}
	}
	c.m[tok] = who
	c.mu.Unlock()
}

// Clear forgets every token: one was revoked, or its subject changed.
func (c *tokenCache) Clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}
