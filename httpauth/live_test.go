package httpauth_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
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

// switchChecker answers good until revoked is set. With notify, it is a
// Notifier that fires when revoke is called; without, only a periodic
// re-check can see the change.
type switchChecker struct {
	revoked atomic.Bool
	notify  bool
	mu      sync.Mutex
	changed chan struct{}
}

func (c *switchChecker) CheckRevocation(context.Context, []*x509.Certificate) httpauth.RevocationAnswer {
	if c.revoked.Load() {
		return httpauth.RevocationAnswer{Status: httpauth.RevocationRevoked, Detail: "revoked by the test"}
	}
	return httpauth.RevocationAnswer{Status: httpauth.RevocationGood}
}

func (c *switchChecker) revoke() {
	c.revoked.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

type notifyingChecker struct{ *switchChecker }

func (c notifyingChecker) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return c.changed
}

// held is one connection held in a test: when and why it ended.
type held struct {
	ctx     context.Context
	release func()
	ends    atomic.Int32
	cause   error
}

func hold(t *testing.T, a *httpauth.Authenticator, leaf *testpki.Leaf) *held {
	t.Helper()
	r := tlsRequest(leaf)
	id, err := a.Authenticate(r)
	require.NoError(t, err)
	h := &held{}
	h.ctx, h.release = a.Hold(context.Background(), r, id, func(cause error) {
		h.ends.Add(1)
		h.cause = cause
	})
	t.Cleanup(h.release)
	return h
}

// endedAfter waits for h's context at most max by the bubble's clock and
// returns how long that took; max when it did not end.
func (h *held) endedAfter(max time.Duration) time.Duration {
	start := time.Now()
	select {
	case <-h.ctx.Done():
	case <-time.After(max):
	}
	return time.Since(start)
}

