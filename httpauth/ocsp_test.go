package httpauth_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ocsp"
)

// signer makes the responder sign with a's key, embedding a's certificate
// when embed is set.
func signer(cert *x509.Certificate, key crypto.Signer, embed bool) func(*testpki.Authority) (*x509.Certificate, crypto.Signer, bool) {
	return func(*testpki.Authority) (*x509.Certificate, crypto.Signer, bool) { return cert, key, embed }
}

func TestOCSPGood(t *testing.T) {
	f := testGood(t, ocspChecker)
	assert.Equal(t, f.ocsp.hits.Load(), f.ocsp.gets.Load(), "short requests go by GET")
}

func TestOCSPSignalsNewAnswers(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	o := f.newOCSP(t, httpauth.OCSPConfig{})
	changed := o.Changed()
	assert.False(t, closed(changed))
	assert.NoError(t, f.authenticate(t, f.leaf, o))
	assert.True(t, closed(changed), "a fetched answer is a change a live connection may care about")
	assert.False(t, closed(o.Changed()))
}

// A refresh that brings the same answer is no change: held connections
// are not re-checked for it. One that brings another answer is.
func TestOCSPSignalsOnlyChangedAnswers(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	o := f.newOCSP(t, httpauth.OCSPConfig{})
	require.NoError(t, f.authenticate(t, f.leaf, o))
	changed := o.Changed()
	hits := f.ocsp.hits.Load()

	f.clock.Advance(50 * time.Minute) // past the refresh point of a 1 h answer
	require.NoError(t, f.authenticate(t, f.leaf, o))
	httpauth.WaitFetches(o)
	require.Greater(t, f.ocsp.hits.Load(), hits, "refreshed")
	assert.False(t, closed(changed), "the refresh brought the same answer")

	f.ocsp.revoke(f.leaf.Cert)
	f.clock.Advance(50 * time.Minute)
	_ = f.authenticate(t, f.leaf, o) // starts the refresh
	httpauth.WaitFetches(o)
	assert.True(t, closed(changed), "the refresh brought a revocation")
}

func TestOCSPRevoked(t *testing.T) { testRevoked(t, ocspChecker) }

func TestOCSPLeafOnly(t *testing.T) { testLeafOnly(t, ocspChecker) }

func TestOCSPResponderDown(t *testing.T) { testUnreachable(t, ocspChecker) }

