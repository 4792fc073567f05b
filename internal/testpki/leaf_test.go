package testpki

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verifyClient verifies l for client authentication against root alone,
// with l's intermediates as untrusted intermediates.
func verifyClient(l *Leaf, root *Authority, at time.Time) error {
	inter := x509.NewCertPool()
	for _, c := range l.Intermediates() {
		inter.AddCert(c)
	}
	_, err := l.Cert.Verify(x509.VerifyOptions{
		Roots:         root.Pool(),
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		CurrentTime:   at,
	})
	return err
}

// invalidBecause returns a check that err is a CertificateInvalidError
// for reason.
func invalidBecause(reason x509.InvalidReason) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var invalid x509.CertificateInvalidError
		require.ErrorAs(t, err, &invalid)
		assert.Equal(t, reason, invalid.Reason, invalid.Error())
	}
}

func unknownAuthority(t *testing.T, err error) {
	t.Helper()
	var unknown x509.UnknownAuthorityError
	assert.ErrorAs(t, err, &unknown)
}

func TestLeafVerification(t *testing.T) {
	t.Parallel()
	now := WithNow(fixedNow)
	root, err := NewRoot(now)
	require.NoError(t, err)
	inter, err := root.Intermediate(now)
	require.NoError(t, err)
	expiredInter, err := root.Intermediate(now, Expired())
	require.NoError(t, err)
	serverInter, err := root.Intermediate(now, ServerOnly())
	require.NoError(t, err)
	other, err := NewRoot(now)
	require.NoError(t, err)

	mint := func(a *Authority, opts ...Option) *Leaf {
		t.Helper()
		l, err := a.Leaf(append([]Option{now}, opts...)...)
		require.NoError(t, err)
		return l
	}
	forged, err := SelfSigned(now, WithCN("admin"))
	require.NoError(t, err)
	valid := mint(inter)
	noIntermediates := *valid
	noIntermediates.Chain = []*x509.Certificate{root.Cert}

	tests := []struct {
		name  string
		leaf  *Leaf
		at    time.Time
		check func(t *testing.T, err error)
	}{
		{"valid leaf via intermediate", valid, fixedNow, nil},
		{"valid leaf from root", mint(root), fixedNow, nil},
		{"no extended key usage", mint(inter, WithEKU()), fixedNow, nil},
		{"valid until the last second", valid, valid.Cert.NotAfter, nil},
		{"expired leaf", mint(inter, Expired()), fixedNow, invalidBecause(x509.Expired)},
		{"valid leaf checked after expiry", valid, valid.Cert.NotAfter.Add(time.Second), invalidBecause(x509.Expired)},
		{"not yet valid leaf", mint(inter, NotYetValid()), fixedNow, invalidBecause(x509.Expired)},
		{"server-only key usage", mint(inter, ServerOnly()), fixedNow, invalidBecause(x509.IncompatibleUsage)},
		{"intermediate restricted to server auth", mint(serverInter), fixedNow, invalidBecause(x509.IncompatibleUsage)},
		{"valid leaf under expired intermediate", mint(expiredInter), fixedNow, invalidBecause(x509.Expired)},
		{"self-signed forgery", forged, fixedNow, unknownAuthority},
		{"unknown root", mint(other), fixedNow, unknownAuthority},
		{"missing intermediate", &noIntermediates, fixedNow, unknownAuthority},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := verifyClient(tt.leaf, root, tt.at)
			if tt.check == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			tt.check(t, err)
		})
	}
}

func TestLeafDefaults(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)
	inter, err := root.Intermediate()
	require.NoError(t, err)
	leaf, err := inter.Leaf(WithNow(fixedNow))
	require.NoError(t, err)
	c := leaf.Cert

	assert.Equal(t, "client", c.Subject.CommonName)
	assert.True(t, c.BasicConstraintsValid)
	assert.False(t, c.IsCA)
	assert.Equal(t, x509.KeyUsageDigitalSignature, c.KeyUsage)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, c.ExtKeyUsage)
	assert.Equal(t, fixedNow.Add(-time.Hour), c.NotBefore)
	assert.Equal(t, fixedNow.Add(24*time.Hour), c.NotAfter)
	assert.Len(t, c.SubjectKeyId, 20)
	assert.Equal(t, inter.Cert.SubjectKeyId, c.AuthorityKeyId)
	assert.NoError(t, c.CheckSignatureFrom(inter.Cert))
	assert.Equal(t, []*x509.Certificate{inter.Cert, root.Cert}, leaf.Chain)
	assert.Equal(t, []*x509.Certificate{inter.Cert}, leaf.Intermediates())
}

func TestSelfSigned(t *testing.T) {
	t.Parallel()
	leaf, err := SelfSigned(WithCN("admin"))
	require.NoError(t, err)
	c := leaf.Cert

	assert.Equal(t, "admin", c.Subject.CommonName)
	assert.Equal(t, c.RawSubject, c.RawIssuer)
	assert.NoError(t, c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature))
	assert.True(t, c.BasicConstraintsValid)
	assert.False(t, c.IsCA)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, c.ExtKeyUsage)
	assert.Equal(t, c.SubjectKeyId, c.AuthorityKeyId)
	assert.Empty(t, leaf.Chain)
	assert.Empty(t, leaf.Intermediates())
	assert.Equal(t, [][]byte{c.Raw}, leaf.TLSCertificate().Certificate)
}

