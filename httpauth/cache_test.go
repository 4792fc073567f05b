package httpauth_test

import (
	"crypto/elliptic"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCacheHitStillChecksTheClock(t *testing.T) {
	pki := testpki.MustSet(t)
	now := time.Now()
	clock := now
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetAWSALB}, func(c *httpauth.Config) {
		c.Now = func() time.Time { return clock }
	})
	r := func() *http.Request {
		return headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(pki.Alice.ChainPEM())})
	}
	first, err := a.Authenticate(r())
	require.NoError(t, err)
	second, err := a.Authenticate(r())
	require.NoError(t, err)
	assert.Same(t, first.Certificate, second.Certificate, "second request served from the cache")
	assert.NotSame(t, first, second, "each request gets its own Identity")

	clock = pki.Alice.Cert.NotAfter.Add(time.Second)
	_, err = a.Authenticate(r())
	assert.ErrorIs(t, err, httpauth.ErrExpired, "a cached certificate expires like any other")
}

func TestNegativeCacheSizeDisablesTheCache(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetCaddy}, func(c *httpauth.Config) {
		c.CacheSize = -1
		c.Roots = pki.Intermediate.Pool()
	})
	h := [2]string{"X-Client-Cert", b64(pki.Alice.Cert)}
	first, err := a.Authenticate(headerRequest(proxyAddr, h))
	require.NoError(t, err)
	second, err := a.Authenticate(headerRequest(proxyAddr, h))
	require.NoError(t, err)
	assert.NotSame(t, first.Certificate, second.Certificate, "parsed again")
}

func TestCacheIsKeyedByChainToo(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetHAProxy})
	leaf := [2]string{"X-SSL-Client-Cert", b64(pki.Alice.Cert)}
	ok := [2]string{"X-SSL-Client-Verify", "0"}
	_, err := a.Authenticate(headerRequest(proxyAddr, leaf, [2]string{"X-SSL-Client-Chain", b64(pki.Intermediate.Cert)}, ok))
	require.NoError(t, err)
	_, err = a.Authenticate(headerRequest(proxyAddr, leaf, ok))
	assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, "a success with a chain says nothing about the leaf alone")
}

func TestFileRootsReloadInvalidatesCache(t *testing.T) {
	pki := testpki.MustSet(t)
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, pki.Root.PEM(), 0o600))
	roots, err := httpauth.NewFileRoots(path, time.Nanosecond)
	require.NoError(t, err)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetAWSALB}, func(c *httpauth.Config) {
		c.Roots, c.RootsProvider = nil, roots
	})
	alice := [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(pki.Alice.ChainPEM())}
	_, err = a.Authenticate(headerRequest(proxyAddr, alice))
	require.NoError(t, err)

	// Rotate: the old root is removed, a new one takes its place.
	require.NoError(t, os.WriteFile(path, pki.OtherRoot.PEM(), 0o600))
	bump(t, path)
	_, err = a.Authenticate(headerRequest(proxyAddr, alice))
	assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, "the cached success must not survive the rotation")
	stranger := [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(pki.Stranger.ChainPEM())}
	_, err = a.Authenticate(headerRequest(proxyAddr, stranger))
	assert.NoError(t, err)
	assert.NoError(t, roots.Err())
}

func TestTLSVerificationIsCached(t *testing.T) {
	pki := testpki.MustSet(t)
	clock := time.Now()
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Now: func() time.Time { return clock }})
	first, err := a.Authenticate(tlsRequest(pki.Alice))
	require.NoError(t, err)
	// A new connection parses the same DER into new certificate values.
	again := tlsRequest(pki.Alice)
	again.TLS.PeerCertificates[0] = mustParse(t, pki.Alice.Cert.Raw)
	second, err := a.Authenticate(again)
	require.NoError(t, err)
	assert.Same(t, first.Certificate, second.Certificate, "served from the cache")

	// The key is the leaf alone: once it chained to these roots, what it
	// is presented with later does not matter (and cannot grow the cache).
	leafOnly := tlsRequest(pki.Alice)
	leafOnly.TLS.PeerCertificates = leafOnly.TLS.PeerCertificates[:1]
	_, err = a.Authenticate(leafOnly)
	assert.NoError(t, err)
	fresh := mustNew(t, httpauth.Config{Roots: pki.Root.Pool()})
	_, err = fresh.Authenticate(leafOnly)
	assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, "never seen with its intermediate: no chain")

	clock = pki.Alice.Cert.NotAfter.Add(time.Second)
	_, err = a.Authenticate(tlsRequest(pki.Alice))
	assert.ErrorIs(t, err, httpauth.ErrExpired)
}

func TestOversizedKeysAreNotCached(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetEnvoy}, func(c *httpauth.Config) { c.Roots = pki.Intermediate.Pool() })
	// Elements left of the trusted one are client-controlled under
	// APPEND_FORWARD; padding them must not pin large keys in memory.
	padding := strings.Repeat(`Hash=00;Subject="`+strings.Repeat("x", 1000)+`",`, 20)
	h := [2]string{"X-Forwarded-Client-Cert", padding + xfccElem(pki.Alice)}
	first, err := a.Authenticate(headerRequest(proxyAddr, h))
	require.NoError(t, err)
	second, err := a.Authenticate(headerRequest(proxyAddr, h))
	require.NoError(t, err)
	assert.NotSame(t, first.Certificate, second.Certificate, "verified again, not cached")
}

