package testpki

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewRoot(t *testing.T) {
	t.Parallel()
	root, err := NewRoot(WithNow(fixedNow))
	require.NoError(t, err)
	c := root.Cert

	assert.Equal(t, "certgate test root", c.Subject.CommonName)
	assert.Equal(t, c.RawSubject, c.RawIssuer)
	assert.NoError(t, c.CheckSignatureFrom(c), "self-signed")
	assert.True(t, c.BasicConstraintsValid)
	assert.True(t, c.IsCA)
	assert.Equal(t, -1, c.MaxPathLen, "path length unrestricted")
	assert.False(t, c.MaxPathLenZero)
	assert.Equal(t, x509.KeyUsageCertSign|x509.KeyUsageCRLSign, c.KeyUsage)
	assert.Empty(t, c.ExtKeyUsage)
	assert.Len(t, c.SubjectKeyId, 20)
	assert.Equal(t, c.SubjectKeyId, c.AuthorityKeyId)
	assert.Equal(t, fixedNow.Add(-time.Hour), c.NotBefore)
	assert.Equal(t, fixedNow.Add(365*24*time.Hour), c.NotAfter)
	assert.Empty(t, root.Chain)
	assert.Equal(t, c.PublicKey, root.Key.Public())
}

func TestIntermediate(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)
	inter, err := root.Intermediate()
	require.NoError(t, err)
	c := inter.Cert

	assert.Equal(t, "certgate test intermediate", c.Subject.CommonName)
	assert.NoError(t, c.CheckSignatureFrom(root.Cert))
	assert.True(t, c.BasicConstraintsValid)
	assert.True(t, c.IsCA)
	assert.Equal(t, -1, c.MaxPathLen, "path length unrestricted")
	assert.Equal(t, root.Cert.SubjectKeyId, c.AuthorityKeyId)
	assert.NotEqual(t, root.Cert.SubjectKeyId, c.SubjectKeyId)
	assert.Equal(t, []*x509.Certificate{root.Cert}, inter.Chain)

	// A second level keeps the whole chain, nearest first.
	sub, err := inter.Intermediate(WithCN("sub"))
	require.NoError(t, err)
	assert.Equal(t, []*x509.Certificate{inter.Cert, root.Cert}, sub.Chain)
	leaf, err := sub.Leaf()
	require.NoError(t, err)
	assert.Equal(t, []*x509.Certificate{sub.Cert, inter.Cert, root.Cert}, leaf.Chain)
	assert.NoError(t, verifyClient(leaf, root, time.Now()), "no path length limit")

	// Issuing must not share the authority's Chain backing array.
	leaf.Chain[0] = nil
	assert.Equal(t, []*x509.Certificate{inter.Cert, root.Cert}, sub.Chain)
}

func TestAuthorityKeyTypes(t *testing.T) {
	t.Parallel()
	for _, kt := range []KeyType{ECDSA, RSA, Ed25519} {
		t.Run(kt.String(), func(t *testing.T) {
			t.Parallel()
			root, err := NewRoot(WithKey(kt))
			require.NoError(t, err)
			inter, err := root.Intermediate(WithKey(kt))
			require.NoError(t, err)
			leaf, err := inter.Leaf(WithKey(kt))
			require.NoError(t, err)
			assert.NoError(t, verifyClient(leaf, root, time.Now()))
			assert.Equal(t, leaf.Cert.PublicKey, leaf.Key.Public())
		})
	}
}

