package httpauth_test

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Limits are inclusive: exactly at a cap passes that check, one more fails.

func TestMaxChainLengthIsInclusive(t *testing.T) {
	pki := testpki.MustSet(t)
	full := testpki.PEM(append([]*x509.Certificate{pki.Alice.Cert}, pki.Alice.Chain...)...) // leaf, intermediate, root
	for _, tt := range []struct {
		max int
		ok  bool
	}{{3, true}, {2, false}} {
		a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetAWSALB}, func(c *httpauth.Config) { c.MaxChainLength = tt.max })
		_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(full)}))
		if tt.ok {
			assert.NoError(t, err, "header, max %d", tt.max)
		} else {
			assert.ErrorIs(t, err, httpauth.ErrChainTooLong, "header, max %d", tt.max)
		}

		tlsA := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), MaxChainLength: tt.max})
		r := tlsRequest(pki.Alice)
		r.TLS.PeerCertificates = append(r.TLS.PeerCertificates, pki.Root.Cert)
		_, err = tlsA.Authenticate(r)
		if tt.ok {
			assert.NoError(t, err, "TLS presented, max %d", tt.max)
		} else {
			assert.ErrorIs(t, err, httpauth.ErrChainTooLong, "TLS presented, max %d", tt.max)
		}

		verified := tlsRequest(pki.Alice)
		verified.TLS.VerifiedChains = [][]*x509.Certificate{append([]*x509.Certificate{pki.Alice.Cert}, pki.Alice.Chain...)}
		_, err = mustNew(t, httpauth.Config{MaxChainLength: tt.max}).Authenticate(verified)
		if tt.ok {
			assert.NoError(t, err, "TLS verified, max %d", tt.max)
		} else {
			assert.ErrorIs(t, err, httpauth.ErrChainTooLong, "TLS verified, max %d", tt.max)
		}
	}
}

func TestVerifiedChainLongerThanPresented(t *testing.T) {
	pki := testpki.MustSet(t)
	// Only the leaf is presented (1 certificate); the verified chain adds
	// the intermediate from Config.Intermediates and the root (3).
	known := x509.NewCertPool()
	known.AddCert(pki.Intermediate.Cert)
	a := mustNew(t, httpauth.Config{Source: httpauth.Source{Preset: httpauth.PresetCaddy, TrustedProxies: loopback}, Roots: pki.Root.Pool(), Intermediates: known, MaxChainLength: 2})
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Client-Cert", encodeDER(pki.Alice.Cert.Raw)}))
	assert.ErrorIs(t, err, httpauth.ErrChainTooLong)
	assert.Contains(t, err.Error(), "verified chain has 3")
}

func TestHeaderByteCapIsInclusive(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetHAProxy})
	atCap := strings.Repeat("A", httpauth.MaxHeaderBytes)
	over := atCap + "A"
	leaf := [2]string{"X-SSL-Client-Cert", b64(pki.Alice.Cert)}
	ok := [2]string{"X-SSL-Client-Verify", "0"}
	for _, tt := range []struct {
		name    string
		headers [][2]string
		capped  bool
	}{
		{"certificate at cap", [][2]string{{"X-SSL-Client-Cert", atCap}, ok}, false},
		{"certificate over cap", [][2]string{{"X-SSL-Client-Cert", over}, ok}, true},
		{"certificate over cap split over two lines", [][2]string{{"X-SSL-Client-Cert", atCap[:10]}, {"X-SSL-Client-Cert", atCap}, ok}, true},
		{"chain at cap", [][2]string{leaf, {"X-SSL-Client-Chain", atCap}, ok}, false},
		{"chain over cap", [][2]string{leaf, {"X-SSL-Client-Chain", over}, ok}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Authenticate(headerRequest(proxyAddr, tt.headers...))
			require.Error(t, err)
			assert.Equal(t, tt.capped, strings.Contains(err.Error(), "at most"), err.Error())
		})
	}
}

