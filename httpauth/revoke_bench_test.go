package httpauth_test

import (
	"math/big"
	"net/http"
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
	serials := make([]*big.Int, 100_000)
	for i := range serials {
		serials[i] = big.NewInt(int64(1_000_000 + i))
	}
	crls := mustCRLFiles(b, crlDir(b, crlOf(b, pki.Root.Cert, pki.Root.Key), crlOf(b, pki.Intermediate.Cert, pki.Intermediate.Key, serials...)))
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
