package httpauth_test

import (
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPEM01_FirstBlockIsTheLeaf(t *testing.T) {
	pki := testpki.MustSet(t)
	a, authz := headerAuth(t, pki, nginxSrc(), func(c *httpauth.Config) { c.Authorize = httpauth.AllowCN("alice", "admin") })
	verify := [2]string{"X-SSL-Client-Verify", "SUCCESS"}
	forgedThenAlice := append(append([]byte{}, pki.Forged.PEM()...), pki.Alice.ChainPEM()...)
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(forgedThenAlice)}, verify))
	assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
	assert.Zero(t, authz.calls.Load(), "the authorizer would have allowed the forged CN=admin")
	id, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Alice.ChainPEM())}, verify))
	require.NoError(t, err)
	assert.Equal(t, "alice", id.Certificate.Subject.CommonName)
	assert.Equal(t, int32(1), authz.calls.Load())
}