func TestXFCCTrustedHopsRange(t *testing.T) {
	pki := testpki.MustSet(t)
	_, err := httpauth.New(httpauth.Config{Roots: pki.Root.Pool(), Source: httpauth.Source{Preset: "envoy", TrustedProxies: loopback, XFCCTrustedHops: httpauth.MaxXFCCElements}})
	assert.NoError(t, err)
	_, err = httpauth.New(httpauth.Config{Roots: pki.Root.Pool(), Source: httpauth.Source{Preset: "envoy", TrustedProxies: loopback, XFCCTrustedHops: -1}})
	assert.ErrorContains(t, err, "XFCCTrustedHops")
}

func TestMappedTrustedPrefixes(t *testing.T) {
	pki := testpki.MustSet(t)
	for _, tt := range []struct {
		prefix, remote string
		trusted        bool
	}{
		{"::ffff:10.0.0.0/104", "10.1.2.3:1", true},
		{"::ffff:10.0.0.0/104", "11.1.2.3:1", false},
		{"::/1", "203.0.113.9:1", false}, // an IPv6 prefix never covers IPv4 peers
		{"::/1", "[::1]:1", true},
	} {
		a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetCaddy, TrustedProxies: []netip.Prefix{netip.MustParsePrefix(tt.prefix)}})
		_, err := a.Authenticate(headerRequest(tt.remote, [2]string{"X-Client-Cert", b64(pki.Alice.Cert)}))
		if tt.trusted {
			assert.NotErrorIs(t, err, httpauth.ErrUntrustedProxy, "%s %s", tt.prefix, tt.remote)
		} else {
			assert.ErrorIs(t, err, httpauth.ErrUntrustedProxy, "%s %s", tt.prefix, tt.remote)
		}
	}
}

func TestAuthorizerStatusClassBoundary(t *testing.T) {
	pki := testpki.MustSet(t)
	for _, tt := range []struct {
		status int
		want   error
	}{{499, httpauth.ErrDenied}, {500, httpauth.ErrAuthorizer}, {400, httpauth.ErrDenied}, {599, httpauth.ErrAuthorizer}} {
		a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: func(ctxT, *httpauth.Identity) error {
			return &httpauth.Error{Status: tt.status}
		}})
		_, err := a.Authenticate(tlsRequest(pki.Alice))
		assert.ErrorIs(t, err, tt.want, "%d", tt.status)
		assert.Equal(t, tt.status, statusOf(t, err))
	}
}

func TestFileRootsNamesTheBadCertificate(t *testing.T) {
	pki := testpki.MustSet(t)
	path := filepath.Join(t.TempDir(), "ca.pem")
	bad := "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	require.NoError(t, os.WriteFile(path, append(pki.Root.PEM(), bad...), 0o600))
	_, err := httpauth.NewFileRoots(path, 0)
	assert.ErrorContains(t, err, "certificate 1:")
}

func TestStatusCodeEdges(t *testing.T) {
	for status, want := range map[int]int{399: 500, 400: 400, 599: 599, 600: 500} {
		assert.Equal(t, want, (&httpauth.Error{Status: status}).StatusCode(), "%d", status)
	}
	assert.Equal(t, http.StatusText(http.StatusForbidden), (&httpauth.Error{Status: 403}).PublicText())
}

func TestAuthorizerErrorMessages(t *testing.T) {
	pki := testpki.MustSet(t)
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"*Error with reason", &httpauth.Error{Status: 429, Reason: errors.New("rate limited")}, "httpauth: access denied: rate limited"},
		{"*Error without reason", &httpauth.Error{Status: 429}, "httpauth: access denied: Too Many Requests"},
		{"wrapped *Error", fmt.Errorf("quota: %w", &httpauth.Error{Status: 503, Reason: errors.New("db down")}), "httpauth: authorizer failed: quota: db down"},
		{"plain error", errors.New("not on the list"), "httpauth: access denied: not on the list"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: func(ctxT, *httpauth.Identity) error { return tt.err }})
			_, err := a.Authenticate(tlsRequest(pki.Alice))
			assert.EqualError(t, err, tt.want)
		})
	}
}

func TestXFCCHeaderMissing(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetEnvoy})
	_, err := a.Authenticate(headerRequest(proxyAddr))
	assert.ErrorIs(t, err, httpauth.ErrHeaderMissing)
}