// Each way trust can change reaches a held connection: a roots provider
// returning another pool, a Notifier among the checkers, the periodic
// re-check for a checker that cannot notify, and the authorizer when
// RecheckAuthorizer asks for it. Times are the bubble's, so exact.
func TestHoldEndsWhenTrustChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		config  func(set *testpki.Set, roots *swappableRoots, check *switchChecker, allow *atomic.Bool) httpauth.Config
		change  func(set *testpki.Set, roots *swappableRoots, check *switchChecker, allow *atomic.Bool)
		want    error         // nil: the connection stays
		within  time.Duration // of the change, by the bubble's clock
		wantEnd int32
	}{
		{
			name: "roots provider swaps its pool",
			config: func(set *testpki.Set, roots *swappableRoots, _ *switchChecker, _ *atomic.Bool) httpauth.Config {
				return httpauth.Config{RootsProvider: roots}
			},
			change: func(set *testpki.Set, roots *swappableRoots, _ *switchChecker, _ *atomic.Bool) {
				roots.Set(set.OtherRoot.Pool())
			},
			want: httpauth.ErrUnknownAuthority, within: 250 * time.Millisecond,
		},
		{
			name: "roots provider returns an equal pool: nothing ends",
			config: func(set *testpki.Set, roots *swappableRoots, _ *switchChecker, _ *atomic.Bool) httpauth.Config {
				return httpauth.Config{RootsProvider: roots}
			},
			change: func(set *testpki.Set, roots *swappableRoots, _ *switchChecker, _ *atomic.Bool) {
				roots.Set(set.Root.Pool())
			},
		},
		{
			name: "notifier among the checkers",
			config: func(set *testpki.Set, _ *swappableRoots, check *switchChecker, _ *atomic.Bool) httpauth.Config {
				return httpauth.Config{Roots: set.Root.Pool(), Revocation: []httpauth.RevocationChecker{notifyingChecker{check}}}
			},
			change: func(_ *testpki.Set, _ *swappableRoots, check *switchChecker, _ *atomic.Bool) { check.revoke() },
			want:   httpauth.ErrRevoked, within: 250 * time.Millisecond,
		},
		{
			name: "notifier inside FailOpen",
			config: func(set *testpki.Set, _ *swappableRoots, check *switchChecker, _ *atomic.Bool) httpauth.Config {
				return httpauth.Config{Roots: set.Root.Pool(), Revocation: []httpauth.RevocationChecker{httpauth.FailOpen(notifyingChecker{check})}}
			},
			change: func(_ *testpki.Set, _ *swappableRoots, check *switchChecker, _ *atomic.Bool) { check.revoke() },
			want:   httpauth.ErrRevoked, within: 250 * time.Millisecond,
		},
		{
			name: "silent checker: the periodic re-check",
			config: func(set *testpki.Set, _ *swappableRoots, check *switchChecker, _ *atomic.Bool) httpauth.Config {
				return httpauth.Config{Roots: set.Root.Pool(), Revocation: []httpauth.RevocationChecker{check}, RecheckInterval: time.Minute}
			},
			change: func(_ *testpki.Set, _ *swappableRoots, check *switchChecker, _ *atomic.Bool) { check.revoke() },
			want:   httpauth.ErrRevoked, within: time.Minute + 250*time.Millisecond,
		},
		{
			name: "silent checker, periodic re-check off: nothing ends",
			config: func(set *testpki.Set, _ *swappableRoots, check *switchChecker, _ *atomic.Bool) httpauth.Config {
				return httpauth.Config{Roots: set.Root.Pool(), Revocation: []httpauth.RevocationChecker{check}, RecheckInterval: -1}
			},
			change: func(_ *testpki.Set, _ *swappableRoots, check *switchChecker, _ *atomic.Bool) { check.revoke() },
		},
		{
			name: "authorizer re-run with RecheckAuthorizer",
			config: func(set *testpki.Set, _ *swappableRoots, _ *switchChecker, allow *atomic.Bool) httpauth.Config {
				return httpauth.Config{Roots: set.Root.Pool(), Authorize: allowWhile(allow), RecheckAuthorizer: true, RecheckInterval: time.Minute}
			},
			change: func(_ *testpki.Set, _ *swappableRoots, _ *switchChecker, allow *atomic.Bool) { allow.Store(false) },
			want:   httpauth.ErrDenied, within: time.Minute + 250*time.Millisecond,
		},
		{
			name: "authorizer not re-run by default",
			config: func(set *testpki.Set, _ *swappableRoots, _ *switchChecker, allow *atomic.Bool) httpauth.Config {
				return httpauth.Config{Roots: set.Root.Pool(), Authorize: allowWhile(allow), RecheckInterval: time.Minute}
			},
			change: func(_ *testpki.Set, _ *swappableRoots, _ *switchChecker, allow *atomic.Bool) { allow.Store(false) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				set := testpki.MustSet(t)
				// Without Changed: the watcher sees the change by the pool.
				roots := &swappableRoots{pool: set.Root.Pool()}
				check := &switchChecker{}
				var allow atomic.Bool
				allow.Store(true)
				a := mustNew(t, tt.config(set, roots, check, &allow))
				h := hold(t, a, set.Alice)

				time.Sleep(10 * time.Second) // nothing changed: nothing ends
				require.NoError(t, h.ctx.Err())
				tt.change(set, roots, check, &allow)

				if tt.want == nil {
					assert.Equal(t, time.Hour, h.endedAfter(time.Hour))
					assert.Zero(t, h.ends.Load())
					return
				}
				took := h.endedAfter(time.Hour)
				assert.LessOrEqual(t, took, tt.within)
				assert.Equal(t, int32(1), h.ends.Load(), "end is called once")
				assert.ErrorIs(t, h.cause, tt.want)
				assert.Same(t, h.cause, context.Cause(h.ctx), "end and ctx see one cause")
				var e *httpauth.Error
				require.ErrorAs(t, h.cause, &e)
			})
		})
	}
}

func allowWhile(allow *atomic.Bool) httpauth.Authorizer {
	return func(context.Context, *httpauth.Identity) error {
		if allow.Load() {
			return nil
		}
		return errors.New("no longer on the list")
	}
}

// Only the connections that fail a re-check end; the others stay held and
// are still re-checked at the next change.
func TestHoldEndsOnlyFailingConnections(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		roots := &swappableRoots{}
		pools := x509.NewCertPool()
		pools.AddCert(set.Root.Cert)
		pools.AddCert(set.OtherRoot.Cert)
		roots.Set(pools)
		a := mustNew(t, httpauth.Config{RootsProvider: roots})
		alice, stranger := hold(t, a, set.Alice), hold(t, a, set.Stranger)

		roots.Set(set.OtherRoot.Pool())
		time.Sleep(time.Second)
		assert.ErrorIs(t, context.Cause(alice.ctx), httpauth.ErrUnknownAuthority)
		assert.NoError(t, stranger.ctx.Err())

		roots.Set(set.Root.Pool())
		time.Sleep(time.Second)
		assert.ErrorIs(t, context.Cause(stranger.ctx), httpauth.ErrUnknownAuthority)
	})
}

