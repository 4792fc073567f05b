package httpauth_test

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAllowSPIFFEIDNeedsExactlyOneURI(t *testing.T) {
	pki := testpki.MustSet(t)
	two, err := pki.Intermediate.Leaf(testpki.WithURI("spiffe://example.org/a", "spiffe://example.org/b"))
	require.NoError(t, err)
	notSpiffe, err := pki.Intermediate.Leaf(testpki.WithURI("https://example.org/a"))
	require.NoError(t, err)
	az := httpauth.AllowSPIFFEID("spiffe://example.org")
	assert.ErrorContains(t, az(t.Context(), identityOf(two)), "exactly one")
	assert.ErrorContains(t, az(t.Context(), identityOf(notSpiffe)), "not a SPIFFE ID")
}

func TestAllowEmailSubjectAttributeIgnoredUnderNameConstraints(t *testing.T) {
	root, err := testpki.NewRoot()
	require.NoError(t, err)
	plain, err := root.Intermediate(testpki.WithCN("plain"))
	require.NoError(t, err)
	constrained, err := root.Intermediate(testpki.WithCN("constrained"), testpki.WithPermittedEmails("example.com"))
	require.NoError(t, err)
	constrainedRoot, err := testpki.NewRoot(testpki.WithPermittedEmails("example.com"))
	require.NoError(t, err)
	underConstrainedRoot, err := constrainedRoot.Intermediate()
	require.NoError(t, err)
	subjectEmail := func(addr string) testpki.Option {
		return testpki.WithSubject(pkix.Name{CommonName: "device", ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: addr}}})
	}
	tests := []struct {
		name   string
		issuer *testpki.Authority
		root   *testpki.Authority
		opts   []testpki.Option
		allow  string
		want   bool
	}{
		{"unconstrained CA, subject attribute", plain, root, []testpki.Option{subjectEmail("ceo@other.com")}, "CEO@other.com", true},
		{"constrained CA, subject attribute outside the constraint", constrained, root, []testpki.Option{subjectEmail("ceo@other.com")}, "ceo@other.com", false},
		{"constrained CA, subject attribute inside the constraint", constrained, root, []testpki.Option{subjectEmail("ops@example.com")}, "ops@example.com", false},
		{"constrained CA, email SAN", constrained, root, []testpki.Option{subjectEmail("ceo@other.com"), testpki.WithEmail("ops@example.com")}, "ops@example.com", true},
		{"constrained root, subject attribute", underConstrainedRoot, constrainedRoot, []testpki.Option{subjectEmail("ceo@other.com")}, "ceo@other.com", false},
		{"unconstrained CA, other address", plain, root, []testpki.Option{subjectEmail("ceo@other.com")}, "cfo@other.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			leaf, err := tt.issuer.Leaf(tt.opts...)
			require.NoError(t, err)
			// IncludeChain stays false: the helper needs the verified chain
			// all the same.
			a := mustNew(t, httpauth.Config{Roots: tt.root.Pool(), Authorize: httpauth.AllowEmail(tt.allow)})
			id, err := a.Authenticate(tlsRequest(leaf))
			require.NotNil(t, id, "the certificate verifies; only authorization may refuse")
			assert.Empty(t, id.Chain)
			if tt.want {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, httpauth.ErrDenied)
			}
		})
	}

	t.Run("unverified header identity", func(t *testing.T) {
		t.Parallel()
		leaf, err := plain.Leaf(subjectEmail("ceo@other.com"))
		require.NoError(t, err)
		a := mustNew(t, httpauth.Config{
			Source:                         httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: loopback},
			InsecureSkipHeaderVerification: true,
			Authorize:                      httpauth.AllowEmail("ceo@other.com"),
		})
		id, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(leaf.ChainPEM())}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
		require.NotNil(t, id)
		require.False(t, id.Verified)
		assert.ErrorIs(t, err, httpauth.ErrDenied)
	})
}