func TestOCSPNoUsableResponder(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	tests := []struct {
		name string
		leaf *testpki.Leaf
	}{
		{"no responder", f.mintLeaf(t, testpki.WithOCSPServer())},
		{"ldap responder", f.mintLeaf(t, testpki.WithOCSPServer("ldap://ocsp.example.com/"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := f.newOCSP(t, httpauth.OCSPConfig{LeafOnly: true})
			ans := o.CheckRevocation(t.Context(), f.chain(tt.leaf))
			assert.Equal(t, httpauth.RevocationUnknown, ans.Status)
			assert.Contains(t, ans.Detail, "names no http OCSP responder")

			override := f.newOCSP(t, httpauth.OCSPConfig{LeafOnly: true, Responder: f.ocsp.url()})
			assert.NoError(t, f.authenticate(t, tt.leaf, override), "the configured responder is asked instead")
		})
	}
}

// TestOCSPWrongIssuerResponseIgnored: a response, even one saying good,
// counts only when the verified issuer stands behind it. Each of these
// says good for a revoked leaf.
func TestOCSPWrongIssuerResponseIgnored(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	other, twin := f.impostors(t)
	otherDelegate, err := other.Leaf(testpki.WithCN("other responder"), testpki.WithEKU(x509.ExtKeyUsageOCSPSigning))
	require.NoError(t, err)
	noEKU, err := f.inter.Leaf(testpki.WithCN("bob")) // a client certificate of the same CA
	require.NoError(t, err)
	twinDelegate, err := twin.Leaf(testpki.WithCN("twin responder"), testpki.WithEKU(x509.ExtKeyUsageOCSPSigning))
	require.NoError(t, err)
	expired, err := f.inter.Leaf(testpki.WithCN("old responder"), testpki.WithEKU(x509.ExtKeyUsageOCSPSigning), testpki.Expired())
	require.NoError(t, err)
	good := ocsp.Good
	f.ocsp.revoke(f.leaf.Cert)

	tests := []struct {
		name   string
		sign   func(*testpki.Authority) (*x509.Certificate, crypto.Signer, bool)
		detail string
	}{
		{"signed by another CA", signer(other.Cert, other.Key, false), "not signed by the issuer"},
		{"signed by another CA, certificate embedded", signer(other.Cert, other.Key, true), "not issued by"},
		{"signed by a CA of the same name", signer(twin.Cert, twin.Key, false), "not signed by the issuer"},
		{"signed by a CA of the same name, certificate embedded", signer(twin.Cert, twin.Key, true), "not issued by"},
		{"delegate of a CA of the same name", signer(twinDelegate.Cert, twinDelegate.Key, true), "not signed by"},
		{"delegated responder of another issuer", signer(otherDelegate.Cert, otherDelegate.Key, true), "not issued by"},
		{"delegate without the OCSP-signing usage", signer(noEKU.Cert, noEKU.Key, true), "lacks the OCSP-signing usage"},
		{"expired delegated responder", signer(expired.Cert, expired.Key, true), "not valid now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.ocsp.set(func(o *ocspResponder) { o.sign, o.status = tt.sign, &good })
			o := f.newOCSP(t, httpauth.OCSPConfig{LeafOnly: true})
			ans := o.CheckRevocation(t.Context(), f.chain(f.leaf))
			assert.Equal(t, httpauth.RevocationUnknown, ans.Status, ans.Detail)
			assert.Contains(t, ans.Detail, tt.detail)
			assertRefused(t, f.authenticate(t, f.leaf, o), httpauth.ErrRevocationUnknown)
		})
	}
}

// TestParseResponseForCertSkipsResponderEKU pins why verifyOCSP checks
// the delegated responder itself: x/crypto/ocsp, given the issuer, accepts
// a response signed by any certificate that issuer signed, a client
// certificate included.
func TestParseResponseForCertSkipsResponderEKU(t *testing.T) {
	t.Parallel()
	root, err := testpki.NewRoot()
	require.NoError(t, err)
	leaf, err := root.Leaf()
	require.NoError(t, err)
	client, err := root.Leaf(testpki.WithCN("bob"))
	require.NoError(t, err)
	der, err := ocsp.CreateResponse(root.Cert, client.Cert, ocsp.Response{
		Status: ocsp.Good, SerialNumber: leaf.Cert.SerialNumber, ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour), Certificate: client.Cert,
	}, client.Key)
	require.NoError(t, err)
	resp, err := ocsp.ParseResponseForCert(der, leaf.Cert, root.Cert)
	require.NoError(t, err, "if x/crypto starts refusing this, the check in verifyOCSP stays as a second line")
	assert.Equal(t, ocsp.Good, resp.Status)
}

func TestOCSPDelegatedResponder(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	delegate, err := f.inter.Leaf(testpki.WithCN("responder"), testpki.WithEKU(x509.ExtKeyUsageOCSPSigning))
	require.NoError(t, err)
	f.ocsp.set(func(o *ocspResponder) { o.sign = signer(delegate.Cert, delegate.Key, true) })

	o := f.newOCSP(t, httpauth.OCSPConfig{LeafOnly: true})
	assert.NoError(t, f.authenticate(t, f.leaf, o))

	bob := f.mintLeaf(t, testpki.WithCN("bob"))
	f.ocsp.revoke(bob.Cert)
	assertRefused(t, f.authenticate(t, bob, o), httpauth.ErrRevoked)
}

// TestOCSPResponseCarryingIssuerCert: a responder signing with the CA key
// may put the CA's own certificate in the response (RFC 6960, section
// 4.2.1); ParseResponseForCert with an issuer would refuse it.
func TestOCSPResponseCarryingIssuerCert(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	f.ocsp.set(func(o *ocspResponder) {
		o.sign = func(issuer *testpki.Authority) (*x509.Certificate, crypto.Signer, bool) {
			return issuer.Cert, issuer.Key, true
		}
	})
	f.ocsp.revoke(f.leaf.Cert)
	o := f.newOCSP(t, httpauth.OCSPConfig{LeafOnly: true})
	assertRefused(t, f.authenticate(t, f.leaf, o), httpauth.ErrRevoked)
}

