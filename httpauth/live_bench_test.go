package httpauth_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/require"
)

// BenchmarkRecheckRound is one round of re-checks over held connections,
// each with its own certificate, as after a roots or CRL change: the
// chain's dates, its root against the roots in force, and (with a CRL) the
// intermediate's CRL of 100,000 serials. The figure to read is ns/conn.
//
//	go test ./httpauth -run '^$' -bench RecheckRound -benchmem
//
// Target: 10,000 connections in well under a second of CPU.
func BenchmarkRecheckRound(b *testing.B) {
	pki := testpki.MustSet(b)
	crls := crl100k(b, pki)
	leaves := distinctLeaves(b, pki, 10_000)
	for _, rev := range []struct {
		name string
		list []httpauth.RevocationChecker
	}{{"roots", nil}, {"roots+crl", []httpauth.RevocationChecker{crls}}} {
		for _, n := range []int{1_000, 10_000} {
			b.Run(fmt.Sprintf("%s/conns=%d", rev.name, n), func(b *testing.B) {
				a := mustNew(b, httpauth.Config{Roots: pki.Root.Pool(), Revocation: rev.list, RecheckInterval: -1})
				for _, leaf := range leaves[:n] {
					r := httptest.NewRequest(http.MethodGet, "https://server.test/", nil)
					r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: append([]*x509.Certificate{leaf}, pki.Intermediate.Cert)}
					id, err := a.Authenticate(r)
					require.NoError(b, err)
					_, release := a.Hold(context.Background(), r, id, nil)
					b.Cleanup(release)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					httpauth.RecheckHeld(a)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/conn")
			})
		}
	}
}

// distinctLeaves signs n client certificates under pki's intermediate,
// sharing one key: signing is cheap, key generation is not.
func distinctLeaves(tb testing.TB, pki *testpki.Set, n int) []*x509.Certificate {
	key := pki.Alice.Key
	out := make([]*x509.Certificate, n)
	for i := range out {
		out[i] = testpki.Sign(tb, testpki.ClientTemplate(fmt.Sprintf("client-%d", i)), pki.Intermediate.Cert, key.Public(), pki.Intermediate.Key)
	}
	return out
}
