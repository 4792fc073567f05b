package testpki

import (
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSignSelfSigned(t *testing.T) {
	t.Parallel()
	key := ECKey(t, elliptic.P384())
	assert.Equal(t, elliptic.P384(), key.Curve)
	tmpl := CATemplate(pkix.Name{CommonName: "hand-made CA"})
	before := time.Now()
	ca := Sign(t, tmpl, nil, key.Public(), key)

	assert.Nil(t, tmpl.SerialNumber, "the template is left as it was")
	assert.True(t, tmpl.NotBefore.IsZero(), "the template is left as it was")
	assert.Equal(t, "hand-made CA", ca.Subject.CommonName)
	assert.Equal(t, ca.RawSubject, ca.RawIssuer)
	assert.NoError(t, ca.CheckSignatureFrom(ca))
	assert.True(t, ca.IsCA)
	assert.Equal(t, x509.KeyUsageCertSign, ca.KeyUsage)
	assert.Equal(t, -1, ca.MaxPathLen, "no path length limit")
	assert.Equal(t, 1, ca.SerialNumber.Sign(), "a positive serial")
	assert.WithinDuration(t, before.Add(-backdate), ca.NotBefore, time.Minute)
	assert.WithinDuration(t, before.Add(24*time.Hour), ca.NotAfter, time.Minute)
}

func TestSignUnderParent(t *testing.T) {
	t.Parallel()
	root, err := NewRoot()
	require.NoError(t, err)
	key := ECKey(t, elliptic.P256())
	tmpl := ClientTemplate("alice")
	tmpl.SerialNumber = big.NewInt(7)
	tmpl.NotBefore, tmpl.NotAfter = root.Cert.NotBefore, root.Cert.NotBefore.Add(time.Minute)
	leaf := Sign(t, tmpl, root.Cert, key.Public(), root.Key)

	assert.Equal(t, "alice", leaf.Subject.CommonName)
	assert.Equal(t, root.Cert.RawSubject, leaf.RawIssuer, "the issuer is the parent's subject")
	assert.NoError(t, leaf.CheckSignatureFrom(root.Cert))
	assert.True(t, key.PublicKey.Equal(leaf.PublicKey))
	assert.False(t, leaf.IsCA)
	assert.Equal(t, x509.KeyUsageDigitalSignature, leaf.KeyUsage)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, leaf.ExtKeyUsage)
	assert.Equal(t, big.NewInt(7), leaf.SerialNumber, "a serial in the template is kept")
	assert.Equal(t, root.Cert.NotBefore, leaf.NotBefore, "a validity in the template is kept")
	assert.Equal(t, root.Cert.NotBefore.Add(time.Minute), leaf.NotAfter)
}
