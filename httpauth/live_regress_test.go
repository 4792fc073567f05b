package httpauth_test

// Regressions found in review of the live-connection watcher: each test
// failed before its fix.

import (
	"context"
	"crypto/x509"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gatedRoots blocks the next Roots call once armed, until released.
type gatedRoots struct {
	mu      sync.Mutex
	pool    *x509.CertPool
	gate    chan struct{}
	entered chan struct{}
	calls   atomic.Int64
}

func (g *gatedRoots) Roots() *x509.CertPool {
	g.calls.Add(1)
	g.mu.Lock()
	gate, entered := g.gate, g.entered
	g.gate = nil
	g.mu.Unlock()
	if gate != nil {
		close(entered)
		<-gate
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pool
}

func (g *gatedRoots) arm() (entered, gate chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, g.entered = make(chan struct{}), make(chan struct{})
	return g.entered, g.gate
}

func (g *gatedRoots) set(p *x509.CertPool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pool = p
}

// A watcher told to stop while it consults the roots, and the change it
// then finds, do not lose the connection held meanwhile under the old
// roots: it is re-checked.
func TestHoldWatcherStoppedMidRound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		g := &gatedRoots{pool: set.Root.Pool()}
		a := mustNew(t, httpauth.Config{RootsProvider: g, RecheckInterval: -1})

		rx := tlsRequest(set.Alice)
		idx, err := a.Authenticate(rx)
		require.NoError(t, err)
		_, releaseX := a.Hold(context.Background(), rx, idx, nil) // W1 runs

		rc := tlsRequest(set.Bob)
		idc, err := a.Authenticate(rc) // admitted under the old roots
		require.NoError(t, err)

		entered, gate := g.arm()
		<-entered // W1 is inside changed(), consulting the roots

		releaseX()                                                   // W1 told to stop
		ctxC, releaseC := a.Hold(context.Background(), rc, idc, nil) // W2 started, waits for W1
		defer releaseC()
		g.set(set.OtherRoot.Pool()) // the change W1 is about to see
		close(gate)

		time.Sleep(time.Hour)
		assert.ErrorIs(t, context.Cause(ctxC), httpauth.ErrUnknownAuthority, "C, admitted under rotated-out roots, is still live an hour later")
	})
}

// A parent context that ended before NotAfter makes the end "canceled",
// even when the holder winds down past NotAfter.
func TestHoldEndCodeAfterParentCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		now := time.Now()
		leaf, err := set.Intermediate.Leaf(testpki.WithCN("alice"), testpki.WithValidity(now.Add(-time.Hour), now.Add(time.Minute)))
		require.NoError(t, err)
		var rec recorder
		a := mustNew(t, httpauth.Config{Roots: set.Root.Pool(), Observers: []httpauth.Observer{rec.observer()}})
		r := tlsRequest(leaf)
		id, err := a.Authenticate(r)
		require.NoError(t, err)
		parent, cancel := context.WithCancel(context.Background())
		ctx, release := a.Hold(parent, r, id, nil)
		cancel()
		<-ctx.Done()
		time.Sleep(2 * time.Minute) // winding down past NotAfter
		release()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		require.Len(t, rec.ended, 1)
		assert.Equal(t, httpauth.EndCanceled, rec.ended[0].Code, "cause %v; ctx cause %v", rec.ended[0].Cause, context.Cause(ctx))
	})
}

// freshRoots returns a new, equal pool on every call.
type freshRoots struct{ root *x509.Certificate }

func (f freshRoots) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(f.root)
	return p
}

// A roots provider that builds an equal pool on every call changes
// nothing: no round, no authorizer re-run.
func TestHoldEqualFreshPoolIsNoChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		var authz atomic.Int64
		a := mustNew(t, httpauth.Config{
			RootsProvider:     freshRoots{set.Root.Cert},
			RecheckAuthorizer: true,
			Authorize: func(context.Context, *httpauth.Identity) error {
				authz.Add(1)
				return nil
			},
		})
		h := hold(t, a, set.Alice)
		authz.Store(0)
		time.Sleep(time.Minute)
		assert.Zero(t, authz.Load(), "authorizer re-runs without a change of trust")
		assert.NoError(t, h.ctx.Err())
	})
}

type slowChecker struct {
	onCall func()
	delay  time.Duration
}

func (c slowChecker) CheckRevocation(ctx context.Context, _ []*x509.Certificate) httpauth.RevocationAnswer {
	if c.onCall != nil {
		c.onCall()
	}
	select {
	case <-time.After(c.delay):
	case <-ctx.Done():
	}
	return httpauth.RevocationAnswer{Status: httpauth.RevocationGood}
}

