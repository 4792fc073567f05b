package httpauth

import (
	"crypto"
	"crypto/x509"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testpki"
	"golang.org/x/crypto/ocsp"
)

// FuzzOCSPResponse feeds verifyOCSP what a responder, or anyone on the
// plain-HTTP path to it, could send: it must never panic, return a status
// together with an error, or accept a response that is stale at now.
// Seeds are responses signed by the issuer, by a delegated responder, by
// a stranger, and the error responses.
func FuzzOCSPResponse(f *testing.F) {
	now := time.Now()
	root, err := testpki.NewRoot()
	if err != nil {
		f.Fatal(err)
	}
	leaf, err := root.Leaf()
	if err != nil {
		f.Fatal(err)
	}
	delegate, err := root.Leaf(testpki.WithEKU(x509.ExtKeyUsageOCSPSigning))
	if err != nil {
		f.Fatal(err)
	}
	stranger, err := testpki.NewRoot()
	if err != nil {
		f.Fatal(err)
	}
	tmpl := ocsp.Response{SerialNumber: leaf.Cert.SerialNumber, ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}
	for _, s := range []struct {
		status int
		signer *x509.Certificate
		key    crypto.Signer
		embed  bool
	}{
		{ocsp.Good, root.Cert, root.Key, false},
		{ocsp.Revoked, root.Cert, root.Key, true},
		{ocsp.Unknown, delegate.Cert, delegate.Key, true},
		{ocsp.Good, stranger.Cert, stranger.Key, false},
	} {
		t := tmpl
		t.Status = s.status
		if s.embed {
			t.Certificate = s.signer
		}
		der, err := ocsp.CreateResponse(root.Cert, s.signer, t, s.key)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	for _, der := range [][]byte{ocsp.TryLaterErrorResponse, ocsp.UnauthorizedErrorResponse, ocsp.MalformedRequestErrorResponse, {}, {0x30, 0x00}} {
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		st, expires, err := verifyOCSP(der, leaf.Cert, root.Cert, now, time.Hour)
		if err != nil {
			if st != nil {
				t.Fatalf("status %+v returned with error %v", st, err)
			}
			return
		}
		if st == nil || !now.Before(expires) {
			t.Fatalf("accepted status %+v valid until %s at %s", st, expires, now)
		}
	})
}
