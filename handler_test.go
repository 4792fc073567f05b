package certgate_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeConn stands for an upgraded connection.
type fakeConn struct {
	closed  chan struct{}
	expires atomic.Int32
}

func newFakeConn() *fakeConn { return &fakeConn{closed: make(chan struct{})} }

// expire is a Handler.Disconnect that closes the connection like the
// adapters.
func expire(c *fakeConn, _ error) {
	c.expires.Add(1)
	close(c.closed)
}

// serveRecord is what a Serve function saw.
type serveRecord struct {
	id    *httpauth.Identity
	ended time.Time
	cause error
}

// shortLived mints alice valid for another ttl, by the bubble's clock.
func shortLived(t *testing.T, set *testpki.Set, ttl time.Duration) *testpki.Leaf {
	t.Helper()
	now := time.Now()
	return mint(t, set, testpki.WithCN("alice"), testpki.WithValidity(now.Add(-time.Hour), now.Add(ttl)))
}

// The connection context ends exactly at NotAfter, measured by the
// Authenticator's clock, with ErrCertificateExpired as its cause, and
// Disconnect closes the connection; for TLS and header certificates alike.
func TestLIFE01_HandlerContextEndsAtNotAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		request func(leaf *testpki.Leaf) *http.Request
		header  bool
		skew    time.Duration // how far the Authenticator's clock runs ahead
	}{
		{name: "tls certificate", request: tlsRequest},
		{name: "header certificate", header: true, request: func(leaf *testpki.Leaf) *http.Request {
			r := httptest.NewRequest(http.MethodGet, "http://backend.test/ws", nil)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header = wstest.NginxHeader(leaf)
			return r
		}},
		{name: "authenticator clock ahead", skew: 2 * time.Second, request: tlsRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				set := testpki.MustSet(t)
				leaf := shortLived(t, set, 3*time.Second)
				now := func() time.Time { return time.Now().Add(tt.skew) }
				a := mustNew(t, httpauth.Config{Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("alice"), Now: now})
				if tt.header {
					a = headerAuth(t, set, now)
				}
				conn := newFakeConn()
				var rec serveRecord
				h := &certgate.Handler[*fakeConn]{
					Auth: a,
					Upgrade: func(http.ResponseWriter, *http.Request) (*fakeConn, error) {
						return conn, nil
					},
					Serve: func(ctx context.Context, c *fakeConn, id *httpauth.Identity) {
						<-ctx.Done()
						rec = serveRecord{id, time.Now(), context.Cause(ctx)}
						<-c.closed // like a read loop that ends when Disconnect closes
					},
					Disconnect: expire,
				}

				h.ServeHTTP(httptest.NewRecorder(), tt.request(leaf))

				require.NotNil(t, rec.id)
				assert.WithinDuration(t, leaf.Cert.NotAfter.Add(-tt.skew), rec.ended, 0, "ends exactly at NotAfter")
				assert.ErrorIs(t, rec.cause, certgate.ErrCertificateExpired)
				assert.Equal(t, int32(1), conn.expires.Load())
			})
		})
	}
}

// A Serve that returns before NotAfter leaves no watcher behind and Disconnect
// is never called; synctest fails the test if a goroutine outlives it.
func TestHandlerServeReturningFirstLeavesNoWatcher(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		leaf := shortLived(t, set, time.Hour)
		conn := newFakeConn()
		h := &certgate.Handler[*fakeConn]{
			Auth:       wstest.TLSAuth(t, set),
			Upgrade:    func(http.ResponseWriter, *http.Request) (*fakeConn, error) { return conn, nil },
			Serve:      func(context.Context, *fakeConn, *httpauth.Identity) { time.Sleep(time.Minute) },
			Disconnect: expire,
		}
		r := tlsRequest(leaf)

		h.ServeHTTP(httptest.NewRecorder(), r)
		time.Sleep(2 * time.Hour) // past NotAfter: nothing may fire now
		assert.Zero(t, conn.expires.Load())
	})
}