func TestLeafTLSCertificate(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)
	inter, err := root.Intermediate()
	require.NoError(t, err)
	sub, err := inter.Intermediate()
	require.NoError(t, err)

	tests := []struct {
		name   string
		issuer *Authority
		want   func(l *Leaf) [][]byte
	}{
		{"issued by root", root, func(l *Leaf) [][]byte { return [][]byte{l.Cert.Raw} }},
		{"one intermediate", inter, func(l *Leaf) [][]byte { return [][]byte{l.Cert.Raw, inter.Cert.Raw} }},
		{"two intermediates", sub, func(l *Leaf) [][]byte {
			return [][]byte{l.Cert.Raw, sub.Cert.Raw, inter.Cert.Raw}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			leaf, err := tt.issuer.Leaf()
			require.NoError(t, err)
			tc := leaf.TLSCertificate()
			assert.Equal(t, tt.want(leaf), tc.Certificate, "leaf then intermediates, no root")
			assert.Equal(t, leaf.Key, tc.PrivateKey)
			assert.Same(t, leaf.Cert, tc.Leaf)
		})
	}
}

func TestLeafPEM(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)
	inter, err := root.Intermediate()
	require.NoError(t, err)
	leaf, err := inter.Leaf()
	require.NoError(t, err)

	assert.Equal(t, []*x509.Certificate{leaf.Cert}, decodeCerts(t, leaf.PEM()))
	assert.Equal(t, []*x509.Certificate{leaf.Cert, inter.Cert}, decodeCerts(t, leaf.ChainPEM()))
}

func TestLeafKeyPEM(t *testing.T) {
	t.Parallel()
	for _, kt := range []KeyType{ECDSA, RSA, Ed25519} {
		t.Run(kt.String(), func(t *testing.T) {
			t.Parallel()
			leaf, err := SelfSigned(WithKey(kt))
			require.NoError(t, err)
			keyPEM, err := leaf.KeyPEM()
			require.NoError(t, err)

			block, rest := pem.Decode(keyPEM)
			require.NotNil(t, block)
			assert.Empty(t, rest)
			assert.Equal(t, "PRIVATE KEY", block.Type)
			key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			require.NoError(t, err)
			// Equal, not reflect.DeepEqual: an RSA key's big.Int fields may
			// differ in internal representation, which made this flaky.
			want, ok := leaf.Key.(interface{ Equal(crypto.PrivateKey) bool })
			require.True(t, ok)
			assert.True(t, want.Equal(key), "the PEM holds the leaf's key")
		})
	}
}

func TestNilLeaf(t *testing.T) {
	t.Parallel()
	var l *Leaf
	assert.Nil(t, l.PEM())
	assert.Nil(t, l.ChainPEM())
	assert.Nil(t, l.Intermediates())
	assert.Empty(t, l.TLSCertificate().Certificate)
	_, err := l.KeyPEM()
	assert.EqualError(t, err, "testpki: leaf has no key")
	_, err = (&Leaf{}).KeyPEM()
	assert.EqualError(t, err, "testpki: leaf has no key")
}

func TestIntermediatesWithoutRoot(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)
	inter, err := root.Intermediate()
	require.NoError(t, err)

	// An authority assembled by hand without its root keeps every issuer.
	partial := &Authority{Cert: inter.Cert, Key: inter.Key}
	leaf, err := partial.Leaf()
	require.NoError(t, err)
	assert.Equal(t, []*x509.Certificate{inter.Cert}, leaf.Intermediates())

	// The result is a copy.
	full, err := inter.Leaf()
	require.NoError(t, err)
	full.Intermediates()[0] = nil
	assert.Same(t, inter.Cert, full.Chain[0])
}

// decodeCerts parses every CERTIFICATE block of data and fails on anything
// else.
func decodeCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for len(data) > 0 {
		block, rest := pem.Decode(data)
		require.NotNil(t, block, "trailing bytes %q", data)
		require.Equal(t, "CERTIFICATE", block.Type)
		c, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		out = append(out, c)
		data = rest
	}
	return out
}

func TestPEM(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)
	other, err := NewRoot()
	require.NoError(t, err)

	tests := []struct {
		name  string
		certs []*x509.Certificate
		want  []*x509.Certificate
	}{
		{"none", nil, nil},
		{"one", []*x509.Certificate{root.Cert}, []*x509.Certificate{root.Cert}},
		{"in order", []*x509.Certificate{other.Cert, root.Cert}, []*x509.Certificate{other.Cert, root.Cert}},
		{"nil skipped", []*x509.Certificate{nil, root.Cert, nil}, []*x509.Certificate{root.Cert}},
		{"only nil", []*x509.Certificate{nil}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := PEM(tt.certs...)
			assert.Equal(t, tt.want, decodeCerts(t, out))
			if tt.want == nil {
				assert.Nil(t, out)
			}
		})
	}
}
