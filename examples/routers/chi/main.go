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
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/go-chi/chi/v5"
	"github.com/gorilla/websocket"
)

func main() {
	cert, err := tls.LoadX509KeyPair("server.pem", "server-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots, err := loadCAs("ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := newServer(roots, cert)
	if err != nil {
		log.Fatal(err)
	}
	srv.Addr = "localhost:8443"
	log.Printf("serving https://%s/api/whoami and wss://%[1]s/ws", srv.Addr)
	log.Fatal(srv.ListenAndServeTLS("", ""))
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
	r.With(a.Middleware).Get("/api/whoami", whoami)
	// Not behind a.Middleware: gorilla.Handler runs the same check itself
	// and, refusing, writes the answer on the hijacked connection.
	r.Handle("/ws", gorilla.Handler(a, nil, echoBack))
	return &http.Server{Handler: r, TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second}, nil
}

// whoami answers with the identity a.Middleware put in the context.
func whoami(w http.ResponseWriter, r *http.Request) {
	id, ok := httpauth.FromContext(r.Context())
	if !ok { // only if the route were mounted without the middleware
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	cn, _ := id.CommonName()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"cn": cn, "fingerprint": id.Fingerprint})
}

// echoBack greets the client by name, then sends back what it receives until
// either side closes, or ctx ends when the certificate stops being trusted.
func echoBack(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity) {
	defer conn.Close()
	cn, _ := id.CommonName()
	if err := conn.WriteMessage(websocket.TextMessage, []byte("hello "+cn)); err != nil {
		return
	}
	for ctx.Err() == nil {
		kind, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if err := conn.WriteMessage(kind, msg); err != nil {
			return
		}
	}
}

// loadCAs reads a PEM bundle of CA certificates.
func loadCAs(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New(path + ": no PEM certificate found")
	}
	return pool, nil
}