// However long Authenticate takes after reading the roots (revocation
// checks, then the authorizer), a connection admitted under roots rotated
// out meanwhile is re-checked once held.
func TestHoldSlowAdmissionAcrossRotation(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		both := x509.NewCertPool()
		both.AddCert(set.Root.Cert)
		both.AddCert(set.OtherRoot.Cert)
		roots := &swappableRoots{pool: both}
		var armed atomic.Bool
		a := mustNew(t, httpauth.Config{
			RootsProvider:   roots,
			RecheckInterval: -1,
			Revocation: []httpauth.RevocationChecker{slowChecker{delay: 3 * time.Second, onCall: func() {
				if armed.CompareAndSwap(true, false) {
					roots.Set(set.OtherRoot.Pool()) // just after Authenticate read the roots
				}
			}}},
			Authorize: func(ctx context.Context, _ *httpauth.Identity) error {
				time.Sleep(4 * time.Second) // within the 5 s AuthorizeTimeout
				return nil
			},
		})
		hold(t, a, set.Stranger) // a watcher runs (stranger: OtherRoot, stays)

		armed.Store(true)
		r := tlsRequest(set.Alice)
		id, err := a.Authenticate(r) // roots read, then rotated, then 7 s of checks
		require.NoError(t, err)

		ctx, release := a.Hold(context.Background(), r, id, nil)
		defer release()
		time.Sleep(time.Hour)
		assert.ErrorIs(t, context.Cause(ctx), httpauth.ErrUnknownAuthority, "alice's root was rotated out before she was admitted; she is still live")
	})
}

// release waits for a re-check of its connection that is running, which
// may use the connection's request.
func TestHoldReleaseWaitsForRecheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		both := x509.NewCertPool()
		both.AddCert(set.Root.Cert)
		both.AddCert(set.OtherRoot.Cert)
		roots := &swappableRoots{pool: both}
		var inRecheck atomic.Bool
		entered := make(chan struct{})
		var calls atomic.Int32
		a := mustNew(t, httpauth.Config{RootsProvider: roots, RecheckAuthorizer: true, Authorize: func(ctx context.Context, _ *httpauth.Identity) error {
			if calls.Add(1) == 1 {
				return nil // admission
			}
			inRecheck.Store(true)
			close(entered)
			time.Sleep(3 * time.Second)
			inRecheck.Store(false)
			return nil
		}})
		h := hold(t, a, set.Alice)
		roots.Set(set.Root.Pool()) // a change: a round
		<-entered
		h.release()
		assert.False(t, inRecheck.Load(), "release returned while the authorizer still re-checked the released connection")
		time.Sleep(5 * time.Second)
	})
}

// An end function that panics is logged; the connection still ends with
// its cause, and the process goes on.
func TestHoldEndFunctionPanics(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		now := time.Now()
		leaf, err := set.Intermediate.Leaf(testpki.WithCN("alice"), testpki.WithValidity(now.Add(-time.Hour), now.Add(2*time.Second)))
		require.NoError(t, err)
		logs := &logRecorder{}
		a := mustNew(t, httpauth.Config{Roots: set.Root.Pool(), Logger: slog.New(logs)})
		r := tlsRequest(leaf)
		id, err := a.Authenticate(r)
		require.NoError(t, err)
		ctx, release := a.Hold(context.Background(), r, id, func(error) { panic("disconnect on a nil conn") })
		defer release()
		<-ctx.Done()
		assert.ErrorIs(t, context.Cause(ctx), httpauth.ErrExpired)
		assert.True(t, logs.has("end function panicked"))
	})
}

// A checker that panics during a re-check fails its connection closed,
// as it would fail a request, instead of ending the process.
func TestHoldCheckerPanicsOnRecheck(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		var panics atomic.Bool
		check := notifyingChecker{&switchChecker{}}
		a := mustNew(t, httpauth.Config{Roots: set.Root.Pool(), Revocation: []httpauth.RevocationChecker{panicky{check, &panics}}})
		h := hold(t, a, set.Alice)
		panics.Store(true)
		check.revoke() // fires Changed: a round, whose check panics
		assert.Less(t, h.endedAfter(time.Hour), time.Second)
		var e *httpauth.Error
		require.ErrorAs(t, context.Cause(h.ctx), &e)
		assert.Equal(t, 500, e.ResponseStatus())
		assert.Contains(t, e.Error(), "panicked")
	})
}

// panicky panics in CheckRevocation once armed, and passes Changed on.
type panicky struct {
	notifyingChecker
	armed *atomic.Bool
}

func (p panicky) CheckRevocation(ctx context.Context, chain []*x509.Certificate) httpauth.RevocationAnswer {
	if p.armed.Load() {
		panic("checker bug")
	}
	return p.notifyingChecker.CheckRevocation(ctx, chain)
}

// RecheckAuthorizer runs the authorizer with the values of the request's
// context, as at admission.
func TestRecheckAuthorizerKeepsContextValues(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		type tenantKey struct{}
		var seen []any
		var mu sync.Mutex
		a := mustNew(t, httpauth.Config{Roots: set.Root.Pool(), RecheckAuthorizer: true, RecheckInterval: time.Minute,
			Authorize: func(ctx context.Context, _ *httpauth.Identity) error {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, ctx.Value(tenantKey{}))
				return nil
			}})
		r := tlsRequest(set.Alice)
		r = r.WithContext(context.WithValue(r.Context(), tenantKey{}, "acme"))
		id, err := a.Authenticate(r)
		require.NoError(t, err)
		ctx, release := a.Hold(context.Background(), r, id, nil)
		defer release()
		time.Sleep(time.Minute + time.Second)
		require.NoError(t, ctx.Err())
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []any{"acme", "acme"}, seen)
	})
}
