package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
	"time"
)

// Sign signs a copy of tmpl for pub with signer, the key of parent, and
// parses the result; a nil parent makes the certificate self-signed. Unlike
// [Authority.Leaf] it takes the template as it is, for certificates no
// [Option] describes: hostile ones, copies of a CA with another key, odd key
// usages. It fills in only what tmpl leaves unset: a random serial, and a
// validity from an hour ago for a day when NotBefore is zero. Errors stop
// the test.
func Sign(tb testing.TB, tmpl, parent *x509.Certificate, pub any, signer crypto.Signer) *x509.Certificate {
	tb.Helper()
	t := *tmpl
	if parent == nil {
		parent = &t
	}
	if t.SerialNumber == nil {
		serial, err := randomSerial()
		if err != nil {
			tb.Fatal(err)
		}
		t.SerialNumber = serial
	}
	if t.NotBefore.IsZero() {
		now := time.Now()
		t.NotBefore, t.NotAfter = now.Add(-backdate), now.Add(clientProfile.lifetime)
	}
	der, err := x509.CreateCertificate(rand.Reader, &t, parent, pub, signer)
	if err != nil {
		tb.Fatalf("testpki: sign certificate: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("testpki: parse signed certificate: %v", err)
	}
	return c
}

// CATemplate is a template for [Sign]: a CA named subject that may sign
// certificates, with no path length limit.
func CATemplate(subject pkix.Name) *x509.Certificate {
	return &x509.Certificate{Subject: subject, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
}

// ClientTemplate is a template for [Sign]: a client certificate with common
// name cn, digital-signature key usage and client-auth extended key usage.
// Its issuer is the subject of the parent it is signed under.
func ClientTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// ECKey generates an ECDSA key on curve, for [Sign]. Errors stop the test.
func ECKey(tb testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		tb.Fatalf("testpki: generate ECDSA key: %v", err)
	}
	return k
}
