package httpauth_test

import (
	"crypto/tls"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
)

// BenchmarkRevocationCRL100k is the request path with the intermediate's
// CRL holding 100,000 revoked serials beside the same path without
// revocation, in one run: a cache hit (the common request) and a first
// verification, TLS and header.
//
//	go test ./httpauth -run '^$' -bench RevocationCRL100k -benchmem
//
// Target: within 1.1× of the path without revocation.
func BenchmarkRevocationCRL100k(b *testing.B) {
	pki := testpki.MustSet(b)
	crls := crl100k(b, pki)
	header := httpauth.Source{Preset: httpauth.PresetAWSALB, TrustedProxies: loopback}
	requests := map[string]*http.Request{
		"tls":    tlsRequest(pki.Alice),
		"header": headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(pki.Alice.ChainPEM())}),
	}
	for _, mode := range []string{"tls", "header"} {
		for _, cache := range []struct {
			name string
			size int
		}{{"cached", 0}, {"uncached", -1}} {
			for _, rev := range []struct {
				name     string
				checkers []httpauth.RevocationChecker
			}{{"none", nil}, {"crl-100k", []httpauth.RevocationChecker{crls}}} {
				cfg := httpauth.Config{Roots: pki.Root.Pool(), CacheSize: cache.size, Revocation: rev.checkers}
				if mode == "header" {
					cfg.Source = header
				}
				a := mustNew(b, cfg)
				r := requests[mode]
				b.Run(mode+"/"+cache.name+"/"+rev.name, func(b *testing.B) { benchAuth(b, warm(b, a, r), r, true) })
			}
		}
	}
}

// BenchmarkRevocationCRL100kHTTP is the same comparison one level up: a
// request of a keep-alive client over loopback TLS through the middleware,
// the path a request really takes, with and without the 100,000-entry CRL.
func BenchmarkRevocationCRL100kHTTP(b *testing.B) {
	pki := testpki.MustSet(b)
	crls := crl100k(b, pki)
	for _, rev := range []struct {
		name     string
		checkers []httpauth.RevocationChecker
	}{{"none", nil}, {"crl-100k", []httpauth.RevocationChecker{crls}}} {
		b.Run(rev.name, func(b *testing.B) {
			a := mustNew(b, httpauth.Config{Roots: pki.Root.Pool(), Revocation: rev.checkers})
			srv := httptest.NewUnstartedServer(a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})))
			var err error
			srv.TLS, err = a.TLSConfig(pki.Server.TLSCertificate())
			if err != nil {
				b.Fatal(err)
			}
			srv.StartTLS()
			defer srv.Close()
			cfg := &tls.Config{RootCAs: pki.Root.Pool(), Certificates: []tls.Certificate{pki.Alice.TLSCertificate()}}
			tr := &http.Transport{TLSClientConfig: cfg}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

// crl100k is CRLFiles holding pki's root CRL, empty, and its intermediate's
// CRL with 100,000 serials, none of them a fixture's: the large CRL of the
// revocation benchmarks.
func crl100k(b *testing.B, pki *testpki.Set) *httpauth.CRLFiles {
	serials := make([]*big.Int, 100_000)
	for i := range serials {
		serials[i] = big.NewInt(int64(1_000_000 + i))
	}
	return mustCRLFiles(b, crlDir(b, crlOf(b, pki.Root.Cert, pki.Root.Key), crlOf(b, pki.Intermediate.Cert, pki.Intermediate.Key, serials...)))
}
