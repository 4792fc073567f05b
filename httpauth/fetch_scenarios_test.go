package httpauth_test

import (
	"bytes"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
)

// Scenarios the OCSP and CRL distribution point checkers share: each
// named test of either checker runs one with its netChecker.

// netChecker is one network checker as the shared scenarios drive it.
type netChecker struct {
	// new builds the checker over f, as f.newOCSP or f.newCRLDP does.
	new func(tb testing.TB, f *revFixture, c netConfig) httpauth.RevocationChecker
	// server is what answers its fetches.
	server func(f *revFixture) http.Handler
	hits   func(f *revFixture) int32
	behave func(f *revFixture, b behaviour)
	// revoke makes the answer about c say revoked.
	revoke func(f *revFixture, c *x509.Certificate)
	// unreachable mints a leaf whose URL for this checker is a closed port.
	unreachable func(tb testing.TB, f *revFixture) *testpki.Leaf
	// maxSize is the default cap on an answer; noAnswer is what a refusal
	// says when no fetch succeeded.
	maxSize  int
	noAnswer string
	// perURL is set when one answer speaks for every certificate that
	// names its URL (a CRL) rather than for one certificate (an OCSP
	// response).
	perURL bool
}

// netConfig holds the settings both checkers' configs share; a nil client
// is the fixture's.
type netConfig struct {
	leafOnly        bool
	timeout, maxAge time.Duration
	client          *http.Client
}

var ocspChecker = netChecker{
	new: func(tb testing.TB, f *revFixture, c netConfig) httpauth.RevocationChecker {
		return f.newOCSP(tb, httpauth.OCSPConfig{LeafOnly: c.leafOnly, Timeout: c.timeout, MaxAge: c.maxAge, Client: c.client})
	},
	server: func(f *revFixture) http.Handler { return f.ocsp },
	hits:   func(f *revFixture) int32 { return f.ocsp.hits.Load() },
	behave: func(f *revFixture, b behaviour) { f.ocsp.set(func(o *ocspResponder) { o.behave = b }) },
	revoke: func(f *revFixture, c *x509.Certificate) { f.ocsp.revoke(c) },
	unreachable: func(tb testing.TB, f *revFixture) *testpki.Leaf {
		return f.mintLeaf(tb, testpki.WithOCSPServer(closedURL(tb, "/ocsp")))
	},
	maxSize:  64 << 10,
	noAnswer: "no valid OCSP response",
}

var crldpChecker = netChecker{
	new: func(tb testing.TB, f *revFixture, c netConfig) httpauth.RevocationChecker {
		return f.newCRLDP(tb, httpauth.CRLDistributionPointsConfig{LeafOnly: c.leafOnly, Timeout: c.timeout, MaxAge: c.maxAge, Client: c.client})
	},
	server: func(f *revFixture) http.Handler { return f.crl },
	hits:   func(f *revFixture) int32 { return f.crl.hits.Load() },
	behave: func(f *revFixture, b behaviour) { f.crl.set(func(c *crlServer) { c.behave = b }) },
	revoke: func(f *revFixture, c *x509.Certificate) {
		// Each CA's CRL lists what it issued.
		path := "/inter.crl"
		if bytes.Equal(c.RawIssuer, f.root.Cert.RawSubject) {
			path = "/root.crl"
		}
		f.crl.revoke(path, c)
	},
	unreachable: func(tb testing.TB, f *revFixture) *testpki.Leaf {
		return f.mintLeaf(tb, testpki.WithCRLDistributionPoints(closedURL(tb, "/inter.crl")))
	},
	maxSize:  10 << 20,
	noAnswer: "no valid CRL",
	perURL:   true,
}

// testGood: a chain nobody revoked passes, over a header and in a real
// handshake, with one fetch for the leaf and one for the intermediate.
func testGood(t *testing.T, k netChecker) *revFixture {
	leakCheck(t)
	f := newRevFixture(t)
	c := k.new(t, f, netConfig{})

	assert.NoError(t, f.authenticate(t, f.leaf, c))
	assert.Equal(t, int32(2), k.hits(f), "the leaf's answer and the intermediate's, each fetched once")

	code, refusal := f.overTLS(t, f.leaf, c)
	assert.Equal(t, http.StatusOK, code)
	assert.Nil(t, refusal)
	assert.Equal(t, int32(2), k.hits(f), "answered from the cache")
	return f
}

// testRevoked: a revoked leaf or intermediate is refused, FailOpen or not,
// and the refusal names its serial.
func testRevoked(t *testing.T, k netChecker) {
	leakCheck(t)
	tests := []struct {
		name    string
		revoked func(f *revFixture) *x509.Certificate
	}{
		{"revoked leaf", func(f *revFixture) *x509.Certificate { return f.leaf.Cert }},
		{"revoked intermediate", func(f *revFixture) *x509.Certificate { return f.inter.Cert }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newRevFixture(t)
			k.revoke(f, tt.revoked(f))
			c := k.new(t, f, netConfig{})

			err := f.authenticate(t, f.leaf, c)
			assertRefused(t, err, httpauth.ErrRevoked)
			assert.ErrorContains(t, err, tt.revoked(f).SerialNumber.Text(16))
			assertRefused(t, f.authenticate(t, f.leaf, httpauth.FailOpen(c)), httpauth.ErrRevoked)

			code, refusal := f.overTLS(t, f.leaf, c)
			assert.Equal(t, http.StatusUnauthorized, code)
			assert.ErrorIs(t, refusal, httpauth.ErrRevoked)
		})
	}
}