// swappableRoots is a RootsProvider whose pool a test replaces.
type swappableRoots struct {
	mu   sync.Mutex
	pool *x509.CertPool
}

func (s *swappableRoots) Roots() *x509.CertPool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pool
}

func (s *swappableRoots) Set(p *x509.CertPool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pool = p
}

// A repeated refusal comes from the failure cache: the very same *Error,
// without decoding or verifying again. These tests tell a remembered
// refusal from a new one by that identity.
func TestHostileChainNegativeCache(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	chain := testpki.SharedKeyChain(t, pki, testpki.ECKey(t, elliptic.P521()), 4).Certs
	clock := &fakeClock{t: time.Now()}
	roots := &swappableRoots{pool: pki.Root.Pool()}
	header := mustNew(t, httpauth.Config{Source: httpauth.Source{Preset: httpauth.PresetAWSALB, TrustedProxies: loopback}, RootsProvider: roots, Now: clock.Now})
	direct := mustNew(t, httpauth.Config{RootsProvider: roots, Now: clock.Now})
	modes := map[string]func() error{
		"header": func() error {
			_, err := header.Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(testpki.PEM(chain...))}))
			return err
		},
		"tls": func() error {
			_, err := direct.Authenticate(tlsChainRequest(chain))
			return err
		},
	}
	for mode, try := range modes {
		first := try()
		require.ErrorIs(t, first, httpauth.ErrUnknownAuthority, mode)
		assert.Same(t, first, try(), "%s: a repeat is answered from the cache", mode)
	}

	clock.Advance(httpauth.DefaultFailureCacheTTL - time.Second)
	for mode, try := range modes {
		first := try()
		assert.Same(t, first, try(), "%s: still remembered within the lifetime", mode)
	}
	clock.Advance(2 * time.Second)
	expired := map[string]error{}
	for mode, try := range modes {
		expired[mode] = try()
		require.ErrorIs(t, expired[mode], httpauth.ErrUnknownAuthority, mode)
	}
	// The lifetime ran out: verified afresh, then remembered again.
	for mode, try := range modes {
		again := try()
		assert.Same(t, expired[mode], again, mode)
	}

	// A roots change forgets every refusal.
	roots.Set(pki.Root.Pool())
	for mode, try := range modes {
		fresh := try()
		require.ErrorIs(t, fresh, httpauth.ErrUnknownAuthority, mode)
		assert.NotSame(t, expired[mode], fresh, "%s: new roots, new verdict", mode)
	}
}

func TestFailureCacheNeverHidesAFixedChain(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	// The leaf alone fails (its intermediate is missing); the same leaf
	// with the intermediate must pass at once, not after the lifetime.
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool()})
	_, err := a.Authenticate(tlsChainRequest([]*x509.Certificate{pki.Alice.Cert}))
	require.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
	_, err = a.Authenticate(tlsChainRequest(chainOf(pki.Alice)))
	assert.NoError(t, err)

	h, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetAWSALB})
	_, err = h.Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(pki.Alice.PEM())}))
	require.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
	_, err = h.Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(pki.Alice.ChainPEM())}))
	assert.NoError(t, err)
}

func TestNotYetValidIsNotRemembered(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	// Time alone makes this certificate good: a remembered refusal would
	// keep it out after its NotBefore.
	clock := &fakeClock{t: pki.NotYetValid.Cert.NotBefore.Add(-time.Minute)}
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Now: clock.Now})
	_, err := a.Authenticate(tlsRequest(pki.NotYetValid))
	require.ErrorIs(t, err, httpauth.ErrNotYetValid)
	clock.Advance(2 * time.Minute)
	_, err = a.Authenticate(tlsRequest(pki.NotYetValid))
	assert.NoError(t, err)
}

func TestFailureCacheTTLSettings(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	forged := tlsRequest(pki.Forged)
	for name, tt := range map[string]struct {
		cfg      httpauth.Config
		remember bool
	}{
		"default":              {httpauth.Config{Roots: pki.Root.Pool()}, true},
		"negative TTL: off":    {httpauth.Config{Roots: pki.Root.Pool(), FailureCacheTTL: -1}, false},
		"negative size: off":   {httpauth.Config{Roots: pki.Root.Pool(), CacheSize: -1}, false},
		"explicit short TTL":   {httpauth.Config{Roots: pki.Root.Pool(), FailureCacheTTL: time.Minute}, true},
		"the maximum accepted": {httpauth.Config{Roots: pki.Root.Pool(), FailureCacheTTL: httpauth.MaxFailureCacheTTL}, true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := mustNew(t, tt.cfg)
			_, first := a.Authenticate(forged)
			_, second := a.Authenticate(forged)
			require.ErrorIs(t, second, httpauth.ErrUnknownAuthority)
			assert.Equal(t, tt.remember, first == second)
		})
	}
	_, err := httpauth.New(httpauth.Config{Roots: pki.Root.Pool(), FailureCacheTTL: httpauth.MaxFailureCacheTTL + time.Second})
	assert.ErrorContains(t, err, "Config.FailureCacheTTL")
}
