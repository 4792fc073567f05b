package httpauth

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"

	"github.com/certgate/certgate/internal/testpki"
)

// The decoders' fuzz targets stop at DER. These go on through screening,
// path building and verification, where hostile chains do their harm: any
// input must end in a refusal of our own or in an identity that really
// chains to the roots with client-auth usage.

var fuzzEncodings = []Encoding{URLPEM, XFCC, Base64DER, Base64DERList, RFC9440, PEM}

// fuzzVerifier holds one Authenticator per encoding, verifying every time.
type fuzzVerifier struct {
	pki   *testpki.Set
	byEnc []*Authenticator
	tls   *Authenticator
}

func newFuzzVerifier(f *testing.F) *fuzzVerifier {
	pki := testpki.MustSet(f)
	v := &fuzzVerifier{pki: pki}
	for _, enc := range fuzzEncodings {
		src := Source{Header: "X-Cert", Encoding: enc, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
		if enc != XFCC {
			src.ChainHeader = "X-Chain"
		}
		a, err := New(Config{Source: src, Roots: pki.Root.Pool(), CacheSize: -1})
		if err != nil {
			f.Fatal(err)
		}
		v.byEnc = append(v.byEnc, a)
	}
	a, err := New(Config{Roots: pki.Root.Pool(), CacheSize: -1})
	if err != nil {
		f.Fatal(err)
	}
	v.tls = a
	return v
}

// check is the property: a refusal is one of our 401 reasons; an identity
// is verified, not a CA, and chains to the roots for client auth.
func (v *fuzzVerifier) check(t *testing.T, id *Identity, err error) {
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.ResponseStatus() != http.StatusUnauthorized {
			t.Fatalf("refusal is not a 401 *Error: %v", err)
		}
		if !errors.Is(err, ErrNotVerified) && !errors.Is(err, ErrNoCertificate) {
			t.Fatalf("refusal without a verification reason: %v", err)
		}
		return
	}
	leaf := id.Certificate
	if !id.Verified || leaf.IsCA {
		t.Fatalf("accepted an unverified or CA leaf: %+v", id)
	}
	pool := x509.NewCertPool()
	pool.AddCert(v.pki.Intermediate.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: v.pki.Root.Pool(), Intermediates: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("accepted a certificate that does not verify: %v", err)
	}
}

func FuzzVerifyHeader(f *testing.F) {
	v := newFuzzVerifier(f)
	alice, inter := v.pki.Alice, v.pki.Intermediate.Cert
	b64 := func(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }
	chainPEM := string(alice.ChainPEM())
	for i, enc := range fuzzEncodings {
		switch enc {
		case URLPEM:
			f.Add(uint8(i), url.PathEscape(chainPEM), "")
			f.Add(uint8(i), url.PathEscape(string(v.pki.Forged.PEM())), "")
		case XFCC:
			f.Add(uint8(i), `Hash=00;Cert="`+url.PathEscape(string(alice.PEM()))+`";Chain="`+url.PathEscape(chainPEM)+`"`, "")
		case Base64DER:
			f.Add(uint8(i), b64(alice.Cert), b64(inter))
			f.Add(uint8(i), base64.StdEncoding.EncodeToString(append(bytes.Clone(alice.Cert.Raw), inter.Raw...)), "")
		case Base64DERList:
			f.Add(uint8(i), b64(alice.Cert)+","+b64(inter), "")
		case RFC9440:
			f.Add(uint8(i), ":"+b64(alice.Cert)+":", ":"+b64(inter)+":, :"+b64(v.pki.Root.Cert)+":")
		case PEM:
			f.Add(uint8(i), chainPEM, "")
		}
	}
	f.Fuzz(func(t *testing.T, enc uint8, value, chain string) {
		a := v.byEnc[int(enc)%len(v.byEnc)]
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "127.0.0.1:1234"
		r.Header["X-Cert"] = []string{value}
		if chain != "" {
			r.Header["X-Chain"] = []string{chain}
		}
		id, err := a.Authenticate(r)
		v.check(t, id, err)
	})
}

// FuzzVerifyPresentedChain feeds concatenated DER as a TLS client's
// presented chain, the path that the chain-building attacks take.
func FuzzVerifyPresentedChain(f *testing.F) {
	v := newFuzzVerifier(f)
	join := func(certs ...*x509.Certificate) []byte {
		var out []byte
		for _, c := range certs {
			out = append(out, c.Raw...)
		}
		return out
	}
	inter, root := v.pki.Intermediate.Cert, v.pki.Root.Cert
	f.Add(join(v.pki.Alice.Cert, inter))
	f.Add(join(v.pki.Alice.Cert, inter, root, inter))
	f.Add(join(v.pki.Forged.Cert))
	f.Add(join(v.pki.Expired.Cert, inter))
	f.Add(join(v.pki.Stranger.Cert, v.pki.OtherRoot.Cert))
	f.Fuzz(func(t *testing.T, der []byte) {
		certs, err := x509.ParseCertificates(der)
		if err != nil || len(certs) == 0 {
			return // crypto/tls would have refused it in the handshake
		}
		r := httptest.NewRequest(http.MethodGet, "https://server.test/", nil)
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: certs}
		id, err := v.tls.Authenticate(r)
		v.check(t, id, err)
	})
}
