// Chi serves a REST endpoint and a WebSocket on one github.com/go-chi/chi
// router, both behind one certgate Authenticator:
//
//   - GET /api/whoami answers the caller's common name and certificate
//     fingerprint as JSON, behind a.Middleware, mounted with r.With.
//   - GET /ws greets the caller by name and echoes every message, behind
//     gorilla.Handler, which refuses with a raw 401 or 403 before the
//     upgrade.
//
// Both admit certificates that chain to ca.pem with the organizational
// unit "chat". From a folder holding server.pem, server-key.pem and ca.pem
// (examples/README.md shows how to make them):
//
//	go run github.com/certgate/certgate/examples/routers/chi
package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"time"

	"github.com/certgate/certgate/examples/routers/internal/app"
	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/go-chi/chi/v5"
)

func main() {
	roots := app.MustLoadCAs("ca.pem")
	app.Serve(func(cert tls.Certificate) (*http.Server, error) { return newServer(roots, cert) },
		"https://"+app.Addr+"/api/whoami", "wss://"+app.Addr+"/ws")
}

// newServer returns the server for clients of roots, with cert as its own.
func newServer(roots *x509.CertPool, cert tls.Certificate) (*http.Server, error) {
	a, err := httpauth.New(httpauth.Config{Roots: roots, Authorize: httpauth.AllowOU("chat")})
	if err != nil {
		return nil, err
	}
	// The listener only asks for a certificate; a judges it, so a refused
	// client gets an HTTP status with a reason, not a failed handshake.
	tlsConfig, err := a.TLSConfig(cert)
	if err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.With(a.Middleware).Get("/api/whoami", app.WhoAmI)
	// Not behind a.Middleware: gorilla.Handler runs the same check itself
	// and, refusing, writes the answer on the hijacked connection.
	r.Handle("/ws", gorilla.Handler(a, nil, app.Echo))
	return &http.Server{Handler: r, TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second}, nil
}
