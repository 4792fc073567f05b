package httpauth_test

import (
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func TestCRLDistributionPointGood(t *testing.T) { testGood(t, crldpChecker) }

func TestCRLDistributionPointRevoked(t *testing.T) { testRevoked(t, crldpChecker) }

func TestCRLDistributionPointServedAsPEM(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	f.crl.revoke("/inter.crl", f.leaf.Cert)
	spec := f.crl.lists["/inter.crl"]
	der, err := f.crl.sign(spec)
	require.NoError(t, err)
	f.crl.set(func(c *crlServer) { c.behave = body(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})) })
	d := f.newCRLDP(t, httpauth.CRLDistributionPointsConfig{LeafOnly: true})
	assertRefused(t, f.authenticate(t, f.leaf, d), httpauth.ErrRevoked)
}

func TestCRLDistributionPointLeafOnly(t *testing.T) { testLeafOnly(t, crldpChecker) }

func TestCRLDistributionPointUnreachable(t *testing.T) { testUnreachable(t, crldpChecker) }

func TestCRLDistributionPointOnlyHTTP(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	f.crl.revoke("/inter.crl", f.leaf.Cert)
	tests := []struct {
		name string
		dps  []string
		want httpauth.RevocationStatus
	}{
		{"no distribution point", nil, httpauth.RevocationUnknown},
		{"ldap only", []string{"ldap://ldap.example.com/cn=inter?certificateRevocationList"}, httpauth.RevocationUnknown},
		{"ldap first, then http", []string{"ldap://ldap.example.com/cn=inter?certificateRevocationList", f.crl.url("/inter.crl")}, httpauth.RevocationRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := f.mintLeaf(t, testpki.WithCRLDistributionPoints(tt.dps...))
			f.crl.revoke("/inter.crl", leaf.Cert)
			d := f.newCRLDP(t, httpauth.CRLDistributionPointsConfig{LeafOnly: true})
			ans := d.CheckRevocation(t.Context(), f.chain(leaf))
			assert.Equal(t, tt.want, ans.Status, ans.Detail)
			if tt.want == httpauth.RevocationUnknown {
				assert.Contains(t, ans.Detail, "names no http CRL distribution point")
			}
		})
	}
}

// TestCRLDistributionPointWrongIssuer: a CRL counts only when it is the
// verified issuer's. Each of these lists nothing, so taking it would
// clear the leaf.
func TestCRLDistributionPointWrongIssuer(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	other, twin := f.impostors(t)
	// Name and key identifier of the intermediate, another key: only the
	// signature tells them apart.
	key := testpki.ECKey(t, elliptic.P256())
	forged := testpki.Sign(t, &x509.Certificate{
		Subject: f.inter.Cert.Subject, SubjectKeyId: f.inter.Cert.SubjectKeyId,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, key.Public(), key)

	tests := []struct {
		name   string
		signer *testpki.Authority
	}{
		{"signed by another CA", other},
		{"signed by a CA of the same name", twin},
		{"signed by a CA of the same name and key identifier", &testpki.Authority{Cert: forged, Key: key}},
		{"the root's CRL", f.root},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := f.mintLeaf(t, testpki.WithCRLDistributionPoints(f.crl.url("/"+t.Name())))
			f.crl.set(func(c *crlServer) { c.lists["/"+t.Name()] = &crlSpec{signer: tt.signer, validity: time.Hour} })
			d := f.newCRLDP(t, httpauth.CRLDistributionPointsConfig{LeafOnly: true})

			ans := d.CheckRevocation(t.Context(), f.chain(leaf))
			assert.Equal(t, httpauth.RevocationUnknown, ans.Status, ans.Detail)
			assert.Contains(t, ans.Detail, "is not signed by")
			assertRefused(t, f.authenticate(t, leaf, d), httpauth.ErrRevocationUnknown)
		})
	}
}

func TestCRLDistributionPointCached(t *testing.T) {
	f, d := testCachedUntilNextUpdate(t, crldpChecker)
	// A CRL speaks for every certificate that names its URL.
	assert.NoError(t, f.authenticate(t, f.mintLeaf(t, testpki.WithCN("bob")), d))
	assert.Equal(t, int32(2), f.crl.hits.Load(), "one fetch per URL, whichever certificate names it")
}

func TestCRLDistributionPointRefreshedInBackground(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	d := f.newCRLDP(t, httpauth.CRLDistributionPointsConfig{LeafOnly: true, Timeout: time.Minute})
	assert.NoError(t, f.authenticate(t, f.leaf, d))

	f.crl.revoke("/inter.crl", f.leaf.Cert)
	f.clock.Advance(50 * time.Minute)
	assert.NoError(t, f.authenticate(t, f.leaf, d), "the cached CRL answers while the refresh runs")
	httpauth.WaitFetches(d)
	assert.Equal(t, int32(2), f.crl.hits.Load())
	assertRefused(t, f.authenticate(t, f.leaf, d), httpauth.ErrRevoked)
}