// The context ends at NotAfter by the Authenticator's clock; release
// before it ends it with context.Canceled and calls nothing; a parent that
// ends is no withdrawal either.
func TestHoldExpiryReleaseAndParent(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		now := time.Now()
		leaf, err := set.Intermediate.Leaf(testpki.WithCN("alice"), testpki.WithValidity(now.Add(-time.Hour), now.Add(time.Minute)))
		require.NoError(t, err)
		a := mustNew(t, httpauth.Config{Roots: set.Root.Pool()})

		expiring := hold(t, a, leaf)
		assert.Equal(t, time.Minute, expiring.endedAfter(time.Hour))
		assert.ErrorIs(t, context.Cause(expiring.ctx), httpauth.ErrExpired)
		assert.Equal(t, int32(1), expiring.ends.Load())

		released := hold(t, a, set.Alice)
		released.release()
		assert.ErrorIs(t, context.Cause(released.ctx), context.Canceled)
		released.release() // twice is harmless

		parent, cancel := context.WithCancel(context.Background())
		r := tlsRequest(set.Alice)
		id, err := a.Authenticate(r)
		require.NoError(t, err)
		var ends atomic.Int32
		ctx, release := a.Hold(parent, r, id, func(error) { ends.Add(1) })
		defer release()
		cancel()
		<-ctx.Done()
		time.Sleep(time.Hour)
		assert.Zero(t, released.ends.Load()+ends.Load(), "release and parent are no withdrawal")
	})
}

// Hold without an identity ends at once: nothing admitted the connection.
func TestHoldWithoutIdentity(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	a := mustNew(t, httpauth.Config{Roots: set.Root.Pool()})
	for _, id := range []*httpauth.Identity{nil, {}} {
		ctx, release := a.Hold(context.Background(), nil, id, nil)
		release()
		var e *httpauth.Error
		require.ErrorAs(t, context.Cause(ctx), &e)
		assert.Equal(t, http.StatusInternalServerError, e.ResponseStatus())
		assert.Contains(t, e.Error(), "Hold needs the identity")
	}
}

// A connection admitted under the old roots but held only after the
// round that followed their change (its authorizer took a while) is
// re-checked all the same, also when no other connection kept the
// watcher running.
func TestHoldLateArrivalAfterChange(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		roots := &swappableRoots{pool: set.Root.Pool()}
		a := mustNew(t, httpauth.Config{RootsProvider: roots, RecheckInterval: -1})
		first := hold(t, a, set.Alice) // the watcher runs

		r := tlsRequest(set.Bob)
		id, err := a.Authenticate(r) // under the old roots
		require.NoError(t, err)
		roots.Set(set.OtherRoot.Pool())
		time.Sleep(time.Second) // the round withdraws first only
		require.ErrorIs(t, context.Cause(first.ctx), httpauth.ErrUnknownAuthority)

		ctx, release := a.Hold(context.Background(), r, id, nil)
		defer release()
		time.Sleep(time.Second)
		assert.ErrorIs(t, context.Cause(ctx), httpauth.ErrUnknownAuthority)
	})
}

// A change made while no connection is held is still a change for the
// first one held after it, if that one was admitted before it.
func TestHoldChangeBeforeFirstConnection(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		roots := &swappableRoots{pool: set.Root.Pool()}
		a := mustNew(t, httpauth.Config{RootsProvider: roots, RecheckInterval: -1})
		r := tlsRequest(set.Alice)
		id, err := a.Authenticate(r)
		require.NoError(t, err)
		roots.Set(set.OtherRoot.Pool())

		ctx, release := a.Hold(context.Background(), r, id, nil)
		defer release()
		time.Sleep(time.Second)
		assert.ErrorIs(t, context.Cause(ctx), httpauth.ErrUnknownAuthority)
	})
}
