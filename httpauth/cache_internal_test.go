package httpauth

import (
	"crypto/x509"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFailureCacheBoundedWhateverClientsSend(t *testing.T) {
	t.Parallel()
	c := newVerdictCache(DefaultCacheSize, time.Minute, time.Now)
	roots := x509.NewCertPool()
	refusal := unauthorized(ErrUnknownAuthority)
	long := strings.Repeat("A", maxCacheKeyBytes)
	for i := range 4 * DefaultCacheSize {
		c.fail(cacheKey{value: strconv.Itoa(i) + long}, roots, refusal)
	}
	assert.Equal(t, maxFailures, c.bad.Len(), "entries")
	for _, k := range c.bad.Keys() {
		// Keys over the cap are kept as a digest, so memory is bounded too.
		assert.True(t, k.digest)
		assert.LessOrEqual(t, len(k.value)+len(k.chain), 32)
	}
	// A success never makes room for failures, nor the reverse.
	assert.Equal(t, 0, c.ok.Len())
}

func TestFailureKeyDigestKeepsValueAndChainApart(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("A", maxCacheKeyBytes)
	a := cacheKey{value: long + "B", chain: "C"}.failureKey()
	b := cacheKey{value: long, chain: "BC"}.failureKey()
	assert.True(t, a.digest)
	assert.NotEqual(t, a, b)
	short := cacheKey{value: "v", chain: "c"}
	assert.Equal(t, short, short.failureKey(), "short keys stay exact")
}

func TestCacheKeyCapIsInclusive(t *testing.T) {
	assert.True(t, cacheKey{value: strings.Repeat("a", maxCacheKeyBytes-1), chain: "b"}.cacheable())
	assert.False(t, cacheKey{value: strings.Repeat("a", maxCacheKeyBytes), chain: "b"}.cacheable())
	assert.False(t, cacheKey{value: "a", chain: strings.Repeat("b", maxCacheKeyBytes)}.cacheable())
}
