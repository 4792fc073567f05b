package httpauth_test

import (
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

func tlsChainRequest(chain []*x509.Certificate) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://server.test/", nil)
	r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: chain}
	return r
}

// A repeated refusal comes from the failure cache: the very same *Error,
// without decoding or verifying again. These tests tell a remembered
// refusal from a new one by that identity.
func TestHostileChainNegativeCache(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	chain := sharedKeyChain(t, pki, ecKey(t, elliptic.P521()), 4)
	clock := &fakeClock{t: time.Now()}
	roots := &swappableRoots{pool: pki.Root.Pool()}
	header := mustNew(t, httpauth.Config{Source: httpauth.Source{Preset: httpauth.PresetAWSALB, TrustedProxies: loopback}, RootsProvider: roots, Now: clock.Now})
	direct := mustNew(t, httpauth.Config{RootsProvider: roots, Now: clock.Now})
	modes := map[string]func() error{
		"header": func() error {
			_, err := header.Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", chain.pemChain()}))
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
