//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
)

// Modes of the server role: the same echo behind certgate, or behind a
// plain websocket.Upgrader on a listener that verifies client
// certificates itself, the baseline certgate's cost is measured against.
const (
	modeGated = "gated"
	modeBare  = "bare"
)

// crlInterval is how often the gated server's CRLFiles may look at its
// file.
const crlInterval = 200 * time.Millisecond

// serverHello is the server role's first line.
type serverHello struct {
	Addr string `json:"addr"`
}

// serverStats is the server's memory after a GC, the reply to "stats" and
// "settle".
type serverStats struct {
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	Goroutines int    `json:"goroutines"`
	// Stacks is a dump of every goroutine, only when "settle" did not
	// reach its count.
	Stacks string `json:"stacks,omitempty"`
}

// echo serves one connection in both modes: every message straight back,
// until the connection fails or closes.
func echo(conn *websocket.Conn) {
	defer conn.Close()
	for {
		mt, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if err := conn.WriteMessage(mt, msg); err != nil {
			return
		}
	}
}

// runLiveServer is the server role: it serves echo in the mode the
// environment names on a loopback TLS listener, and answers the parent's
// requests until its stdin closes.
func runLiveServer(t *testing.T) {
	dir := os.Getenv(liveDirEnv)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, liveServerFile), filepath.Join(dir, liveServerKeyFile))
	require.NoError(t, err)
	pool, err := readRootPool(dir)
	require.NoError(t, err)

	var (
		handler http.Handler
		cfg     *tls.Config
	)
	switch mode := os.Getenv(liveModeEnv); mode {
	case modeGated:
		crl, err := httpauth.NewCRLFiles(filepath.Join(dir, liveCRLFile), crlInterval)
		require.NoError(t, err)
		a, err := httpauth.New(httpauth.Config{Roots: pool, Revocation: []httpauth.RevocationChecker{crl}})
		require.NoError(t, err)
		cfg, err = a.TLSConfig(cert)
		require.NoError(t, err)
		handler = gorilla.Handler(a, nil, func(_ context.Context, conn *websocket.Conn, _ *httpauth.Identity) {
			echo(conn)
		})
	case modeBare:
		cfg = &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    pool,
		}
		var up websocket.Upgrader
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, err := up.Upgrade(w, r, nil)
			if err != nil {
				return // answered by the upgrader
			}
			echo(conn)
		})
	default:
		t.Fatalf("unknown %s %q", liveModeEnv, mode)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	// Not ServeTLS: it would offer h2, and neither mode is about HTTP/2.
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(os.Stderr, "server: ", 0),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(tls.NewListener(ln, cfg)) }()
	defer func() {
		// Hijacked connections are the clients' to end; Close stops the
		// listener and whatever is still in its HTTP phase.
		require.NoError(t, srv.Close())
		require.ErrorIs(t, <-served, http.ErrServerClosed)
	}()

	role := newLiveRole()
	role.send(t, serverHello{Addr: ln.Addr().String()})
	for {
		req, ok := role.recv(t)
		if !ok {
			return
		}
		switch req.Cmd {
		case "stats":
			role.send(t, readServerStats())
		case "settle":
			role.send(t, settleServer(req.Want, req.Wait))
		default:
			t.Fatalf("server: unknown command %q", req.Cmd)
		}
	}
}

// readServerStats measures after two GCs: the first frees what the last
// handshakes left, the second lets the runtime shrink stacks that grew
// once and are mostly unused now, so both count what a live connection
// holds.
func readServerStats() serverStats {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return serverStats{HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, Goroutines: runtime.NumGoroutine()}
}

// settleServer waits up to wait for the goroutines to fall to want, as the
// handlers of closed connections return, and dumps them if they do not.
func settleServer(want int, wait time.Duration) serverStats {
	deadline := time.Now().Add(wait)
	for {
		st := readServerStats()
		if st.Goroutines <= want {
			return st
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			st.Stacks = string(buf[:runtime.Stack(buf, true)])
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
}
