package httpauth_test

import (
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
)

// The hostile benchmarks set what an anonymous client can make one request
// cost beside what a valid client costs, in one run so the ratios hold on
// any machine:
//
//	go test ./httpauth -run '^$' -bench 'Hostile' -benchmem
//
// Targets: every hostile first-seen request costs at most 3× a valid
// uncached one ("valid/uncached"), a repeated one at most 2× a valid cache
// hit ("valid/cached"). "x509" is crypto/x509 alone on the same chain: what
// the request would cost without certgate's screening.

type hostileCase struct {
	name  string
	chain []*x509.Certificate
}

func hostileCases(b *testing.B, pki *testpki.Set) []hostileCase {
	return []hostileCase{
		{"shared-key-rsa-e2^31-1", testpki.SharedKeyChain(b, pki, testpki.RSAKeyWithExponent(b, 1<<31-1), 4).Certs},
		{"shared-key-p521", testpki.SharedKeyChain(b, pki, testpki.ECKey(b, elliptic.P521()), 4).Certs},
		{"oversize-rsa-16384", testpki.OversizeRSAChain(b, pki, 16384).Certs},
		{"distinct-intermediates-8", testpki.DistinctIntermediates(b, pki, 8).Certs},
		{"distinct-intermediates-4", testpki.DistinctIntermediates(b, pki, 4).Certs},
		{"forged-under-real-intermediate", testpki.ForgedUnderRealIntermediate(b, pki, 3).Certs},
	}
}

// BenchmarkHostileHeader: the chain as a proxy that forwards the client's
// whole chain unverified (AWS ALB passthrough) hands it over.
func BenchmarkHostileHeader(b *testing.B) {
	pki := testpki.MustSet(b)
	auth := func(cacheSize int) *httpauth.Authenticator {
		return mustNew(b, httpauth.Config{Source: httpauth.Source{Preset: httpauth.PresetAWSALB, TrustedProxies: loopback}, Roots: pki.Root.Pool(), CacheSize: cacheSize})
	}
	request := func(value string) *http.Request {
		return headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", value})
	}
	valid := request(awsEscape(pki.Alice.ChainPEM()))
	b.Run("valid/uncached", func(b *testing.B) { benchAuth(b, auth(-1), valid, true) })
	b.Run("valid/cached", func(b *testing.B) { benchAuth(b, warm(b, auth(0), valid), valid, true) })
	for _, c := range hostileCases(b, pki) {
		r := request(awsEscape(testpki.PEM(c.chain...)))
		b.Run(c.name+"/x509", func(b *testing.B) { benchX509(b, pki, c.chain) })
		b.Run(c.name+"/first-seen", func(b *testing.B) { benchAuth(b, auth(-1), r, false) })
		b.Run(c.name+"/repeated", func(b *testing.B) { benchAuth(b, warm(b, auth(0), r), r, false) })
	}
}

// BenchmarkHostileTLS: the chain as presented in a TLS handshake to a
// listener from Authenticator.TLSConfig, which lets the library verify.
func BenchmarkHostileTLS(b *testing.B) {
	pki := testpki.MustSet(b)
	auth := func(cacheSize int) *httpauth.Authenticator {
		return mustNew(b, httpauth.Config{Roots: pki.Root.Pool(), CacheSize: cacheSize})
	}
	valid := tlsRequest(pki.Alice)
	b.Run("valid/uncached", func(b *testing.B) { benchAuth(b, auth(-1), valid, true) })
	b.Run("valid/cached", func(b *testing.B) { benchAuth(b, warm(b, auth(0), valid), valid, true) })
	for _, c := range hostileCases(b, pki) {
		r := httptest.NewRequest(http.MethodGet, "https://backend.test/ws", nil)
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: c.chain}
		b.Run(c.name+"/first-seen", func(b *testing.B) { benchAuth(b, auth(-1), r, false) })
		b.Run(c.name+"/repeated", func(b *testing.B) { benchAuth(b, warm(b, auth(0), r), r, false) })
	}
}

// warm makes one request so the next ones find what it left in the cache.
func warm(b *testing.B, a *httpauth.Authenticator, r *http.Request) *httpauth.Authenticator {
	_, _ = a.Authenticate(r)
	return a
}

func benchAuth(b *testing.B, a *httpauth.Authenticator, r *http.Request, wantOK bool) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(r); (err == nil) != wantOK {
			b.Fatalf("Authenticate: %v, want success %v", err, wantOK)
		}
	}
}

// benchX509 is crypto/x509 alone on the presented chain.
func benchX509(b *testing.B, pki *testpki.Set, chain []*x509.Certificate) {
	roots := pki.Root.Pool()
	for b.Loop() {
		pool := x509.NewCertPool()
		for _, c := range chain[1:] {
			pool.AddCert(c)
		}
		if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
			b.Fatal("hostile chain verified")
		}
	}
}
