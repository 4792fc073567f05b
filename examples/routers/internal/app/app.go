// Package app holds what the router examples share and what is not about
// routing: loading the certificates, serving, and the two handlers behind
// the routes. Each example's main.go keeps only how its router mounts
// certgate.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"

	"github.com/certgate/certgate/httpauth"
	"github.com/gorilla/websocket"
)

// Addr is where the examples listen.
const Addr = "localhost:8443"

// Serve loads server.pem and server-key.pem from the working folder,
// builds the server with them and serves it on Addr until it fails,
// logging the routes' URLs. Any error ends the program.
func Serve(build func(cert tls.Certificate) (*http.Server, error), urls ...string) {
	cert, err := tls.LoadX509KeyPair("server.pem", "server-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := build(cert)
	if err != nil {
		log.Fatal(err)
	}
	srv.Addr = Addr
	log.Printf("serving %v on %s", urls, Addr)
	log.Fatal(srv.ListenAndServeTLS("", ""))
}

// MustLoadCAs reads a PEM bundle of CA certificates, or ends the program.
func MustLoadCAs(path string) *x509.CertPool {
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		log.Fatal(errors.New(path + ": no PEM certificate found"))
	}
	return pool
}

// WhoAmI answers with the identity a certgate middleware put in the
// request's context, as JSON: the common name and the fingerprint.
func WhoAmI(w http.ResponseWriter, r *http.Request) {
	id, ok := httpauth.FromContext(r.Context())
	if !ok { // only if the route were mounted without the middleware
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	cn, _ := id.CommonName()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"cn": cn, "fingerprint": id.Fingerprint})
}

// Echo greets the client by name, then sends back what it receives until
// either side closes, or ctx ends when the certificate stops being
// trusted.
func Echo(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity) {
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
