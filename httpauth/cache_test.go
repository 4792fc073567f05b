package httpauth_test

import (
	"os"
	"path/filepath"
	"strings"
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
	r := func() *httpRequest {
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

func TestCacheDisabled(t *testing.T) {
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
