package httpauth

import (
	"crypto/x509"

	lru "github.com/hashicorp/golang-lru/v2"
)

// headerCache remembers verified certificates, keyed by the exact header
// bytes (or, in TLS mode, the leaf's DER), so a reconnecting client is not
// parsed and verified again. Only successes are stored, so its entries are
// certificates the roots accepted; an entry made under other roots is never
// returned (a CA reload invalidates everything; old entries age out of the
// LRU). Keys longer than maxCacheKeyBytes are not cached, so the cache holds
// at most size × 16 KiB of keys whatever clients send. A nil *headerCache
// is a disabled cache.
type headerCache struct {
	lru *lru.Cache[cacheKey, cacheEntry]
}

// cacheKey is the exact certificate and chain header values, or a TLS
// leaf's DER. A struct rather than a joined string, so a lookup allocates
// nothing.
type cacheKey struct {
	tls          bool // value is DER from the TLS connection, not a header
	value, chain string
}

// maxCacheKeyBytes bounds what one entry's key may hold. Real certificate
// headers are a few KiB; bigger ones are verified every time.
const maxCacheKeyBytes = 16 << 10

func (k cacheKey) cacheable() bool { return len(k.value)+len(k.chain) <= maxCacheKeyBytes }

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
	if c == nil || !key.cacheable() {
		return cacheEntry{}, false
	}
	e, ok := c.lru.Get(key)
	if !ok || e.roots != roots {
		return cacheEntry{}, false
	}
	return e, true
}

func (c *headerCache) add(key cacheKey, roots *x509.CertPool, e cacheEntry) {
	if c == nil || !key.cacheable() {
		return
	}
	e.roots = roots
	c.lru.Add(key, e)
}
