package httpauth

import (
	"crypto/x509"

	lru "github.com/hashicorp/golang-lru/v2"
)

// headerCache remembers decoded and verified certificates, keyed by the
// exact header bytes (or, in TLS mode, the presented DER), so a client
// reconnecting is not parsed and verified again. Only successes are stored, so its
// entries are certificates a trusted proxy forwarded and the roots accepted;
// an entry made under other roots is ignored, so a CA reload invalidates
// everything. A nil *headerCache is a disabled cache.
type headerCache struct {
	lru *lru.Cache[cacheKey, cacheEntry]
}

// cacheKey is the exact certificate and chain header values. A struct
// rather than a joined string, so a lookup allocates nothing.
type cacheKey struct{ value, chain string }

type cacheEntry struct {
	roots       *x509.CertPool // the pool the entry was verified against
	leaf        *x509.Certificate
	fingerprint string
	chain       []*x509.Certificate
	verified    bool
}

func newHeaderCache(size int) *headerCache {
	c, err := lru.New[cacheKey, cacheEntry](size)
	if err != nil { // only for size <= 0, which New never passes
		return nil
	}
	return &headerCache{lru: c}
}

func (c *headerCache) get(key cacheKey, roots *x509.CertPool) (cacheEntry, bool) {
	if c == nil {
		return cacheEntry{}, false
	}
	e, ok := c.lru.Get(key)
	if !ok || e.roots != roots {
		return cacheEntry{}, false
	}
	return e, true
}

func (c *headerCache) add(key cacheKey, roots *x509.CertPool, e cacheEntry) {
	if c == nil {
		return
	}
	e.roots = roots
	c.lru.Add(key, e)
}
