// Behind-proxy is a certgate backend behind a TLS-terminating reverse
// proxy. The proxy checks the client certificate during the handshake and
// forwards it in a request header; the backend believes that header only
// from the proxy's address, and verifies the certificate again itself.
//
// The configurations beside this file set the header in nginx, HAProxy,
// Caddy, Apache httpd and Envoy; README.md explains each and the values to
// fill in. The backend serves plain HTTP, on an address only the proxy can
// reach:
//
//   - GET /hello greets the caller by common name, through
//     [httpauth.Authenticator.Middleware].
//   - GET /ws is a WebSocket echo, through [gorilla.Handler].
//
// Run it with the preset that matches the proxy:
//
//	go run ./examples/behind-proxy -preset nginx -client-ca client-ca.pem
package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on; only the proxy may reach it")
	preset := flag.String("preset", httpauth.PresetNginx, "the proxy in front: "+strings.Join(httpauth.Presets(), ", "))
	// Not 127.0.0.1, which every local process shares: nginx.conf binds
	// nginx's connections to 127.0.0.2 (proxy_bind).
	proxy := flag.String("trusted-proxy", "127.0.0.2/32", "the proxy's address as the backend sees it, as a prefix (nginx.conf's proxy_bind)")
	caFile := flag.String("client-ca", "ca.pem", "the root CAs client certificates must chain to, PEM")
	interFile := flag.String("intermediates", "", "intermediate CAs that issue client certificates, PEM, for proxies that forward only the leaf")
	allow := flag.String("allow", "alice", "comma-separated common names let in")
	flag.Parse()

	srv, err := newServer(*addr, *preset, *proxy, *caFile, *interFile, strings.Split(*allow, ","))
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("backend for %s on http://%s", *preset, *addr)
	log.Fatal(srv.ListenAndServe())
}

// newServer returns the backend, taking client certificates from the
// header of the proxy preset names.
func newServer(addr, preset, proxy, caFile, interFile string, allow []string) (*http.Server, error) {
	trusted, err := netip.ParsePrefix(proxy)
	if err != nil {
		return nil, err
	}
	roots, err := loadPool(caFile)
	if err != nil {
		return nil, err
	}
	// nginx, Caddy and Envoy forward the leaf alone. Intermediates link it
	// to the roots without becoming trust anchors themselves.
	var intermediates *x509.CertPool
	if interFile != "" {
		if intermediates, err = loadPool(interFile); err != nil {
			return nil, err
		}
	}
	a, err := httpauth.New(httpauth.Config{
		Source: httpauth.Source{
			Preset: preset,
			// Anyone can send the header, and certificates are public, so
			// only the proxy's own address may vouch for one. That is
			// r.RemoteAddr; X-Forwarded-For is never read.
			TrustedProxies: []netip.Prefix{trusted},
		},
		// The proxy verified the certificate; the backend verifies it
		// again against the same CAs rather than take the proxy's word.
		Roots:         roots,
		Intermediates: intermediates,
		Authorize:     httpauth.AllowCN(allow...),
		Logger:        slog.Default(),
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /hello", a.Middleware(http.HandlerFunc(hello)))
	mux.Handle("GET /ws", gorilla.Handler(a, nil, echo))
	return &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}, nil
}

// loadPool reads a PEM bundle of CA certificates.
func loadPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return pool, nil
}

// hello greets the caller with the identity the middleware put in the
// request's context.
func hello(w http.ResponseWriter, r *http.Request) {
	id, ok := httpauth.FromContext(r.Context())
	if !ok { // only if the route were registered without the middleware
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	cn, _ := id.CommonName()
	fmt.Fprintf(w, "hello %s (certificate from %s)\n", cn, id.Header)
}

// echo sends every message back. certgate closes the connection with
// status 1008 when the client's certificate expires.
func echo(_ context.Context, conn *websocket.Conn, _ *httpauth.Identity) {
	defer conn.Close()
	for {
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if err := conn.WriteMessage(typ, msg); err != nil {
			return
		}
	}
}
