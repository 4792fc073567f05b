package httpauth

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// verdictCache remembers what verifying presented certificates concluded,
// so that a client that comes back, well-meaning or hostile, costs a
// lookup rather than a verification.
//
// Successes are keyed by the exact header bytes, or in TLS mode by the
// leaf's DER: once a leaf chained to these roots, the intermediates it
// comes with later do not change that, and a client cannot grow the cache
// by varying them. Failures are keyed by everything the verdict depends on
// (header bytes, or the leaf and every presented intermediate), since the
// same leaf may pass with the intermediate it lacked the first time, and
// kept in their own LRU, so clients cannot push a success out by sending
// new failures. Every entry belongs to the root
// pool it was decided under and is ignored under any other, so a roots
// change invalidates both. Validity is re-checked on every success hit;
// failures expire after a short lifetime, and a "not yet valid" verdict,
// which time alone reverses, is not remembered at all.
//
// A nil *verdictCache is a disabled cache.
type verdictCache struct {
	ok   *lru.Cache[cacheKey, cacheEntry]
	bad  *lru.Cache[cacheKey, failure]
	ttl  time.Duration // zero: failures are not remembered
	now  func() time.Time
	seed maphash.Seed
}

// cacheKey is the exact certificate and chain header values, or TLS DER.
// A struct rather than a joined string, so a lookup allocates nothing.
type cacheKey struct {
	tls          bool // DER from the TLS connection, not header text
	digest       bool // value is the SHA-256 of a value too long to keep
	value, chain string
	sum          uint64 // TLS failures: keyed hash of the intermediates
}

// maxCacheKeyBytes bounds what one entry's key may hold. Real certificate
// headers are a few KiB. A longer success is not cached; a longer failure
// is keyed by its SHA-256, so clients cannot grow the cache's memory.
const maxCacheKeyBytes = 16 << 10

// maxFailures caps the failure LRU below the success one: at most
// maxFailures × maxCacheKeyBytes (4 MiB) of keys whatever clients send.
const maxFailures = 256

func (k cacheKey) cacheable() bool { return len(k.value)+len(k.chain) <= maxCacheKeyBytes }

type cacheEntry struct {
	roots       *x509.CertPool // the pool the entry was verified against
	leaf        *x509.Certificate
	fingerprint string
	chain       []*x509.Certificate
	verified    bool
}

type failure struct {
	roots *x509.CertPool
	err   *Error
	until time.Time
}

func newVerdictCache(size int, ttl time.Duration, now func() time.Time) *verdictCache {
	ok, err := lru.New[cacheKey, cacheEntry](size)
	if err != nil { // only for size <= 0, which New never passes
		return nil
	}
	bad, _ := lru.New[cacheKey, failure](min(size, maxFailures))
	return &verdictCache{ok: ok, bad: bad, ttl: ttl, now: now, seed: maphash.MakeSeed()}
}

func (c *verdictCache) get(key cacheKey, roots *x509.CertPool) (cacheEntry, bool) {
	if c == nil || !key.cacheable() {
		return cacheEntry{}, false
	}
	e, ok := c.ok.Get(key)
	if !ok || e.roots != roots {
		return cacheEntry{}, false
	}
	return e, true
}

func (c *verdictCache) add(key cacheKey, roots *x509.CertPool, e cacheEntry) {
	if c == nil || !key.cacheable() {
		return
	}
	e.roots = roots
	c.ok.Add(key, e)
}

// remember caches a verified certificate and returns its identity.
func (a *Authenticator) remember(key cacheKey, roots *x509.CertPool, leaf *x509.Certificate, chain []*x509.Certificate, header string, verified bool) *Identity {
	id := a.newIdentity(leaf, "", chain, header, verified)
	a.cache.add(key, roots, cacheEntry{leaf: leaf, fingerprint: id.Fingerprint, chain: chain, verified: verified})
	return id
}

// failed returns the remembered refusal for key under roots, if any.
func (c *verdictCache) failed(key cacheKey, roots *x509.CertPool) (*Error, bool) {
	if c == nil || c.ttl == 0 {
		return nil, false
	}
	key = key.failureKey()
	f, ok := c.bad.Get(key)
	if !ok {
		return nil, false
	}
	if f.roots != roots || !c.now().Before(f.until) {
		c.bad.Remove(key)
		return nil, false
	}
	return f.err, true
}

// fail remembers a refusal, unless time alone may reverse it.
func (c *verdictCache) fail(key cacheKey, roots *x509.CertPool, e *Error) {
	if c == nil || c.ttl == 0 || errors.Is(e, ErrNotYetValid) {
		return
	}
	c.bad.Add(key.failureKey(), failure{roots: roots, err: e, until: c.now().Add(c.ttl)})
}

func (k cacheKey) failureKey() cacheKey {
	if k.cacheable() {
		return k
	}
	h := sha256.New()
	// The value's length first, so the split into value and chain counts.
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(k.value))))
	h.Write([]byte(k.value))
	h.Write([]byte(k.chain))
	return cacheKey{tls: k.tls, digest: true, value: string(h.Sum(nil))}
}

// tlsFailureKey keys a TLS verdict by the leaf's DER (leafKey) and a
// hash of every intermediate presented with it, keyed with a random seed
// of this cache so no client can aim for a collision. Only the holder of
// the leaf's private key can present that leaf in a handshake, so at worst
// a client collides with itself, for at most the failure lifetime. Hashing
// rather than copying the intermediates keeps a repeated refusal as cheap
// as a cache hit.
func (c *verdictCache) tlsFailureKey(leafKey string, certs []*x509.Certificate) cacheKey {
	if c == nil {
		return cacheKey{}
	}
	var h maphash.Hash
	h.SetSeed(c.seed)
	for _, cert := range certs[1:] {
		h.Write(cert.Raw) // DER is self-delimiting: the concatenation is unambiguous
	}
	return cacheKey{tls: true, value: leafKey, sum: h.Sum64()}
}
