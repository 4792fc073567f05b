package httpauth_test

import (
	"crypto/elliptic"
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
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, testpki.DistinctIntermediates(t, pki, 3).Certs) {
		assert.ErrorIs(t, err, httpauth.ErrAmbiguousChain, mode)
	}
	// One forged twin beside the real intermediate is as ambiguous.
	twin := testpki.DistinctIntermediates(t, pki, 1).Certs[1]
	chain := []*x509.Certificate{pki.Alice.Cert, pki.Intermediate.Cert, twin}
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, chain) {
		assert.ErrorIs(t, err, httpauth.ErrAmbiguousChain, mode)
	}
}

func TestForgedCertificatesUnderRealIntermediateRefused(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, testpki.ForgedUnderRealIntermediate(t, pki, 3).Certs) {
		assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, mode)
	}
}

func TestStaleRootCopyDoesNotBreakTheChain(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	// A self-signed certificate with the root's name but another key, as a
	// client bundle with an outdated root holds: it vouches for nothing,
	// and the chain below it still reaches the configured root.
	stale := testpki.Sign(t, testpki.CATemplate(pki.Root.Cert.Subject), nil, testpki.ECKey(t, elliptic.P256()).Public(), testpki.ECKey(t, elliptic.P256()))
	// The root's own key and name in an expired copy, as the expired
	// AddTrust cross-certificate was in 2020.
	expiredTmpl := testpki.CATemplate(pki.Root.Cert.Subject)
	expiredTmpl.NotBefore, expiredTmpl.NotAfter = pki.Root.Cert.NotBefore, pki.Root.Cert.NotBefore.Add(time.Minute)
	expired := testpki.Sign(t, expiredTmpl, pki.Root.Cert, pki.Root.Cert.PublicKey, pki.Root.Key)
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
	old := testpki.Sign(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "expired intermediate"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: pki.Root.Cert.NotBefore, NotAfter: pki.Root.Cert.NotBefore.Add(1),
	}, pki.Root.Cert, pki.Intermediate.Key.Public(), pki.Root.Key)
	leaf := testpki.Sign(t, testpki.ClientTemplate("alice"), old, testpki.ECKey(t, elliptic.P256()).Public(), pki.Intermediate.Key)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, []*x509.Certificate{leaf, old}) {
		assert.ErrorIs(t, err, httpauth.ErrExpired, mode)
	}
}

func TestKeyIdentifiersChooseTheIssuer(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	inter := pki.Intermediate
	// A twin of the intermediate under another key identifier: the leaf's
	// authority key identifier names the real one, so the twin plays no
	// part and the chain is not ambiguous.
	otherKey := testpki.ECKey(t, elliptic.P256())
	twin := testpki.Sign(t, testpki.CATemplate(inter.Cert.Subject), nil, otherKey.Public(), otherKey)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, []*x509.Certificate{pki.Alice.Cert, twin, inter.Cert}) {
		assert.NoError(t, err, mode)
	}
	// A leaf without an authority key identifier is matched by name alone.
	parent := &x509.Certificate{Subject: inter.Cert.Subject} // no SubjectKeyId: the leaf gets no AKID
	noAKID := testpki.Sign(t, testpki.ClientTemplate("alice"), parent, testpki.ECKey(t, elliptic.P256()).Public(), inter.Key)
	if !assert.Empty(t, noAKID.AuthorityKeyId) {
		return
	}
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, []*x509.Certificate{noAKID, inter.Cert}) {
		assert.NoError(t, err, mode)
	}
}
