package wstest

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Adapter is what [RunAdapterSuite] needs of an adapter package, with C its
// connection type, the same on the server and the client in every
// WebSocket package the adapters cover, and O its options type, of which
// the suite passes the zero value.
type Adapter[C, O any] struct {
	// Handler is the package's Handler.
	Handler func(a *httpauth.Authenticator, opts O, serve func(context.Context, C, *httpauth.Identity)) http.Handler
	// Upgrade is the package's gated upgrade that returns the identity.
	Upgrade func(w http.ResponseWriter, r *http.Request, a *httpauth.Authenticator, opts O) (C, *httpauth.Identity, error)
	// Dial opens a WebSocket to url with the package's own client, within
	// ctx, presenting what cfg presents.
	Dial func(ctx context.Context, url string, cfg *tls.Config, h http.Header) (C, *http.Response, error)
	// Read returns the next message; it gives up when ctx ends.
	Read func(ctx context.Context, conn C) ([]byte, error)
	// Write sends msg as a text message.
	Write func(ctx context.Context, conn C, msg []byte) error
	// Close ends conn, with the closing handshake where the package does
	// one.
	Close func(conn C) error
	// Disconnect is the package's Disconnect.
	Disconnect func(conn C, cause error)
	// CloseStatus is the close code and reason a failed Read reports.
	CloseStatus func(err error) (code int, reason string)
	// Refused, if set, is what the client's error for a refused handshake
	// wraps.
	Refused error
	// NotUpgrade is the status the package answers a request that passed
	// the gate but asks for no upgrade.
	NotUpgrade int
}

// RunAdapterSuite runs the tests every adapter must pass, through the real
// WebSocket package: an accepted echo, refusals read off the wire,
// requests that cannot upgrade, the end of a connection at certificate
// expiry (LIFE-01), and the gated upgrade that returns the identity.
func RunAdapterSuite[C, O any](t *testing.T, ad Adapter[C, O]) {
	t.Run("Accepts", ad.accepts)
	t.Run("Refuses", ad.refuses)
	t.Run("CannotUpgrade", ad.cannotUpgrade)
	t.Run("LIFE01Expiry", ad.expiry)
	t.Run("Upgrade", ad.upgrade)
}

// DialAs opens a WebSocket to srv's /ws as leaf with the package's client,
// for 10 seconds at most, and closes it when the test ends.
func (ad Adapter[C, O]) DialAs(tb testing.TB, srv *httptest.Server, set *testpki.Set, leaf *testpki.Leaf, h http.Header) (C, *http.Response, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Second)
	defer cancel()
	conn, resp, err := ad.Dial(ctx, URL(srv), ClientTLS(set, leaf), h)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err == nil {
		tb.Cleanup(func() { _ = ad.Close(conn) })
	}
	return conn, resp, err
}

// handler is the package's Handler with its default options.
func (ad Adapter[C, O]) handler(a *httpauth.Authenticator, serve func(context.Context, C, *httpauth.Identity)) http.Handler {
	var opts O
	return ad.Handler(a, opts, serve)
}

// served is what a Handler's serve function was given.
type served struct {
	id, inCtx *httpauth.Identity
}

// echo serves messages back until the connection ends. It reports what
// it was given on ids and, once its context has ended, the cause on
// causes; either may be nil.
func (ad Adapter[C, O]) echo(ids chan<- served, causes chan<- error) func(context.Context, C, *httpauth.Identity) {
	return func(ctx context.Context, conn C, id *httpauth.Identity) {
		defer ad.Close(conn)
		if ids != nil {
			inCtx, _ := httpauth.FromContext(ctx)
			ids <- served{id, inCtx}
		}
		for {
			msg, err := ad.Read(ctx, conn)
			if err != nil {
				break
			}
			if err := ad.Write(ctx, conn, msg); err != nil {
				break
			}
		}
		if causes != nil {
			// At expiry ctx ends right after Disconnect has closed conn.
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
			}
			causes <- context.Cause(ctx)
		}
	}
}

func (ad Adapter[C, O]) accepts(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	ids := make(chan served, 1)
	srv := NewTLSServer(t, set, ad.handler(TLSAuth(t, set), ad.echo(ids, nil)), false)

	conn, resp, err := ad.DialAs(t, srv, set, set.Alice, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, ad.Write(ctx, conn, []byte("ping")))
	msg, err := ad.Read(ctx, conn)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(msg))
	assert.NoError(t, ad.Close(conn))

	got := Receive(t, ids)
	require.NotNil(t, got.id)
	assert.Equal(t, "alice", got.id.Certificate.Subject.CommonName)
	assert.Same(t, got.id, got.inCtx, "serve's context carries the identity")
}

// refuses reads each refusal off the wire: exact bytes, then EOF.
func (ad Adapter[C, O]) refuses(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	srv := NewTLSServer(t, set, ad.handler(TLSAuth(t, set), ad.echo(nil, nil)), false)

	tests := []struct {
		name   string
		leaf   *testpki.Leaf
		status int
		body   string
	}{
		{"unknown CA", set.Stranger, 401, "client certificate signed by unknown authority"},
		{"denied CN", set.Bob, 403, "access denied"},
		{"no certificate", nil, 401, "client certificate required"},
		{"forged", set.Forged, 401, "client certificate signed by unknown authority"},
		{"expired", set.Expired, 401, "client certificate expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, Refusal(tt.status, tt.body), RawRefusal(t, srv, set, tt.leaf))

			// The package's own client sees the same status, and no
			// connection.
			conn, resp, err := ad.DialAs(t, srv, set, tt.leaf, nil)
			assert.Error(t, err)
			if ad.Refused != nil {
				assert.ErrorIs(t, err, ad.Refused)
			}
			assert.Zero(t, conn)
			require.NotNil(t, resp)
			assert.Equal(t, tt.status, resp.StatusCode)
		})
	}
}

