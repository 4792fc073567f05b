package httpauth_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAllowIssuerSerial(t *testing.T) {
	root, err := testpki.NewRoot()
	require.NoError(t, err)
	devices, err := root.Intermediate(testpki.WithCN("devices"))
	require.NoError(t, err)
	partners, err := root.Intermediate(testpki.WithCN("partners"))
	require.NoError(t, err)
	// Same name as devices, another key: a look-alike CA.
	lookalike, err := root.Intermediate(testpki.WithCN("devices"))
	require.NoError(t, err)
	require.Equal(t, devices.Cert.RawSubject, lookalike.Cert.RawSubject)

	// devices cross-signed by an unrelated root: same subject and key,
	// another certificate.
	otherRoot, err := testpki.NewRoot(testpki.WithCN("other root"))
	require.NoError(t, err)
	crossDER, err := x509.CreateCertificate(rand.Reader, devices.Cert, otherRoot.Cert, devices.Cert.PublicKey, otherRoot.Key)
	require.NoError(t, err)
	crossSigned := mustParse(t, crossDER)
	require.NotEqual(t, devices.Cert.Raw, crossSigned.Raw)
	// devices' key under another name: not the leaves' issuer.
	renamedTmpl := *devices.Cert
	renamedTmpl.RawSubject, renamedTmpl.Subject = nil, pkix.Name{CommonName: "renamed"}
	renamedDER, err := x509.CreateCertificate(rand.Reader, &renamedTmpl, root.Cert, devices.Cert.PublicKey, root.Key)
	require.NoError(t, err)
	renamed := mustParse(t, renamedDER)
	require.Equal(t, devices.Cert.RawSubjectPublicKeyInfo, renamed.RawSubjectPublicKeyInfo)

	serial := testpki.WithSerial(big.NewInt(0x1001))
	mint := func(ca *testpki.Authority) *testpki.Leaf {
		l, err := ca.Leaf(serial)
		require.NoError(t, err)
		return l
	}
	fromDevices, fromPartners, fromLookalike := mint(devices), mint(partners), mint(lookalike)
	fromRoot := mint(root)

	tests := []struct {
		name  string
		authz httpauth.Authorizer
		leaf  *testpki.Leaf
		allow bool
	}{
		{"listed serial from the issuer", httpauth.AllowIssuerSerial(devices.Cert, "10:01"), fromDevices, true},
		{"same serial under another CA refused", httpauth.AllowIssuerSerial(devices.Cert, "10:01"), fromPartners, false},
		{"same serial under a CA with the same name refused", httpauth.AllowIssuerSerial(devices.Cert, "10:01"), fromLookalike, false},
		{"unlisted serial from the issuer", httpauth.AllowIssuerSerial(devices.Cert, "1002"), fromDevices, false},
		{"issuer key under another name refused", httpauth.AllowIssuerSerial(renamed, "1001"), fromDevices, false},
		{"cross-signed issuer certificate matches", httpauth.AllowIssuerSerial(crossSigned, "0x1001"), fromDevices, true},
		{"leaf issued by the root", httpauth.AllowIssuerSerial(root.Cert, "1001"), fromRoot, true},
		{"root is not the intermediate's leaves' issuer", httpauth.AllowIssuerSerial(root.Cert, "1001"), fromDevices, false},
		{"AllowSerial cannot tell the CAs apart", httpauth.AllowSerial("1001"), fromPartners, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := mustNew(t, httpauth.Config{Roots: root.Pool(), Authorize: tt.authz})
			id, err := a.Authenticate(tlsRequest(tt.leaf))
			require.NotNil(t, id, "the certificate verifies; only authorization may refuse")
			if tt.allow {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, httpauth.ErrDenied)
				assert.Equal(t, http.StatusForbidden, statusOf(t, err))
			}
		})
	}

	t.Run("identity without a verified chain", func(t *testing.T) {
		t.Parallel()
		err := httpauth.AllowIssuerSerial(devices.Cert, "1001")(t.Context(), identityOf(fromDevices))
		assert.EqualError(t, err, "issuer unknown: the identity carries no verified chain")
	})
	t.Run("leaf that is itself a root", func(t *testing.T) {
		t.Parallel()
		self, err := testpki.SelfSigned(serial)
		require.NoError(t, err)
		a := mustNew(t, httpauth.Config{Roots: (&testpki.Authority{Cert: self.Cert}).Pool(), Authorize: httpauth.AllowIssuerSerial(self.Cert, "1001")})
		_, err = a.Authenticate(tlsRequest(self))
		assert.ErrorIs(t, err, httpauth.ErrDenied)
		assert.ErrorContains(t, err, "itself a root")
	})
}
