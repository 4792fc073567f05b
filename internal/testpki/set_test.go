package testpki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewSet(t *testing.T) {
	t.Parallel()
	s, err := NewSet()
	require.NoError(t, err)
	now := time.Now()

	tests := []struct {
		name   string
		leaf   *Leaf
		cn     string
		issuer *Authority // nil for self-signed
		check  func(t *testing.T, err error)
	}{
		{"alice", s.Alice, "alice", s.Intermediate, nil},
		{"bob", s.Bob, "bob", s.Intermediate, nil},
		{"forged admin", s.Forged, "admin", nil, unknownAuthority},
		{"expired", s.Expired, "expired", s.Intermediate, invalidBecause(x509.Expired)},
		{"not yet valid", s.NotYetValid, "future", s.Intermediate, invalidBecause(x509.Expired)},
		{"server-only", s.ServerOnly, "server-only", s.Intermediate, invalidBecause(x509.IncompatibleUsage)},
		{"stranger", s.Stranger, "alice", s.OtherRoot, unknownAuthority},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.NotNil(t, tt.leaf)
			c := tt.leaf.Cert
			assert.Equal(t, tt.cn, c.Subject.CommonName)
			assert.False(t, c.IsCA)
			assert.IsType(t, &ecdsa.PublicKey{}, c.PublicKey)
			if tt.issuer == nil {
				assert.Empty(t, tt.leaf.Chain)
			} else {
				assert.Equal(t, tt.issuer.Cert, tt.leaf.Chain[0])
				assert.NoError(t, c.CheckSignatureFrom(tt.issuer.Cert))
			}

			err := verifyClient(tt.leaf, s.Root, now)
			if tt.check == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			tt.check(t, err)
		})
	}
}

func TestNewSetIdentities(t *testing.T) {
	t.Parallel()
	s := MustSet(t)

	for _, tt := range []struct {
		name string
		leaf *Leaf
		user string
	}{
		{"alice", s.Alice, "alice"},
		{"bob", s.Bob, "bob"},
		{"stranger claims alice", s.Stranger, "alice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.leaf.Cert
			assert.Equal(t, []string{tt.user + "@example.com"}, c.EmailAddresses)
			assert.Equal(t, []string{"spiffe://example.org/user/" + tt.user}, uriStrings(c))
			assert.Equal(t, []string{tt.user + ".example.com"}, c.DNSNames)
			assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, c.ExtKeyUsage)
		})
	}

	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, s.Forged.Cert.ExtKeyUsage)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, s.ServerOnly.Cert.ExtKeyUsage)
	assert.True(t, s.Expired.Cert.NotAfter.Before(time.Now()))
	assert.True(t, s.NotYetValid.Cert.NotBefore.After(time.Now()))
	assert.Equal(t, []*x509.Certificate{s.Root.Cert}, s.Intermediate.Chain)
	assert.Equal(t, []*x509.Certificate{s.Intermediate.Cert, s.Root.Cert}, s.Alice.Chain)
	assert.NotEqual(t, s.Root.Cert.Raw, s.OtherRoot.Cert.Raw)
	assert.NotEqual(t, s.Root.Cert.Subject.CommonName, s.OtherRoot.Cert.Subject.CommonName)
}

func TestNewSetServer(t *testing.T) {
	t.Parallel()
	s := MustSet(t)

	assert.Equal(t, []*x509.Certificate{s.Root.Cert}, s.Server.Chain)
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		_, err := s.Server.Cert.Verify(x509.VerifyOptions{DNSName: host, Roots: s.Root.Pool()})
		assert.NoError(t, err, host)
	}
}

func TestMustSetFresh(t *testing.T) {
	t.Parallel()
	a, b := MustSet(t), MustSet(t)
	assert.NotEqual(t, a.Root.Cert.Raw, b.Root.Cert.Raw, "nothing cached between calls")
}

func BenchmarkNewSet(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewSet(); err != nil {
			b.Fatal(err)
		}
	}
}
