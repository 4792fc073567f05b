package httpauth_test

import (
	"crypto/x509"
	"net/netip"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCFG01_NewRefusesUnsafeConfigs(t *testing.T) {
	pki := testpki.MustSet(t)
	roots := pki.Root.Pool()
	tests := []struct {
		name string
		cfg  httpauth.Config
		want string // a fragment of the message naming field and fix
	}{
		{"header source without roots", httpauth.Config{Source: httpauth.Source{Preset: "nginx", TrustedProxies: loopback}}, "header source without roots: set Config.Roots"},
		{"header source without trusted proxies", httpauth.Config{Roots: roots, Source: httpauth.Source{Preset: "nginx"}}, "without Source.TrustedProxies"},
		{"verify header without value", httpauth.Config{Roots: roots, Source: httpauth.Source{Header: "X-Cert", Encoding: httpauth.URLPEM, VerifyHeader: "X-Verify", TrustedProxies: loopback}}, "VerifyHeader and Source.VerifyValue must be set together"},
		{"verify value without header", httpauth.Config{Roots: roots, Source: httpauth.Source{Header: "X-Cert", Encoding: httpauth.URLPEM, VerifyValue: "SUCCESS", TrustedProxies: loopback}}, "must be set together"},
		{"unknown preset", httpauth.Config{Roots: roots, Source: httpauth.Source{Preset: "ngnix", TrustedProxies: loopback}}, `Source.Preset "ngnix" is unknown: did you mean "nginx"?`},
		{"unknown encoding", httpauth.Config{Roots: roots, Source: httpauth.Source{Header: "X-Cert", Encoding: "pem-url", TrustedProxies: loopback}}, `Source.Encoding "pem-url" is unknown`},
		{"header without encoding", httpauth.Config{Roots: roots, Source: httpauth.Source{Header: "X-Cert", TrustedProxies: loopback}}, "Source.Encoding is empty"},
		{"unknown chain encoding", httpauth.Config{Roots: roots, Source: httpauth.Source{Header: "X-Cert", Encoding: httpauth.URLPEM, ChainHeader: "X-Chain", ChainEncoding: "der", TrustedProxies: loopback}}, "Source.ChainEncoding"},
		{"chain header equals header", httpauth.Config{Roots: roots, Source: httpauth.Source{Header: "x-cert", Encoding: httpauth.URLPEM, ChainHeader: "X-Cert", TrustedProxies: loopback}}, "ChainHeader equals"},
		{"header settings without header", httpauth.Config{Roots: roots, Source: httpauth.Source{TrustedProxies: loopback}}, "no Source.Header or Source.Preset"},
		{"XFCC chain header", httpauth.Config{Roots: roots, Source: httpauth.Source{Preset: "envoy", ChainHeader: "X-Chain", TrustedProxies: loopback}}, "XFCC carries its chain"},
		{"header name with colon", httpauth.Config{Roots: roots, Source: httpauth.Source{Preset: "nginx", Header: "X-SSL-Client-Cert:", TrustedProxies: loopback}}, `Source.Header "X-SSL-Client-Cert:" is not a valid header name`},
		{"verify header with space", httpauth.Config{Roots: roots, Source: httpauth.Source{Preset: "nginx", VerifyHeader: "X-Verify ", VerifyValue: "ok", TrustedProxies: loopback}}, "Source.VerifyHeader"},
		{"trust everyone v4", httpauth.Config{Roots: roots, Source: httpauth.Source{Preset: "caddy", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}}, "trusts every peer"},
		{"trust everyone v6", httpauth.Config{Roots: roots, Source: httpauth.Source{Preset: "caddy", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("::/0")}}}, "trusts every peer"},
		{"trust everyone mapped", httpauth.Config{Roots: roots, Source: httpauth.Source{Preset: "caddy", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("::ffff:0.0.0.0/96")}}}, "trusts every peer"},
		{"invalid trusted prefix", httpauth.Config{Roots: roots, Source: httpauth.Source{Preset: "caddy", TrustedProxies: []netip.Prefix{{}}}}, "invalid prefix"},
		{"too many XFCC hops", httpauth.Config{Roots: roots, Source: httpauth.Source{Preset: "envoy", TrustedProxies: loopback, XFCCTrustedHops: 99}}, "XFCCTrustedHops"},
		{"both roots and provider", httpauth.Config{Roots: roots, RootsProvider: staticProvider{roots}}, "keep one"},
		{"negative timeout", httpauth.Config{AuthorizeTimeout: -1}, "AuthorizeTimeout is negative"},
		{"negative chain length", httpauth.Config{MaxChainLength: -1}, "MaxChainLength is negative"},
		{"negative skew", httpauth.Config{ClockSkew: -1}, "ClockSkew is negative"},
		{"insecure opt-out in TLS mode", httpauth.Config{InsecureSkipHeaderVerification: true}, "remove it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := httpauth.New(tt.cfg)
			assert.Nil(t, a)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "httpauth: invalid config")
		})
	}
}