func TestCRLDistributionPointStale(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	f.crl.set(func(c *crlServer) { c.lists["/inter.crl"].thisAge = 2 * time.Hour })
	d := f.newCRLDP(t, httpauth.CRLDistributionPointsConfig{LeafOnly: true})
	ans := d.CheckRevocation(t.Context(), f.chain(f.leaf))
	assert.Equal(t, httpauth.RevocationUnknown, ans.Status)
	assert.Contains(t, ans.Detail, "expired")
	assertRefused(t, f.authenticate(t, f.leaf, d), httpauth.ErrRevocationUnknown)
}

func TestCRLDistributionPointHuge(t *testing.T) { testHugeAnswer(t, crldpChecker) }

func TestCRLDistributionPointSlow(t *testing.T) { testSlowServer(t, crldpChecker) }

func TestCRLDistributionPointOneFetchInFlight(t *testing.T) { testOneFetchInFlight(t, crldpChecker) }

var oidIDP = asn1.ObjectIdentifier{2, 5, 29, 28}

// idp builds an issuing distribution point extension (RFC 5280, section
// 5.2.5) from its fields.
func idp(fields ...func(*cryptobyte.Builder)) pkix.Extension {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, f := range fields {
			f(b)
		}
	})
	return pkix.Extension{Id: oidIDP, Critical: true, Value: b.BytesOrPanic()}
}

func idpURLs(urls ...string) func(*cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				for _, u := range urls {
					b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(u)) })
				}
			})
		})
	}
}

func idpFlag(tag uint8) func(*cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(tag).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddUint8(0xff) })
	}
}

// TestCRLDistributionPointScope: a CRL speaks only for the certificates
// its scope covers, and a CRL this package cannot apply whole is no
// answer. Each CRL lists the revoked leaf.
func TestCRLDistributionPointScope(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	self := f.crl.url("/inter.crl")
	reasons := func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(3).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte{0x06, 0x40}) })
	}
	tests := []struct {
		name   string
		ext    pkix.Extension
		want   httpauth.RevocationStatus
		detail string
	}{
		{"names this point", idp(idpURLs("http://mirror.example.com/inter.crl", self)), httpauth.RevocationRevoked, ""},
		{"names another point", idp(idpURLs("http://crl.example.com/shard-7.crl")), httpauth.RevocationUnknown, "names none of the certificate's"},
		{"end entities only", idp(idpURLs(self), idpFlag(1)), httpauth.RevocationRevoked, ""},
		{"CAs only", idp(idpFlag(2)), httpauth.RevocationUnknown, "holds CA certificates only"},
		{"partitioned by reason", idp(idpURLs(self), reasons), httpauth.RevocationUnknown, "partitioned by reason"},
		{"indirect", idp(idpFlag(4)), httpauth.RevocationUnknown, "indirect CRL"},
		{"attribute certificates", idp(idpFlag(5)), httpauth.RevocationUnknown, "attribute certificates"},
		{"malformed", pkix.Extension{Id: oidIDP, Critical: true, Value: []byte{0x30, 0x03, 0x81, 0x01}}, httpauth.RevocationUnknown, "issuing distribution point: malformed"},
		{"delta CRL", pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: []byte{0x02, 0x01, 0x01}}, httpauth.RevocationUnknown, "delta CRL"},
		{"unknown critical extension", pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{0x05, 0x00}}, httpauth.RevocationUnknown, "unsupported critical extension 1.2.3.4"},
		{"unknown non-critical extension", pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: []byte{0x05, 0x00}}, httpauth.RevocationRevoked, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := f.mintLeaf(t)
			f.crl.revoke("/inter.crl", leaf.Cert)
			f.crl.set(func(c *crlServer) { c.lists["/inter.crl"].exts = []pkix.Extension{tt.ext} })
			d := f.newCRLDP(t, httpauth.CRLDistributionPointsConfig{LeafOnly: true})
			ans := d.CheckRevocation(t.Context(), f.chain(leaf))
			assert.Equal(t, tt.want, ans.Status, ans.Detail)
			assert.Contains(t, ans.Detail, tt.detail)
		})
	}

	t.Run("end entities only, asked about a CA", func(t *testing.T) {
		f.crl.set(func(c *crlServer) { c.lists["/root.crl"].exts = []pkix.Extension{idp(idpFlag(1))} })
		d := f.newCRLDP(t, httpauth.CRLDistributionPointsConfig{})
		ans := d.CheckRevocation(t.Context(), f.chain(f.mintLeaf(t)))
		assert.Equal(t, httpauth.RevocationUnknown, ans.Status)
		assert.Contains(t, ans.Detail, "certificate 1")
		assert.Contains(t, ans.Detail, "holds end-entity certificates only")
	})
}
