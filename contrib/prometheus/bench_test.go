package certgateprom_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	certgateprom "github.com/certgate/certgate/contrib/prometheus"
	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
)

// BenchmarkObserver is Authenticate on the cached TLS path (the library
// verifies a presented chain once, then finds it in its cache) with no
// observer, with one whose functions do nothing, and with the Prometheus
// observer, accepting and refusing: the cost of the hook and of the
// metrics, as ratios within one run (benchstat).
func BenchmarkObserver(b *testing.B) {
	set := testpki.MustSet(b)
	noop := httpauth.Observer{
		Accepted: func(*http.Request, *httpauth.Identity) {},
		Refused:  func(*http.Request, *httpauth.Identity, *httpauth.Error) {},
		Held:     func(*httpauth.Identity) {},
		Ended:    func(httpauth.ConnEnd) {},
	}
	m := certgateprom.New()
	prometheus.NewRegistry().MustRegister(m)
	observers := []struct {
		name string
		obs  []httpauth.Observer
	}{
		{"none", nil},
		{"noop", []httpauth.Observer{noop}},
		{"prometheus", []httpauth.Observer{m.Observer()}},
	}
	for _, path := range []struct {
		name string
		leaf *testpki.Leaf
		ok   bool
	}{{"accept", set.Alice, true}, {"refuse", set.Bob, false}} {
		for _, o := range observers {
			b.Run(path.name+"/"+o.name, func(b *testing.B) {
				a, err := httpauth.New(httpauth.Config{
					Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("alice"), Observers: o.obs,
				})
				require.NoError(b, err)
				r := tlsRequest(path.leaf)
				_, err = a.Authenticate(r) // fills the cache
				require.Equal(b, path.ok, err == nil)
				b.ReportAllocs()
				for b.Loop() {
					_, _ = a.Authenticate(r)
				}
			})
		}
	}
}

// BenchmarkGate is the whole gated WebSocket upgrade over loopback TLS
// (handshake with a client certificate, upgrade, one message each way,
// close) through gorilla.Handler, without and with the Prometheus
// observer: what a server pays per connection, as a ratio within one run.
func BenchmarkGate(b *testing.B) {
	set := testpki.MustSet(b)
	m := certgateprom.New()
	prometheus.NewRegistry().MustRegister(m)
	for _, o := range []struct {
		name string
		obs  []httpauth.Observer
	}{{"none", nil}, {"prometheus", []httpauth.Observer{m.Observer()}}} {
		b.Run(o.name, func(b *testing.B) {
			a, err := httpauth.New(httpauth.Config{Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("alice"), Observers: o.obs})
			require.NoError(b, err)
			h := gorilla.Handler(a, nil, func(_ context.Context, conn *websocket.Conn, _ *httpauth.Identity) {
				defer conn.Close()
				if mt, msg, err := conn.ReadMessage(); err == nil {
					_ = conn.WriteMessage(mt, msg)
				}
				_, _, _ = conn.ReadMessage()
			})
			srv := wstest.NewTLSServer(b, set, h, false)
			d := websocket.Dialer{TLSClientConfig: wstest.ClientTLS(set, set.Alice)}
			url := wstest.URL(srv)
			b.ReportAllocs()
			for b.Loop() {
				conn, resp, err := d.Dial(url, nil)
				if resp != nil {
					resp.Body.Close()
				}
				require.NoError(b, err)
				require.NoError(b, conn.WriteMessage(websocket.TextMessage, []byte("ping")))
				_, _, err = conn.ReadMessage()
				require.NoError(b, err)
				conn.Close()
			}
		})
	}
}
