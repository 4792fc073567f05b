package certgateotel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/codes"

	certgateotel "github.com/certgate/certgate/contrib/otel"
	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
)

// What otelhttp records for a gated WebSocket endpoint over real TLS: a
// refusal certgate writes raw on the hijacked connection reaches otelhttp
// as a 200 (its default for a handler that wrote nothing) unless the gate
// is wrapped in Instrument, which makes it record the real 401 or 403, on
// the span and on http.server.request.duration. The observer's code,
// decision event and error status are on the span either way.
func TestRefusalStatusReachesOtelhttp(t *testing.T) {
	t.Parallel()
	type drive func(t *testing.T, srv *httptest.Server, set *testpki.Set)
	raw := func(leaf func(*testpki.Set) *testpki.Leaf, status int, text string) drive {
		return func(t *testing.T, srv *httptest.Server, set *testpki.Set) {
			assert.Equal(t, wstest.Refusal(status, text), wstest.RawRefusal(t, srv, set, leaf(set)))
		}
	}
	bob := func(s *testpki.Set) *testpki.Leaf { return s.Bob }
	stranger := func(s *testpki.Set) *testpki.Leaf { return s.Stranger }
	cases := []struct {
		name       string
		instrument bool
		middleware bool // the gate is Authenticator.Middleware, not a WebSocket handler
		drive      drive
		code       string // certgate.code; empty for an acceptance
		status     int    // what otelhttp records
	}{
		{name: "raw denial, otelhttp alone", drive: raw(bob, 403, "access denied"), code: "denied", status: 200},
		{name: "raw denial, instrumented", instrument: true, drive: raw(bob, 403, "access denied"), code: "denied", status: 403},
		{name: "raw unknown authority, instrumented", instrument: true, drive: raw(stranger, 401, "client certificate signed by unknown authority"), code: "unknown_authority", status: 401},
		{
			name: "middleware denial, instrumented", instrument: true, middleware: true, code: "denied", status: 403,
			drive: func(t *testing.T, srv *httptest.Server, set *testpki.Set) {
				resp, err := wstest.HTTPClient(t, set, set.Bob).Get(srv.URL + "/ws")
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
				assert.Equal(t, 403, resp.StatusCode)
			},
		},
		{
			// gorilla writes its 101 raw too; Instrument leaves acceptances
			// as the upgrader reported them.
			name: "accepted upgrade, instrumented", instrument: true, status: 200,
			drive: func(t *testing.T, srv *httptest.Server, set *testpki.Set) {
				d := websocket.Dialer{TLSClientConfig: wstest.ClientTLS(set, set.Alice)}
				conn, resp, err := d.DialContext(t.Context(), wstest.URL(srv), nil)
				require.NoError(t, err)
				assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
				require.NoError(t, conn.Close())
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			set := testpki.MustSet(t)
			p := newPipeline(t)
			tel, err := certgateotel.New(certgateotel.WithMeterProvider(p.meters))
			require.NoError(t, err)
			a, err := httpauth.New(httpauth.Config{
				Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("alice"),
				Observers: []httpauth.Observer{tel.Observer()},
			})
			require.NoError(t, err)

			var gate http.Handler = gorilla.Handler(a, nil, func(_ context.Context, conn *websocket.Conn, _ *httpauth.Identity) {
				for {
					if _, _, err := conn.ReadMessage(); err != nil {
						return
					}
				}
			})
			if c.middleware {
				gate = a.Middleware(http.NotFoundHandler())
			}
			mw := otelhttp.NewMiddleware("ws", otelhttp.WithTracerProvider(p.tracers), otelhttp.WithMeterProvider(p.meters))
			h := mw(gate)
			if c.instrument {
				h = certgateotel.Instrument(mw, gate)
			}
			done := make(chan struct{}, 1)
			srv := wstest.NewTLSServer(t, set, signalDone(h, done), false)
			c.drive(t, srv, set)
			wstest.Receive(t, done)

			span := p.span(t)
			got := attrs(span.Attributes())
			assert.Equal(t, int64(c.status), got["http.response.status_code"])
			durations := p.metrics(t, "http.server.request.duration")
			require.Len(t, durations, 1)
			for set, count := range durations {
				assert.Contains(t, set, ",http.response.status_code="+strconv.Itoa(c.status)+",")
				assert.Equal(t, 1.0, count)
			}
			require.Len(t, span.Events(), 1)
			event := span.Events()[0]
			assert.Equal(t, "certgate.decision", event.Name)
			if c.code == "" {
				assert.Equal(t, "accepted", got["certgate.decision"])
				assert.Equal(t, codes.Unset, span.Status().Code)
				assert.NotContains(t, got, "certgate.code")
				return
			}
			assert.Equal(t, "refused", got["certgate.decision"])
			assert.Equal(t, c.code, got["certgate.code"])
			assert.Equal(t, "tls", got["certgate.source"])
			assert.Equal(t, codes.Error, span.Status().Code)
			assert.Equal(t, "certgate: "+c.code, span.Status().Description)
			ev := attrs(event.Attributes)
			assert.Equal(t, c.code, ev["certgate.code"])
			assert.Equal(t, "refused", ev["certgate.decision"])
		})
	}
}

// A request refused by one Authenticator and then admitted by another (two
// kinds of client on one endpoint) is an accepted upgrade: Instrument does
// not report it as the first refusal.
func TestInstrumentAcceptedAfterEarlierRefusal(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	p := newPipeline(t)
	tel, err := certgateotel.New(certgateotel.WithMeterProvider(p.meters))
	require.NoError(t, err)
	obs := []httpauth.Observer{tel.Observer()}
	admins, err := httpauth.New(httpauth.Config{Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("root-admin"), Observers: obs})
	require.NoError(t, err)
	users, err := httpauth.New(httpauth.Config{Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("alice"), Observers: obs})
	require.NoError(t, err)
	ws := gorilla.Handler(users, nil, func(_ context.Context, conn *websocket.Conn, _ *httpauth.Identity) {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	})
	gate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := admins.Authenticate(r); err == nil {
			ws.ServeHTTP(w, r) // admin path, elided
			return
		}
		ws.ServeHTTP(w, r) // fall back to the users' gate
	})
	mw := otelhttp.NewMiddleware("ws", otelhttp.WithTracerProvider(p.tracers), otelhttp.WithMeterProvider(p.meters))
	done := make(chan struct{}, 1)
	srv := wstest.NewTLSServer(t, set, signalDone(certgateotel.Instrument(mw, gate), done), false)
	d := websocket.Dialer{TLSClientConfig: wstest.ClientTLS(set, set.Alice)}
	conn, resp, err := d.DialContext(t.Context(), wstest.URL(srv), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.NoError(t, conn.Close())
	wstest.Receive(t, done)
	got := attrs(p.span(t).Attributes())
	assert.Equal(t, int64(200), got["http.response.status_code"], "an accepted upgrade, as otelhttp sees any hijack")
}