// testLeafOnly: LeafOnly asks about the leaf alone, so a revoked
// intermediate goes unnoticed; without it, it is refused.
func testLeafOnly(t *testing.T, k netChecker) {
	leakCheck(t)
	f := newRevFixture(t)
	k.revoke(f, f.inter.Cert)

	assert.NoError(t, f.authenticate(t, f.leaf, k.new(t, f, netConfig{leafOnly: true})), "the intermediate is not asked about")
	assert.Equal(t, int32(1), k.hits(f))

	assertRefused(t, f.authenticate(t, f.leaf, k.new(t, f, netConfig{})), httpauth.ErrRevoked)
}

// testUnreachable: a server that cannot be reached leaves the chain
// unknown, refused unless FailOpen.
func testUnreachable(t *testing.T, k netChecker) {
	leakCheck(t)
	f := newRevFixture(t)
	down := k.unreachable(t, f)
	c := k.new(t, f, netConfig{leafOnly: true})

	err := f.authenticate(t, down, c)
	assertRefused(t, err, httpauth.ErrRevocationUnknown)
	assert.ErrorContains(t, err, k.noAnswer)
	assert.NoError(t, f.authenticate(t, down, httpauth.FailOpen(c)), "FailOpen lets an unknown chain pass")

	code, refusal := f.overTLS(t, down, c)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.ErrorIs(t, refusal, httpauth.ErrRevocationUnknown)
}

// testCachedUntilNextUpdate: one fetch serves repeated requests, and a
// cached answer stands until its nextUpdate, an hour after its
// thisUpdate, even when the server has learnt of a revocation since.
func testCachedUntilNextUpdate(t *testing.T, k netChecker) (*revFixture, httpauth.RevocationChecker) {
	leakCheck(t)
	f := newRevFixture(t)
	c := k.new(t, f, netConfig{leafOnly: true, maxAge: 24 * time.Hour})

	for range 3 {
		assert.NoError(t, f.authenticate(t, f.leaf, c))
	}
	assert.Equal(t, int32(1), k.hits(f), "one fetch for three requests")

	k.revoke(f, f.leaf.Cert)
	f.clock.Advance(30 * time.Minute)
	assert.NoError(t, f.authenticate(t, f.leaf, c), "the cached answer stands until its nextUpdate")
	assert.Equal(t, int32(1), k.hits(f))

	f.clock.Advance(31 * time.Minute)
	assertRefused(t, f.authenticate(t, f.leaf, c), httpauth.ErrRevoked)
	assert.Equal(t, int32(2), k.hits(f), "fetched again once nextUpdate passed")
	return f, c
}

// testHugeAnswer: an answer past the size cap, streamed or announced, is
// no answer.
func testHugeAnswer(t *testing.T, k netChecker) {
	leakCheck(t)
	tests := []struct {
		name   string
		behave behaviour
	}{
		{"streamed past the cap", huge(k.maxSize + 1)},
		{"announced past the cap", announcedHuge(1 << 30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newRevFixture(t)
			k.behave(f, tt.behave)
			c := k.new(t, f, netConfig{leafOnly: true})
			ans := c.CheckRevocation(t.Context(), f.chain(f.leaf))
			assert.Equal(t, httpauth.RevocationUnknown, ans.Status)
			assert.Contains(t, ans.Detail, "exceeds the cap")
			assertRefused(t, f.authenticate(t, f.leaf, c), httpauth.ErrRevocationUnknown)
		})
	}
}

// testSlowServer: a server that never answers costs a request the
// checker's Timeout, then leaves the chain unknown, refused unless
// FailOpen.
func testSlowServer(t *testing.T, k netChecker) {
	leakCheck(t)
	f := newRevFixture(t)
	k.behave(f, slow)
	c := k.new(t, f, netConfig{leafOnly: true, timeout: 50 * time.Millisecond})

	ans := c.CheckRevocation(t.Context(), f.chain(f.leaf))
	assert.Equal(t, httpauth.RevocationUnknown, ans.Status)
	assert.Contains(t, ans.Detail, "deadline exceeded")
	assertRefused(t, f.authenticate(t, f.leaf, c), httpauth.ErrRevocationUnknown)
	assert.NoError(t, f.authenticate(t, f.leaf, httpauth.FailOpen(c)))
}

// roundTripFunc serves requests in memory, so that a test can run inside
// a synctest bubble, where loopback sockets do not count as blocked.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// gatedClient serves h after gate closes.
func gatedClient(h http.Handler, gate <-chan struct{}) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		<-gate
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	})}
}

// testOneFetchInFlight: sixteen requests that need the same answer at
// once share one fetch. For a checker whose answer is per URL they are
// sixteen leaves naming one URL, otherwise sixteen requests for one leaf.
func testOneFetchInFlight(t *testing.T, k netChecker) {
	f := newRevFixture(t)
	leaves := make([]*testpki.Leaf, 16)
	for i := range leaves {
		leaves[i] = f.leaf
		if k.perURL {
			leaves[i] = f.mintLeaf(t)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		c := k.new(t, f, netConfig{leafOnly: true, client: gatedClient(k.server(f), gate)})

		answers := make([]httpauth.RevocationAnswer, len(leaves))
		var wg sync.WaitGroup
		for i, leaf := range leaves {
			wg.Go(func() { answers[i] = c.CheckRevocation(t.Context(), f.chain(leaf)) })
		}
		synctest.Wait() // every request waits, on the one fetch or on its gate
		close(gate)
		wg.Wait()
		httpauth.WaitFetches(c)

		assert.Equal(t, int32(1), k.hits(f))
		for _, a := range answers {
			assert.Equal(t, httpauth.RevocationGood, a.Status, a.Detail)
		}
	})
}