func TestAuthorityServer(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)

	srv, err := root.Server()
	require.NoError(t, err)
	c := srv.Cert
	assert.Equal(t, "localhost", c.Subject.CommonName)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, c.ExtKeyUsage)
	assert.False(t, c.IsCA)
	assert.True(t, c.BasicConstraintsValid)
	assert.Equal(t, []string{"localhost"}, c.DNSNames)
	require.Len(t, c.IPAddresses, 2)
	assert.Equal(t, "127.0.0.1", c.IPAddresses[0].String())
	assert.Equal(t, "::1", c.IPAddresses[1].String())
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		_, err := c.Verify(x509.VerifyOptions{DNSName: host, Roots: root.Pool()})
		assert.NoError(t, err, host)
	}

	// Naming any DNS or IP SAN replaces all the defaults.
	named, err := root.Server(WithDNS("api.example.com"))
	require.NoError(t, err)
	assert.Equal(t, []string{"api.example.com"}, named.Cert.DNSNames)
	assert.Empty(t, named.Cert.IPAddresses)
}

func TestAuthorityPoolAndPEM(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)
	inter, err := root.Intermediate()
	require.NoError(t, err)

	block, rest := pem.Decode(inter.PEM())
	require.NotNil(t, block)
	assert.Equal(t, "CERTIFICATE", block.Type)
	assert.Equal(t, inter.Cert.Raw, block.Bytes)
	assert.Empty(t, rest, "only the authority's own certificate")

	pool := inter.Pool()
	assert.True(t, pool.Equal(func() *x509.CertPool {
		p := x509.NewCertPool()
		p.AddCert(inter.Cert)
		return p
	}()))
	assert.False(t, pool.Equal(root.Pool()))
}

func TestNilAuthority(t *testing.T) {
	t.Parallel()
	var a *Authority

	inter, err := a.Intermediate()
	assert.ErrorIs(t, err, errNilAuthority)
	assert.Nil(t, inter)
	leaf, err := a.Leaf()
	assert.ErrorIs(t, err, errNilAuthority)
	assert.Nil(t, leaf)
	srv, err := a.Server()
	assert.ErrorIs(t, err, errNilAuthority)
	assert.Nil(t, srv)
	assert.Nil(t, a.PEM())
	assert.True(t, a.Pool().Equal(x509.NewCertPool()))

	empty := &Authority{}
	_, err = empty.Leaf()
	assert.EqualError(t, err, "testpki: authority has no certificate or key")
	assert.True(t, empty.Pool().Equal(x509.NewCertPool()))
}

func TestAuthorityKeyMismatch(t *testing.T) {
	t.Parallel()
	a, err := NewRoot()
	require.NoError(t, err)
	b, err := NewRoot()
	require.NoError(t, err)

	mixed := &Authority{Cert: a.Cert, Key: b.Key}
	_, err = mixed.Leaf()
	assert.ErrorContains(t, err, "testpki: sign certificate")
}

func TestSerialsUniqueAndPositive(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)

	seen := map[string]bool{root.Cert.SerialNumber.String(): true}
	for range 50 {
		leaf, err := root.Leaf()
		require.NoError(t, err)
		sn := leaf.Cert.SerialNumber
		assert.Equal(t, 1, sn.Sign())
		assert.Equal(t, 128, sn.BitLen())
		assert.False(t, seen[sn.String()], "duplicate serial %s", sn)
		seen[sn.String()] = true
	}
}

// A CRL lists exactly the leaves given, under the number given, and is
// signed by its authority.
func TestAuthorityCRL(t *testing.T) {
	t.Parallel()
	set := MustSet(t)
	data, err := set.Intermediate.CRL(7, set.Alice)
	require.NoError(t, err)
	block, _ := pem.Decode(data)
	require.NotNil(t, block)
	assert.Equal(t, "X509 CRL", block.Type)
	crl, err := x509.ParseRevocationList(block.Bytes)
	require.NoError(t, err)
	require.NoError(t, crl.CheckSignatureFrom(set.Intermediate.Cert))
	assert.Equal(t, int64(7), crl.Number.Int64())
	require.Len(t, crl.RevokedCertificateEntries, 1)
	assert.Equal(t, set.Alice.Cert.SerialNumber, crl.RevokedCertificateEntries[0].SerialNumber)

	var none *Authority
	_, err = none.CRL(1)
	assert.Error(t, err)
}