// The request's own context ending (client gone, server shutting down)
// ends Serve's context with that cause, and is no expiry: Disconnect is not
// called, even when Serve is still winding down past NotAfter.
func TestHandlerRequestCancelledIsNoExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ttl      time.Duration // the leaf's validity left at the start
		windDown time.Duration // Serve's work after its ctx ended
	}{
		{"Serve returns at once", time.Hour, 0},
		{"Serve winds down past NotAfter", 3 * time.Second, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				set := testpki.MustSet(t)
				conn := newFakeConn()
				var cause error
				h := &certgate.Handler[*fakeConn]{
					Auth:    wstest.TLSAuth(t, set),
					Upgrade: func(http.ResponseWriter, *http.Request) (*fakeConn, error) { return conn, nil },
					Serve: func(ctx context.Context, _ *fakeConn, _ *httpauth.Identity) {
						<-ctx.Done()
						cause = context.Cause(ctx)
						time.Sleep(tt.windDown)
					},
					Disconnect: expire,
				}
				ctx, cancel := context.WithCancel(t.Context())
				r := tlsRequest(shortLived(t, set, tt.ttl)).WithContext(ctx)
				time.AfterFunc(time.Second, cancel)

				h.ServeHTTP(httptest.NewRecorder(), r)
				assert.ErrorIs(t, cause, context.Canceled)
				assert.Zero(t, conn.expires.Load())
			})
		})
	}
}

// ServeHTTP does not return while Disconnect still runs, even when Serve
// ends as soon as Disconnect starts closing, as a read loop would.
func TestHandlerWaitsForDisconnect(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		leaf := shortLived(t, set, time.Second)
		var finished atomic.Bool
		h := &certgate.Handler[*fakeConn]{
			Auth:    wstest.TLSAuth(t, set),
			Upgrade: func(http.ResponseWriter, *http.Request) (*fakeConn, error) { return newFakeConn(), nil },
			Serve:   func(_ context.Context, c *fakeConn, _ *httpauth.Identity) { <-c.closed },
			Disconnect: func(c *fakeConn, _ error) {
				close(c.closed)
				time.Sleep(time.Second) // a close handshake taking its time
				finished.Store(true)
			},
		}
		r := tlsRequest(leaf)

		h.ServeHTTP(httptest.NewRecorder(), r)
		assert.True(t, finished.Load())
	})
}

// Disconnect runs while Serve's context is still live, so a close frame can
// go out before reads and writes bound to ctx fail; ctx ends right after.
func TestHandlerDisconnectRunsBeforeServeContextEnds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		leaf := shortLived(t, set, time.Second)
		served := make(chan context.Context, 1)
		var errDuringDisconnect error
		var ended time.Time
		h := &certgate.Handler[*fakeConn]{
			Auth:    wstest.TLSAuth(t, set),
			Upgrade: func(http.ResponseWriter, *http.Request) (*fakeConn, error) { return newFakeConn(), nil },
			Serve: func(ctx context.Context, _ *fakeConn, _ *httpauth.Identity) {
				served <- ctx
				<-ctx.Done()
				ended = time.Now()
			},
			Disconnect: func(*fakeConn, error) {
				errDuringDisconnect = (<-served).Err()
				time.Sleep(100 * time.Millisecond)
			},
		}
		r := tlsRequest(leaf)

		h.ServeHTTP(httptest.NewRecorder(), r)
		assert.NoError(t, errDuringDisconnect)
		assert.WithinDuration(t, leaf.Cert.NotAfter.Add(100*time.Millisecond), ended, 0)
	})
}

// A Disconnect stuck on a peer that does not read cannot hold Serve's
// context open: it ends half a second after NotAfter, and ServeHTTP still
// waits for Disconnect before it returns.
func TestHandlerSlowDisconnectCannotHoldContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		leaf := shortLived(t, set, time.Second)
		var ended time.Time
		var finished atomic.Bool
		h := &certgate.Handler[*fakeConn]{
			Auth:    wstest.TLSAuth(t, set),
			Upgrade: func(http.ResponseWriter, *http.Request) (*fakeConn, error) { return newFakeConn(), nil },
			Serve: func(ctx context.Context, _ *fakeConn, _ *httpauth.Identity) {
				<-ctx.Done()
				ended = time.Now()
			},
			Disconnect: func(*fakeConn, error) {
				time.Sleep(10 * time.Second) // a write blocked on a full socket
				finished.Store(true)
			},
		}

		h.ServeHTTP(httptest.NewRecorder(), tlsRequest(leaf))
		assert.WithinDuration(t, leaf.Cert.NotAfter.Add(500*time.Millisecond), ended, 0)
		assert.True(t, finished.Load(), "ServeHTTP returned while Disconnect ran")
	})
}

