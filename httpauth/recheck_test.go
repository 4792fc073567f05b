package httpauth_test

import (
	"context"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closed reports whether ch is closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestRecheckSeesRevocationAndSignalsTheChange(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	clock := &fakeClock{t: time.Now()}
	path := filepath.Join(t.TempDir(), "deny.txt")
	require.NoError(t, os.WriteFile(path, []byte("sha256:"+httpauth.Fingerprint(pki.Bob.Cert)+"\n"), 0o600))
	deny, err := httpauth.NewDenyListFile(path, 0, httpauth.WithClock(clock.Now))
	require.NoError(t, err)
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{deny}})
	id, err := a.Authenticate(tlsRequest(pki.Alice))
	require.NoError(t, err)
	require.NoError(t, a.Recheck(context.Background(), id))

	changed := deny.Changed()
	require.NoError(t, os.WriteFile(path, []byte("sha256:"+httpauth.Fingerprint(pki.Alice.Cert)+"\n"), 0o600))
	clock.Advance(httpauth.DefaultDenyListInterval)
	assert.False(t, closed(changed), "a change is found when the list is consulted")
	err = a.Recheck(context.Background(), id)
	assert.ErrorIs(t, err, httpauth.ErrRevoked)
	assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
	assert.True(t, closed(changed), "the change was signalled")
	assert.False(t, closed(deny.Changed()), "a new channel waits for the next change")
}

func TestRecheckAfterRootRotation(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	clock := &fakeClock{t: time.Now()}
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, pki.Root.PEM(), 0o600))
	roots, err := httpauth.NewFileRoots(path, 0, httpauth.WithClock(clock.Now))
	require.NoError(t, err)
	a := mustNew(t, httpauth.Config{RootsProvider: roots})
	id, err := a.Authenticate(tlsRequest(pki.Alice))
	require.NoError(t, err)

	changed := roots.Changed()
	require.NoError(t, os.WriteFile(path, pki.OtherRoot.PEM(), 0o600))
	clock.Advance(httpauth.DefaultRootsInterval)
	assert.ErrorIs(t, a.Recheck(context.Background(), id), httpauth.ErrUnknownAuthority, "its CA is no longer trusted")
	assert.True(t, closed(changed))
}

func TestRecheckAtExpiry(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	clock := &fakeClock{t: time.Now()}
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Now: clock.Now})
	id, err := a.Authenticate(tlsRequest(pki.Alice))
	require.NoError(t, err)
	clock.Set(pki.Alice.Cert.NotAfter.Add(time.Second))
	assert.ErrorIs(t, a.Recheck(context.Background(), id), httpauth.ErrExpired)
	assert.Error(t, a.Recheck(context.Background(), nil))
}

// A root renewed with the same name and key keeps its clients' chains
// trusted, after the whole chain is verified again under it; one renewed
// with a constraint the chain breaks does not. A pinned client must
// itself stay in the pool: a same-key copy of it is not enough.
func TestRecheckUnderRenewedRoot(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	renew := func(mod func(*x509.Certificate)) *x509.CertPool {
		tmpl := testpki.CATemplate(pki.Root.Cert.Subject)
		tmpl.SubjectKeyId = pki.Root.Cert.SubjectKeyId
		if mod != nil {
			mod(tmpl)
		}
		pool := x509.NewCertPool()
		pool.AddCert(testpki.Sign(t, tmpl, nil, pki.Root.Key.Public(), pki.Root.Key))
		return pool
	}
	roots := &swappableRoots{pool: pki.Root.Pool()}
	a := mustNew(t, httpauth.Config{RootsProvider: roots})
	id, err := a.Authenticate(tlsRequest(pki.Alice))
	require.NoError(t, err)

	roots.Set(renew(nil))
	assert.NoError(t, a.Recheck(t.Context(), id), "same name and key")

	roots.Set(renew(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }))
	assert.ErrorIs(t, a.Recheck(t.Context(), id), httpauth.ErrNotVerified, "the renewed root allows server auth only")

	pinnedLeaf, err := testpki.SelfSigned(testpki.WithCN("pinned"))
	require.NoError(t, err)
	pinnedPool := x509.NewCertPool()
	pinnedPool.AddCert(pinnedLeaf.Cert)
	roots.Set(pinnedPool)
	pinned, err := a.Authenticate(tlsRequest(pinnedLeaf))
	require.NoError(t, err)
	assert.NoError(t, a.Recheck(t.Context(), pinned), "still in the pool")
	copyTmpl := *pinnedLeaf.Cert
	copyTmpl.SerialNumber = nil
	samekey := x509.NewCertPool()
	samekey.AddCert(testpki.Sign(t, &copyTmpl, nil, pinnedLeaf.Key.Public(), pinnedLeaf.Key))
	roots.Set(samekey)
	assert.ErrorIs(t, a.Recheck(t.Context(), pinned), httpauth.ErrUnknownAuthority)
}

// An identity taken unverified (InsecureSkipHeaderVerification) has no
// chain to re-check: only its validity, by the Authenticator's clock.
func TestRecheckUnverifiedIdentity(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	clock := &fakeClock{t: time.Now()}
	a := mustNew(t, httpauth.Config{
		Source:                         httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: loopback},
		InsecureSkipHeaderVerification: true,
		Now:                            clock.Now,
	})
	id, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Stranger.ChainPEM())}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
	require.NoError(t, err)
	require.False(t, id.Verified)
	assert.NoError(t, a.Recheck(t.Context(), id))
	clock.Set(pki.Stranger.Cert.NotAfter.Add(time.Second))
	assert.ErrorIs(t, a.Recheck(t.Context(), id), httpauth.ErrExpired)
}