func TestOCSPCachedUntilNextUpdate(t *testing.T) { testCachedUntilNextUpdate(t, ocspChecker) }

func TestOCSPMaxAgeBoundsCaching(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	f.ocsp.set(func(o *ocspResponder) { o.validity = 7 * 24 * time.Hour })
	o := f.newOCSP(t, httpauth.OCSPConfig{LeafOnly: true, MaxAge: 10 * time.Minute})

	assert.NoError(t, f.authenticate(t, f.leaf, o))
	f.ocsp.revoke(f.leaf.Cert)
	f.clock.Advance(11 * time.Minute)
	// Due for a refresh: this request still gets the cached answer, and
	// starts the fetch in the background.
	assert.NoError(t, f.authenticate(t, f.leaf, o))
	httpauth.WaitFetches(o)
	assert.Equal(t, int32(2), f.ocsp.hits.Load())
	assertRefused(t, f.authenticate(t, f.leaf, o), httpauth.ErrRevoked)
	assert.Equal(t, int32(2), f.ocsp.hits.Load())
}

func TestOCSPBackgroundRefreshDoesNotBlock(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	o := f.newOCSP(t, httpauth.OCSPConfig{LeafOnly: true, Timeout: time.Minute})
	assert.NoError(t, f.authenticate(t, f.leaf, o))

	f.ocsp.set(func(o *ocspResponder) { o.behave = slow })
	f.clock.Advance(50 * time.Minute) // a quarter of the hour's validity left
	// Were the request to wait for the refresh, it would hang on the
	// silent responder for a minute and then come back unknown.
	assert.NoError(t, f.authenticate(t, f.leaf, o))
	f.unblock()
	httpauth.WaitFetches(o)
	assert.Equal(t, int32(2), f.ocsp.hits.Load(), "the refresh reached the responder")
}

func TestOCSPKeepsLastGoodWhileResponderFails(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	o := f.newOCSP(t, httpauth.OCSPConfig{LeafOnly: true})
	assert.NoError(t, f.authenticate(t, f.leaf, o))

	f.ocsp.set(func(o *ocspResponder) { o.behave = status(http.StatusServiceUnavailable) })
	f.clock.Advance(50 * time.Minute)
	assert.NoError(t, f.authenticate(t, f.leaf, o))
	httpauth.WaitFetches(o)
	assert.NoError(t, f.authenticate(t, f.leaf, o), "the response is valid until its nextUpdate")

	f.clock.Advance(11 * time.Minute)
	err := f.authenticate(t, f.leaf, o)
	assertRefused(t, err, httpauth.ErrRevocationUnknown)
	assert.ErrorContains(t, err, "expired")
	assert.ErrorContains(t, err, "HTTP status 503")
}

func TestOCSPFailureRetriedAfter(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	f.ocsp.set(func(o *ocspResponder) { o.behave = status(http.StatusInternalServerError) })
	o := f.newOCSP(t, httpauth.OCSPConfig{LeafOnly: true, RetryAfter: time.Minute})

	for range 3 {
		assertRefused(t, f.authenticate(t, f.leaf, o), httpauth.ErrRevocationUnknown)
	}
	assert.Equal(t, int32(1), f.ocsp.hits.Load(), "a failure is remembered")

	f.ocsp.set(func(o *ocspResponder) { o.behave = nil })
	f.clock.Advance(time.Minute)
	assert.NoError(t, f.authenticate(t, f.leaf, o))
	assert.Equal(t, int32(2), f.ocsp.hits.Load())
}

func TestOCSPOneFetchInFlight(t *testing.T) { testOneFetchInFlight(t, ocspChecker) }

func TestOCSPHugeResponse(t *testing.T) { testHugeAnswer(t, ocspChecker) }

