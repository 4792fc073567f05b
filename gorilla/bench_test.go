package gorilla_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// echoOnce answers one message, then waits for the client to go.
func echoOnce(conn *websocket.Conn) {
	defer conn.Close()
	mt, msg, err := conn.ReadMessage()
	if err != nil {
		return
	}
	if err := conn.WriteMessage(mt, msg); err != nil {
		return
	}
	_, _, _ = conn.ReadMessage()
}

// BenchmarkUpgrade measures one full exchange per iteration over loopback
// TLS with a client certificate (handshake, upgrade, one message each way,
// close) through a plain websocket.Upgrader ("bare") and through
// gorilla.Handler ("gated"), on the same listener configuration; "refused"
// is the gated path for a denied client. Compare bare and gated as a ratio
// within one run.
func BenchmarkUpgrade(b *testing.B) {
	set := testpki.MustSet(b)
	auth, err := httpauth.New(httpauth.Config{Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("alice")})
	require.NoError(b, err)
	var up websocket.Upgrader
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		echoOnce(conn)
	})
	gated := gorilla.Handler(auth, &up, func(_ context.Context, conn *websocket.Conn, _ *httpauth.Identity) {
		echoOnce(conn)
	})

	cases := []struct {
		name    string
		handler http.Handler
		leaf    *testpki.Leaf
	}{
		{"bare", bare, set.Alice},
		{"gated", gated, set.Alice},
		{"refused", gated, set.Bob},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			srv := wstest.NewTLSServer(b, set, bc.handler, false)
			d := websocket.Dialer{TLSClientConfig: wstest.ClientTLS(set, bc.leaf)}
			url := wstest.URL(srv)
			msg := []byte("ping")
			b.ReportAllocs()
			for b.Loop() {
				conn, resp, err := d.Dial(url, nil)
				if resp != nil {
					resp.Body.Close()
				}
				if bc.leaf == set.Bob {
					if !errors.Is(err, websocket.ErrBadHandshake) {
						b.Fatalf("refused client: %v", err)
					}
					continue
				}
				if err != nil {
					b.Fatal(err)
				}
				if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
					b.Fatal(err)
				}
				if _, _, err := conn.ReadMessage(); err != nil {
					b.Fatal(err)
				}
				conn.Close()
			}
		})
	}
}