func TestNewAcceptsSafeConfigs(t *testing.T) {
	pki := testpki.MustSet(t)
	for name, cfg := range map[string]httpauth.Config{
		"zero value":            {},
		"tls with roots":        {Roots: pki.Root.Pool()},
		"every preset":          {Roots: pki.Root.Pool(), Source: httpauth.Source{Preset: "haproxy", TrustedProxies: loopback}},
		"opt-out without roots": {InsecureSkipHeaderVerification: true, Source: httpauth.Source{Preset: "caddy", TrustedProxies: loopback}},
		"provider":              {RootsProvider: staticProvider{pki.Root.Pool()}},
		"no cache":              {Roots: pki.Root.Pool(), CacheSize: -1, Source: httpauth.Source{Preset: "nginx", TrustedProxies: loopback}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := httpauth.New(cfg)
			assert.NoError(t, err)
		})
	}
	for _, p := range httpauth.Presets() {
		_, err := httpauth.New(httpauth.Config{Roots: pki.Root.Pool(), Source: httpauth.Source{Preset: p, TrustedProxies: loopback}})
		assert.NoError(t, err, p)
	}
}

func TestConfigReuseDoesNotAffectAuthenticator(t *testing.T) {
	pki := testpki.MustSet(t)
	proxies := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	cfg := httpauth.Config{Roots: pki.Root.Pool(), Source: httpauth.Source{Preset: "caddy", TrustedProxies: proxies}}
	a := mustNew(t, cfg)
	proxies[0] = netip.MustParsePrefix("192.0.2.0/24") // the caller reuses its slice
	_, err := a.Authenticate(headerRequest(strangerAddr, [2]string{"X-Client-Cert", b64(pki.Alice.Cert)}))
	assert.ErrorIs(t, err, httpauth.ErrUntrustedProxy)
}

type staticProvider struct{ pool *x509.CertPool }

func (s staticProvider) Roots() *x509.CertPool { return s.pool }

func TestEmptyRootsPoolRefused(t *testing.T) {
	pki := testpki.MustSet(t)
	failedAppend := x509.NewCertPool()
	require.False(t, failedAppend.AppendCertsFromPEM([]byte("not a PEM bundle")), "precondition: the append fails")
	tests := []struct {
		name string
		cfg  httpauth.Config
	}{
		{"new pool never filled", httpauth.Config{Roots: x509.NewCertPool()}},
		{"unchecked AppendCertsFromPEM", httpauth.Config{Roots: failedAppend}},
		{"header source", httpauth.Config{Roots: failedAppend, Source: httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: loopback}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := httpauth.New(tt.cfg)
			assert.Nil(t, a)
			assert.EqualError(t, err, "httpauth: invalid config: Config.Roots holds no certificate: x509.CertPool.AppendCertsFromPEM probably failed (check its result); load the CA bundle, or use NewFileRoots to read it from a file")
		})
	}

	// A provider's empty pool is a withdrawal (an emptied FileRoots
	// bundle), decided at run time, not a mistake New can see.
	_, err := httpauth.New(httpauth.Config{RootsProvider: staticProvider{x509.NewCertPool()}})
	assert.NoError(t, err)
	_, err = httpauth.New(httpauth.Config{Roots: pki.Root.Pool()})
	assert.NoError(t, err, "control: a pool with the root")
}
