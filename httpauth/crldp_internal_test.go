package httpauth

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idpVectors are issuing distribution point extension values written by
// OpenSSL 3.0, not by the code under test: `openssl ca -gencrl` with
// crl_extensions holding "issuingDistributionPoint = critical, @idp" and
// an [idp] section of "fullname = URI:http://crl.example.com/inter.crl"
// plus the option named, then `openssl asn1parse` for the value.
var idpVectors = []struct {
	name string
	hex  string
	want crlScope
	err  string
}{
	{"onlyuser = TRUE", "3029a024a0228620687474703a2f2f63726c2e6578616d706c652e636f6d2f696e7465722e63726c8101ff", crlScope{urls: []string{"http://crl.example.com/inter.crl"}, onlyEE: true}, ""},
	{"onlyCA = TRUE", "3029a024a0228620687474703a2f2f63726c2e6578616d706c652e636f6d2f696e7465722e63726c8201ff", crlScope{urls: []string{"http://crl.example.com/inter.crl"}, onlyCA: true}, ""},
	{"indirectCRL = TRUE", "3029a024a0228620687474703a2f2f63726c2e6578616d706c652e636f6d2f696e7465722e63726c8401ff", crlScope{}, "indirect"},
	{"onlysomereasons = keyCompromise", "302aa024a0228620687474703a2f2f63726c2e6578616d706c652e636f6d2f696e7465722e63726c83020640", crlScope{}, "partitioned by reason"},
	{"onlyAA = TRUE", "3029a024a0228620687474703a2f2f63726c2e6578616d706c652e636f6d2f696e7465722e63726c8501ff", crlScope{}, "attribute certificates"},
	{"onlyuser = TRUE, no fullname", "30038101ff", crlScope{onlyEE: true}, ""},
}

func TestParseIDP(t *testing.T) {
	t.Parallel()
	for _, tt := range idpVectors {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			der, err := hex.DecodeString(tt.hex)
			require.NoError(t, err)
			got, err := parseIDP(der)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// FuzzCRLDistributionPointCRL feeds parseDPCRL what a distribution point,
// or anyone on the plain-HTTP path to it, could send, then asks the result
// about a certificate: it must never panic, nor return a CRL with an
// error, nor anything but exactly one CRL.
func FuzzCRLDistributionPointCRL(f *testing.F) {
	now := time.Now()
	root, err := testpki.NewRoot()
	if err != nil {
		f.Fatal(err)
	}
	leaf, err := root.Leaf(testpki.WithCRLDistributionPoints("http://crl.example.com/inter.crl"))
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range idpVectors {
		value, _ := hex.DecodeString(v.hex)
		for _, exts := range [][]pkix.Extension{nil, {{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Critical: true, Value: value}}} {
			der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
				Number: big.NewInt(1), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour), ExtraExtensions: exts,
				RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: leaf.Cert.SerialNumber, RevocationTime: now}},
			}, root.Cert, root.Key)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(der)
		}
	}
	f.Add([]byte("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		crl, _, err := parseDPCRL(data, now, time.Hour)
		if err != nil {
			if crl != nil {
				t.Fatalf("CRL returned with error %v", err)
			}
			return
		}
		n := 0
		for _, es := range crl.set.byIssuer {
			n += len(es)
		}
		if n != 1 {
			t.Fatalf("%d CRLs accepted", n)
		}
		_ = crl.scope.covers(leaf.Cert)
		if e := crl.set.find(leaf.Cert, root.Cert); e != nil {
			e.judge(leaf.Cert, root.Cert, now)
		}
	})
}

// FuzzIssuingDistributionPoint: parseIDP never panics, and a scope it
// returns never claims both kinds of certificate only.
func FuzzIssuingDistributionPoint(f *testing.F) {
	for _, v := range idpVectors {
		der, _ := hex.DecodeString(v.hex)
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		s, err := parseIDP(der)
		if err == nil && s.onlyCA && s.onlyEE {
			t.Fatal("a scope of nothing accepted")
		}
	})
}