// Without Disconnect the context still ends at NotAfter.
func TestHandlerWithoutDisconnectStillEndsContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		set := testpki.MustSet(t)
		leaf := shortLived(t, set, time.Second)
		var cause error
		h := &certgate.Handler[*fakeConn]{
			Auth:    wstest.TLSAuth(t, set),
			Upgrade: func(http.ResponseWriter, *http.Request) (*fakeConn, error) { return newFakeConn(), nil },
			Serve: func(ctx context.Context, _ *fakeConn, _ *httpauth.Identity) {
				<-ctx.Done()
				cause = context.Cause(ctx)
			},
		}
		r := tlsRequest(leaf)

		h.ServeHTTP(httptest.NewRecorder(), r)
		assert.ErrorIs(t, cause, certgate.ErrCertificateExpired)
	})
}

// What reaches Upgrade and Serve, and what does not.
func TestHandlerUpgradesAndServesOnlyAdmittedRequests(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	errUpgrade := errors.New("upgrade failed")

	tests := []struct {
		name     string
		auth     *httpauth.Authenticator
		leaf     *testpki.Leaf
		upgrade  error
		status   int
		upgraded bool
		served   bool
	}{
		{"accepted", wstest.TLSAuth(t, set), set.Alice, nil, http.StatusOK, true, true},
		{"denied: no upgrade", wstest.TLSAuth(t, set), set.Bob, nil, http.StatusForbidden, false, false},
		{"no certificate: no upgrade", wstest.TLSAuth(t, set), nil, nil, http.StatusUnauthorized, false, false},
		{"no authenticator: no upgrade", nil, set.Alice, nil, http.StatusInternalServerError, false, false},
		{"upgrade fails: its own answer, no serve", wstest.TLSAuth(t, set), set.Alice, errUpgrade, http.StatusUpgradeRequired, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var upgraded, served bool
			h := &certgate.Handler[*fakeConn]{
				Auth: tt.auth,
				Upgrade: func(w http.ResponseWriter, r *http.Request) (*fakeConn, error) {
					upgraded = true
					id, ok := httpauth.FromContext(r.Context())
					assert.True(t, ok, "the identity reaches the upgrader")
					assert.Equal(t, "alice", id.Certificate.Subject.CommonName)
					if tt.upgrade != nil {
						http.Error(w, "upgrade required", http.StatusUpgradeRequired)
						return nil, tt.upgrade
					}
					return newFakeConn(), nil
				},
				Serve: func(ctx context.Context, _ *fakeConn, id *httpauth.Identity) {
					served = true
					fromCtx, ok := httpauth.FromContext(ctx)
					assert.True(t, ok)
					assert.Same(t, id, fromCtx)
				},
			}
			r := tlsRequest(tt.leaf)
			w := httptest.NewRecorder()

			h.ServeHTTP(w, r)
			assert.Equal(t, tt.status, w.Code)
			assert.Equal(t, tt.upgraded, upgraded)
			assert.Equal(t, tt.served, served)
		})
	}
}

// A Handler missing Upgrade or Serve refuses before upgrading anything.
func TestHandlerIncompleteRefusesBeforeUpgrade(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	tests := []struct {
		name           string
		upgrade, serve bool
	}{
		{"no Upgrade", false, true},
		{"no Serve", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			upgraded := false
			h := &certgate.Handler[*fakeConn]{Auth: wstest.TLSAuth(t, set)}
			if tt.upgrade {
				h.Upgrade = func(http.ResponseWriter, *http.Request) (*fakeConn, error) {
					upgraded = true
					return newFakeConn(), nil
				}
			}
			if tt.serve {
				h.Serve = func(context.Context, *fakeConn, *httpauth.Identity) {}
			}
			r := tlsRequest(set.Alice)
			w := httptest.NewRecorder()

			h.ServeHTTP(w, r)
			assert.Equal(t, http.StatusInternalServerError, w.Code)
			assert.False(t, upgraded)
		})
	}
}
