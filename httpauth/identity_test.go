package httpauth_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}

// withCNs is a subject holding one CN attribute per value, in order, and
// an O of Acme.
func withCNs(values ...string) testpki.Option {
	name := pkix.Name{Organization: []string{"Acme"}}
	for _, v := range values {
		name.ExtraNames = append(name.ExtraNames, pkix.AttributeTypeAndValue{Type: oidCN, Value: v})
	}
	return testpki.WithSubject(name)
}

func TestIdentityCommonNameAmbiguous(t *testing.T) {
	pki := testpki.MustSet(t)
	mint := func(opts ...testpki.Option) *x509.Certificate {
		l, err := pki.Intermediate.Leaf(opts...)
		require.NoError(t, err)
		return l.Cert
	}
	tests := []struct {
		name   string
		id     *httpauth.Identity
		wantCN string
		wantOK bool
	}{
		{"one CN", &httpauth.Identity{Certificate: mint(withCNs("alice"))}, "alice", true},
		{"two CNs", &httpauth.Identity{Certificate: mint(withCNs("eve", "alice"))}, "", false},
		{"two equal CNs", &httpauth.Identity{Certificate: mint(withCNs("alice", "alice"))}, "", false},
		{"no CN", &httpauth.Identity{Certificate: mint(withCNs())}, "", false},
		{"one empty CN", &httpauth.Identity{Certificate: mint(withCNs(""))}, "", false},
		{"unparsed certificate with CommonName", &httpauth.Identity{Certificate: &x509.Certificate{Subject: pkix.Name{CommonName: "alice"}}}, "alice", true},
		{"nil certificate", &httpauth.Identity{}, "", false},
		{"nil identity", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cn, ok := tt.id.CommonName()
			assert.Equal(t, tt.wantCN, cn)
			assert.Equal(t, tt.wantOK, ok)
		})
	}

	// The case it guards against: crypto/x509 reads the last of several.
	assert.Equal(t, "alice", mint(withCNs("eve", "alice")).Subject.CommonName)
}

func TestIdentityNotAfterIsTheEarliestOfTheChain(t *testing.T) {
	root, err := testpki.NewRoot()
	require.NoError(t, err)
	now := time.Now()
	inter, err := root.Intermediate(testpki.WithValidity(now.Add(-time.Hour), now.Add(time.Hour)))
	require.NoError(t, err)
	leaf, err := inter.Leaf(testpki.WithValidity(now.Add(-time.Hour), now.Add(48*time.Hour)))
	require.NoError(t, err)
	id, err := mustNew(t, httpauth.Config{Roots: root.Pool()}).Authenticate(tlsRequest(leaf))
	require.NoError(t, err)
	assert.Equal(t, inter.Cert.NotAfter, id.NotAfter, "the intermediate expires first")
	assert.Nil(t, id.Chain, "the chain is not kept unless asked for")
}