func TestOCSPSlowResponder(t *testing.T) { testSlowServer(t, ocspChecker) }

// TestOCSPRequestContextEnds: a request stops waiting when its context
// ends; the fetch goes on, within its own timeout, for the next request.
func TestOCSPRequestContextEnds(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	f.ocsp.set(func(o *ocspResponder) { o.behave = slow })
	o := f.newOCSP(t, httpauth.OCSPConfig{LeafOnly: true, Timeout: time.Hour})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := f.authenticateCtx(t, ctx, f.leaf, o)
	assertRefused(t, err, httpauth.ErrRevocationUnknown)
	assert.ErrorContains(t, err, "gave up waiting")

	f.ocsp.set(func(o *ocspResponder) { o.behave = nil })
	f.unblock()
	httpauth.WaitFetches(o)
}

func TestOCSPBadAnswers(t *testing.T) {
	leakCheck(t)
	unknown := ocsp.Unknown
	tests := []struct {
		name   string
		set    func(o *ocspResponder)
		detail string
	}{
		{"try later", func(o *ocspResponder) { o.behave = body(ocsp.TryLaterErrorResponse) }, `answered "try later"`},
		{"unauthorized", func(o *ocspResponder) { o.behave = body(ocsp.UnauthorizedErrorResponse) }, `answered "unauthorized"`},
		{"internal error", func(o *ocspResponder) { o.behave = body(ocsp.InternalErrorErrorResponse) }, `answered "internal error"`},
		{"garbage", func(o *ocspResponder) { o.behave = body([]byte("<html>hello</html>")) }, "malformed response"},
		{"empty body", func(o *ocspResponder) { o.behave = body(nil) }, "malformed response"},
		{"HTTP error", func(o *ocspResponder) { o.behave = status(http.StatusNotFound) }, "HTTP status 404"},
		{"status unknown", func(o *ocspResponder) { o.status = &unknown }, "does not know serial"},
		{"nextUpdate passed", func(o *ocspResponder) { o.thisAge = 2 * time.Hour }, "stale"},
		{"thisUpdate in the future", func(o *ocspResponder) { o.thisAge = -time.Hour }, "in the future"},
		{"no nextUpdate, thisUpdate older than MaxAge", func(o *ocspResponder) { o.validity, o.thisAge = 0, 2*time.Hour }, "stale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newRevFixture(t)
			f.ocsp.set(tt.set)
			o := f.newOCSP(t, httpauth.OCSPConfig{LeafOnly: true})
			ans := o.CheckRevocation(t.Context(), f.chain(f.leaf))
			assert.Equal(t, httpauth.RevocationUnknown, ans.Status)
			assert.Contains(t, ans.Detail, tt.detail)
			assertRefused(t, f.authenticate(t, f.leaf, o), httpauth.ErrRevocationUnknown)
		})
	}
}

func TestOCSPResponseWithoutNextUpdate(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	f.ocsp.set(func(o *ocspResponder) { o.validity = 0 })
	o := f.newOCSP(t, httpauth.OCSPConfig{LeafOnly: true, MaxAge: 10 * time.Minute})
	assert.NoError(t, f.authenticate(t, f.leaf, o))
	f.ocsp.revoke(f.leaf.Cert)
	f.clock.Advance(10 * time.Minute) // thisUpdate was a minute ago: expired
	assertRefused(t, f.authenticate(t, f.leaf, o), httpauth.ErrRevoked)
}

// TestOCSPLongRequestPosted: a request whose GET form would pass 255
// bytes is POSTed (RFC 5019, section 5).
func TestOCSPLongRequestPosted(t *testing.T) {
	leakCheck(t)
	f := newRevFixture(t)
	f.ocsp.revoke(f.leaf.Cert)
	o := f.newOCSP(t, httpauth.OCSPConfig{LeafOnly: true, Responder: f.ocsp.url() + "/" + strings.Repeat("x", 200)})
	assertRefused(t, f.authenticate(t, f.leaf, o), httpauth.ErrRevoked)
	assert.Equal(t, int32(1), f.ocsp.hits.Load())
	assert.Zero(t, f.ocsp.gets.Load())
}
