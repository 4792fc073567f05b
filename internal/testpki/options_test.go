package testpki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixedNow is the reference time of tests that pin the clock.
var fixedNow = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

func uriStrings(c *x509.Certificate) []string {
	var out []string
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out
}

func TestOptions(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)

	tests := []struct {
		name  string
		opts  []Option
		check func(t *testing.T, c *x509.Certificate)
	}{
		{"defaults", nil, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, "client", c.Subject.CommonName)
			assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, c.ExtKeyUsage)
			assert.Equal(t, x509.KeyUsageDigitalSignature, c.KeyUsage)
			assert.Empty(t, c.DNSNames)
			assert.Empty(t, c.EmailAddresses)
			assert.Empty(t, c.URIs)
			assert.Empty(t, c.IPAddresses)
			assert.IsType(t, &ecdsa.PublicKey{}, c.PublicKey)
		}},
		{"common name", []Option{WithCN("alice")}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, "alice", c.Subject.CommonName)
		}},
		{"empty common name", []Option{WithCN("")}, func(t *testing.T, c *x509.Certificate) {
			assert.Empty(t, c.Subject.CommonName)
		}},
		{"organization and unit", []Option{WithOrganization("Acme", "Acme EU"), WithOU("devices")}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, "client", c.Subject.CommonName)
			assert.Equal(t, []string{"Acme", "Acme EU"}, c.Subject.Organization)
			assert.Equal(t, []string{"devices"}, c.Subject.OrganizationalUnit)
		}},
		{"subject replaces earlier name options", []Option{
			WithCN("lost"), WithOU("lost"),
			WithSubject(pkix.Name{CommonName: "dev-1", Country: []string{"DE"}}),
			WithOrganization("Acme"),
		}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, "dev-1", c.Subject.CommonName)
			assert.Equal(t, []string{"DE"}, c.Subject.Country)
			assert.Equal(t, []string{"Acme"}, c.Subject.Organization)
			assert.Empty(t, c.Subject.OrganizationalUnit)
		}},
		{"subject with two CN attributes keeps both in order", []Option{WithSubject(pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "first"},
			{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "second"},
		}})}, func(t *testing.T, c *x509.Certificate) {
			var cns []any
			for _, n := range c.Subject.Names {
				if n.Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 3}) {
					cns = append(cns, n.Value)
				}
			}
			assert.Equal(t, []any{"first", "second"}, cns)
			assert.Equal(t, "second", c.Subject.CommonName, "crypto/x509 keeps the last")
		}},
		{"common name after subject wins", []Option{WithSubject(pkix.Name{CommonName: "a"}), WithCN("b")}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, "b", c.Subject.CommonName)
		}},
		{"subject without common name keeps it empty", []Option{WithSubject(pkix.Name{Organization: []string{"Acme"}})}, func(t *testing.T, c *x509.Certificate) {
			assert.Empty(t, c.Subject.CommonName)
		}},
		{"SANs", []Option{
			WithDNS("a.example.com", "b.example.com"),
			WithEmail("alice@example.com"),
			WithURI("spiffe://example.org/device/1", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"),
			WithIP(net.ParseIP("192.0.2.1"), net.ParseIP("2001:db8::1")),
		}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, []string{"a.example.com", "b.example.com"}, c.DNSNames)
			assert.Equal(t, []string{"alice@example.com"}, c.EmailAddresses)
			assert.Equal(t, []string{"spiffe://example.org/device/1", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"}, uriStrings(c))
			require.Len(t, c.IPAddresses, 2)
			assert.True(t, c.IPAddresses[0].Equal(net.ParseIP("192.0.2.1")))
			assert.True(t, c.IPAddresses[1].Equal(net.ParseIP("2001:db8::1")))
		}},
		{"later SAN option wins", []Option{WithDNS("a.example.com"), WithDNS("b.example.com")}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, []string{"b.example.com"}, c.DNSNames)
		}},
		{"serial", []Option{WithSerial(big.NewInt(4242))}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, 0, c.SerialNumber.Cmp(big.NewInt(4242)))
		}},
		{"nil serial means random", []Option{WithSerial(big.NewInt(1)), WithSerial(nil)}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, 128, c.SerialNumber.BitLen())
		}},
		{"default validity from now", []Option{WithNow(fixedNow)}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, fixedNow.Add(-time.Hour), c.NotBefore)
			assert.Equal(t, fixedNow.Add(24*time.Hour), c.NotAfter)
		}},
		{"explicit validity", []Option{WithValidity(fixedNow, fixedNow.Add(5*time.Second))}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, fixedNow, c.NotBefore)
			assert.Equal(t, fixedNow.Add(5*time.Second), c.NotAfter)
		}},
		{"expired", []Option{WithNow(fixedNow), Expired()}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, fixedNow.Add(-48*time.Hour), c.NotBefore)
			assert.Equal(t, fixedNow.Add(-24*time.Hour), c.NotAfter)
		}},
		{"now after expired still applies", []Option{Expired(), WithNow(fixedNow)}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, fixedNow.Add(-24*time.Hour), c.NotAfter)
		}},
		{"not yet valid", []Option{WithNow(fixedNow), NotYetValid()}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, fixedNow.Add(24*time.Hour), c.NotBefore)
			assert.Equal(t, fixedNow.Add(48*time.Hour), c.NotAfter)
		}},
		{"server only", []Option{ServerOnly()}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, c.ExtKeyUsage)
		}},
		{"explicit EKU", []Option{WithEKU(x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth)}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}, c.ExtKeyUsage)
		}},
		{"empty EKU drops the extension", []Option{WithEKU()}, func(t *testing.T, c *x509.Certificate) {
			assert.Empty(t, c.ExtKeyUsage)
			for _, ext := range c.Extensions {
				assert.NotEqual(t, "2.5.29.37", ext.Id.String(), "extended key usage extension present")
			}
		}},
		{"no revocation pointers by default", nil, func(t *testing.T, c *x509.Certificate) {
			assert.Empty(t, c.OCSPServer)
			assert.Empty(t, c.CRLDistributionPoints)
		}},
		{"revocation pointers", []Option{
			WithOCSPServer("http://127.0.0.1:1/ocsp", "http://ocsp.example.com"),
			WithCRLDistributionPoints("http://127.0.0.1:1/ca.crl", "ldap://ldap.example.com/cn=ca"),
		}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, []string{"http://127.0.0.1:1/ocsp", "http://ocsp.example.com"}, c.OCSPServer)
			assert.Equal(t, []string{"http://127.0.0.1:1/ca.crl", "ldap://ldap.example.com/cn=ca"}, c.CRLDistributionPoints)
		}},
		{"RSA key", []Option{WithKey(RSA)}, func(t *testing.T, c *x509.Certificate) {
			assert.IsType(t, &rsa.PublicKey{}, c.PublicKey)
		}},
		{"Ed25519 key", []Option{WithKey(Ed25519)}, func(t *testing.T, c *x509.Certificate) {
			assert.IsType(t, ed25519.PublicKey{}, c.PublicKey)
		}},
		{"nil option ignored", []Option{nil, WithCN("alice")}, func(t *testing.T, c *x509.Certificate) {
			assert.Equal(t, "alice", c.Subject.CommonName)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			leaf, err := root.Leaf(tt.opts...)
			require.NoError(t, err)
			tt.check(t, leaf.Cert)
		})
	}
}