// cannotUpgrade: a request that passes the gate but is no upgrade gets the
// package's error status, never 101; over HTTP/2 (PROTO-01) refusals keep
// their statuses.
func (ad Adapter[C, O]) cannotUpgrade(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	h := ad.handler(TLSAuth(t, set), ad.echo(nil, nil))

	tests := []struct {
		name   string
		http2  bool
		leaf   *testpki.Leaf
		status int
	}{
		{"HTTP/1.1 GET", false, set.Alice, ad.NotUpgrade},
		{"HTTP/2 accepted", true, set.Alice, ad.NotUpgrade},
		{"HTTP/2 denied", true, set.Bob, http.StatusForbidden},
		{"HTTP/2 no certificate", true, nil, http.StatusUnauthorized},
		{"HTTP/2 unknown CA", true, set.Stranger, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := NewTLSServer(t, set, h, tt.http2)
			resp, err := HTTPClient(t, set, tt.leaf).Get(srv.URL + "/ws")
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			assert.Equal(t, tt.status, resp.StatusCode)
			if tt.http2 {
				assert.Equal(t, 2, resp.ProtoMajor)
			}
		})
	}
}

// expiry (LIFE-01): a connection admitted by a certificate is closed with
// 1008 (policy violation) when the certificate expires, for TLS and header
// certificates alike. The Authenticator's clock is moved so NotAfter is
// 300ms away in real time.
func (ad Adapter[C, O]) expiry(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)

	tests := []struct {
		name   string
		server func(t *testing.T, h http.Handler) *httptest.Server
		auth   func(now func() time.Time) httpauth.Config
		header http.Header
	}{
		{
			name:   "tls certificate",
			server: func(t *testing.T, h http.Handler) *httptest.Server { return NewTLSServer(t, set, h, false) },
			auth: func(now func() time.Time) httpauth.Config {
				return httpauth.Config{Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("alice"), Now: now}
			},
		},
		{
			name: "header certificate",
			server: func(t *testing.T, h http.Handler) *httptest.Server {
				srv := httptest.NewServer(h) // the proxy terminated TLS
				t.Cleanup(srv.Close)
				return srv
			},
			auth: func(now func() time.Time) httpauth.Config {
				return httpauth.Config{
					Source:    httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: Loopback},
					Roots:     set.Root.Pool(),
					Authorize: httpauth.AllowCN("alice"),
					Now:       now,
				}
			},
			header: NginxHeader(set.Alice),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var clock SkewedClock
			a, err := httpauth.New(tt.auth(clock.Now))
			require.NoError(t, err)
			causes := make(chan error, 1)
			srv := tt.server(t, ad.handler(a, ad.echo(nil, causes)))

			clock.ExpireIn(set.Alice, 300*time.Millisecond)
			conn, _, err := ad.DialAs(t, srv, set, set.Alice, tt.header)
			require.NoError(t, err)

			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err = ad.Read(ctx, conn)
			code, reason := ad.CloseStatus(err)
			assert.Equal(t, 1008, code, "got %v", err)
			assert.Equal(t, "certificate expired", reason)
			assert.ErrorIs(t, Receive(t, causes), certgate.ErrCertificateExpired)
		})
	}
}

// upgraded is what an Upgrade call returned on the server.
type upgraded struct {
	id  *httpauth.Identity
	err error
}

// upgrade: the gated upgrade refuses on the wire with an *httpauth.Error
// and returns the identity of a client it accepts.
func (ad Adapter[C, O]) upgrade(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)

	tests := []struct {
		name   string
		auth   *httpauth.Authenticator
		leaf   *testpki.Leaf
		status int // of the refusal; 0 when accepted
		body   string
	}{
		{"accepted", TLSAuth(t, set), set.Alice, 0, ""},
		{"denied CN", TLSAuth(t, set), set.Bob, 403, "access denied"},
		{"unknown CA", TLSAuth(t, set), set.Stranger, 401, "client certificate signed by unknown authority"},
		{"nil Authenticator", nil, set.Alice, 500, "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			results := make(chan upgraded, 1)
			srv := NewTLSServer(t, set, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var opts O
				conn, id, err := ad.Upgrade(w, r, tt.auth, opts)
				results <- upgraded{id, err}
				if err == nil {
					_ = ad.Close(conn)
				}
			}), false)

			if tt.status != 0 {
				assert.Equal(t, Refusal(tt.status, tt.body), RawRefusal(t, srv, set, tt.leaf))
				got := Receive(t, results)
				var e *httpauth.Error
				require.ErrorAs(t, got.err, &e)
				assert.Equal(t, tt.status, e.ResponseStatus())
				return
			}
			conn, resp, err := ad.DialAs(t, srv, set, tt.leaf, nil)
			require.NoError(t, err)
			assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
			got := Receive(t, results)
			assert.NoError(t, got.err)
			require.NotNil(t, got.id)
			assert.Equal(t, "alice", got.id.Certificate.Subject.CommonName)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err = ad.Read(ctx, conn)
			assert.Error(t, err, "the server closed it")
		})
	}
}
