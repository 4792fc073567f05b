package httpauth_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
)

func TestAmbiguousChainRefused(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, distinctIntermediates(t, pki, 3)) {
		assert.ErrorIs(t, err, httpauth.ErrAmbiguousChain, mode)
	}
	// One forged twin beside the real intermediate is as ambiguous.
	twin := distinctIntermediates(t, pki, 1)[1]
	chain := []*x509.Certificate{pki.Alice.Cert, pki.Intermediate.Cert, twin}
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, chain) {
		assert.ErrorIs(t, err, httpauth.ErrAmbiguousChain, mode)
	}
}

func TestForgedCertificatesUnderRealIntermediateRefused(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, sandwich(t, pki, 3)) {
		assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, mode)
	}
}

func TestStaleRootCopyDoesNotBreakTheChain(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	// A self-signed certificate with the root's name but another key, as a
	// client bundle with an outdated root holds: it vouches for nothing,
	// and the chain below it still reaches the configured root.
	stale := mint(t, caTemplate(pki.Root.Cert.Subject), nil, p256(t).Public(), p256(t))
	// The root's own key and name in an expired copy, as the expired
	// AddTrust cross-certificate was in 2020.
	expiredTmpl := caTemplate(pki.Root.Cert.Subject)
	expiredTmpl.NotBefore, expiredTmpl.NotAfter = pki.Root.Cert.NotBefore, pki.Root.Cert.NotBefore.Add(time.Minute)
	expired := mint(t, expiredTmpl, pki.Root.Cert, pki.Root.Cert.PublicKey, pki.Root.Key)
	for name, extra := range map[string]*x509.Certificate{"other key": stale, "expired copy": expired} {
		for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, append(chainOf(pki.Alice), extra)) {
			assert.NoError(t, err, "%s, %s", name, mode)
		}
	}
}

func TestExpiredIntermediateKeepsItsReason(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	// The path is proven from the top, so the intermediate's expiry is
	// found there; the refusal must still say expired.
	old := mint(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "expired intermediate"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: pki.Root.Cert.NotBefore, NotAfter: pki.Root.Cert.NotBefore.Add(1),
	}, pki.Root.Cert, pki.Intermediate.Key.Public(), pki.Root.Key)
	leaf := mint(t, clientTemplate("alice", old.Subject), old, p256(t).Public(), pki.Intermediate.Key)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, []*x509.Certificate{leaf, old}) {
		assert.ErrorIs(t, err, httpauth.ErrExpired, mode)
	}
}