func TestWithPermittedEmails(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)
	inter, err := root.Intermediate(WithPermittedEmails("example.com"))
	require.NoError(t, err)
	assert.Equal(t, []string{"example.com"}, inter.Cert.PermittedEmailAddresses)
	plain, err := root.Intermediate()
	require.NoError(t, err)
	assert.Empty(t, plain.Cert.PermittedEmailAddresses)
	for _, ext := range plain.Cert.Extensions {
		assert.NotEqual(t, "2.5.29.30", ext.Id.String(), "name constraints extension present")
	}

	tests := []struct {
		name   string
		opts   []Option
		verify bool
	}{
		{"email SAN inside", []Option{WithEmail("ops@example.com")}, true},
		{"email SAN outside", []Option{WithEmail("ceo@other.com")}, false},
		// What httpauth.AllowEmail must make up for: crypto/x509 does not
		// apply rfc822Name constraints to the subject's emailAddress.
		{"subject emailAddress outside passes crypto/x509", []Option{WithSubject(pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "ceo@other.com"},
		}})}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			leaf, err := inter.Leaf(tt.opts...)
			require.NoError(t, err)
			err = verifyClient(leaf, root, time.Now())
			if tt.verify {
				assert.NoError(t, err)
			} else {
				invalidBecause(x509.CANotAuthorizedForThisName)(t, err)
			}
		})
	}
}

func TestOptionsCopyArguments(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)

	dns := []string{"a.example.com"}
	ip := net.ParseIP("192.0.2.1")
	serial := big.NewInt(7)
	ocsp := []string{"http://ocsp.example.com"}
	crl := []string{"http://crl.example.com/ca.crl"}
	opts := []Option{WithDNS(dns...), WithIP(ip), WithSerial(serial), WithOCSPServer(ocsp...), WithCRLDistributionPoints(crl...)}
	dns[0] = "changed.example.com"
	ocsp[0] = "http://changed.example.com"
	crl[0] = "http://changed.example.com"
	ip[15] = 9
	serial.SetInt64(8)

	leaf, err := root.Leaf(opts...)
	require.NoError(t, err)
	assert.Equal(t, []string{"a.example.com"}, leaf.Cert.DNSNames)
	assert.True(t, leaf.Cert.IPAddresses[0].Equal(net.ParseIP("192.0.2.1")))
	assert.Equal(t, int64(7), leaf.Cert.SerialNumber.Int64())
	assert.Equal(t, []string{"http://ocsp.example.com"}, leaf.Cert.OCSPServer)
	assert.Equal(t, []string{"http://crl.example.com/ca.crl"}, leaf.Cert.CRLDistributionPoints)
}

func TestOptionErrors(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)

	tests := []struct {
		name    string
		opts    []Option
		wantErr string
	}{
		{"unparsable URI", []Option{WithURI("spiffe://example.org/%zz")}, "testpki: invalid URI SAN"},
		{"relative URI", []Option{WithURI("spiffe://ok", "device/1")}, `testpki: URI SAN "device/1" is not absolute`},
		{"nil IP", []Option{WithIP(nil)}, "testpki: invalid IP SAN of 0 bytes"},
		{"short IP", []Option{WithIP(net.IP{1, 2, 3})}, "testpki: invalid IP SAN of 3 bytes"},
		{"validity reversed", []Option{WithValidity(fixedNow, fixedNow.Add(-time.Second))}, "testpki: validity ends before it starts"},
		{"negative serial", []Option{WithSerial(big.NewInt(-1))}, "testpki: sign certificate"},
		{"unknown key type", []Option{WithKey(KeyType(3))}, "testpki: unknown key type 3"},
		{"first error wins", []Option{WithURI("x"), WithIP(nil)}, `testpki: URI SAN "x" is not absolute`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			constructors := map[string]func(...Option) (any, error){
				"root":         func(o ...Option) (any, error) { return NewRoot(o...) },
				"intermediate": func(o ...Option) (any, error) { return root.Intermediate(o...) },
				"leaf":         func(o ...Option) (any, error) { return root.Leaf(o...) },
				"server":       func(o ...Option) (any, error) { return root.Server(o...) },
				"self-signed":  func(o ...Option) (any, error) { return SelfSigned(o...) },
			}
			for name, construct := range constructors {
				got, err := construct(tt.opts...)
				require.Error(t, err, name)
				assert.ErrorContains(t, err, tt.wantErr, name)
				assert.Nil(t, got, name)
			}
		})
	}
}
