// Chat is a chat room on github.com/gorilla/websocket where the certificate
// is the login: a member's nickname is the common name of the certificate
// that admitted it. A REST endpoint on the same server, behind the same
// Authenticator, tells a client who it is.
//
//   - GET /chat is the room, through [gorilla.Handler]. Every message a
//     member sends goes to all members as "nick: text" (hub.go, client.go).
//   - GET /whoami answers the caller's common name, certificate fingerprint
//     and expiry as JSON, through [httpauth.Authenticator.Middleware].
//
// Both admit certificates that chain to the CAs in -client-ca and carry
// the organizational unit "chat" ([httpauth.AllowOU]):
//
//	go run ./examples/chat -cert server.pem -key server-key.pem -client-ca ca.pem
//
// examples/README.md shows how to make these files and how to join with
// curl and websocat.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
)

func main() {
	addr := flag.String("addr", "localhost:8443", "address to listen on")
	certFile := flag.String("cert", "server.pem", "the server's certificate, PEM")
	keyFile := flag.String("key", "server-key.pem", "the server's private key, PEM")
	caFile := flag.String("client-ca", "ca.pem", "the CAs that issue members' certificates, PEM")
	flag.Parse()

	srv, err := newServer(*addr, *certFile, *keyFile, *caFile)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("chat room at wss://%s/chat", *addr)
	log.Fatal(srv.ListenAndServeTLS("", ""))
}

// newServer loads the certificates and returns the chat server.
func newServer(addr, certFile, keyFile, caFile string) (*http.Server, error) {
	roots, err := loadCAs(caFile)
	if err != nil {
		return nil, err
	}
	// One Authenticator guards both routes, so that the room and the REST
	// API agree on who is a member. Refusals are logged with their reason.
	a, err := httpauth.New(httpauth.Config{
		Roots:     roots,
		Authorize: httpauth.AllowOU("chat"),
		Logger:    slog.Default(),
	})
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	// The listener asks for a certificate and certgate judges it, so a
	// refused client gets an HTTP 401 or 403 saying why instead of a
	// failed handshake.
	tlsConfig, err := a.TLSConfig(cert)
	if err != nil {
		return nil, err
	}

	h := newHub()
	mux := http.NewServeMux()
	mux.Handle("GET /chat", gorilla.Handler(a, nil, h.serveClient))
	mux.Handle("GET /whoami", a.Middleware(http.HandlerFunc(whoami)))
	return &http.Server{
		Addr:              addr,
		Handler:           mux,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
	}, nil
}

// loadCAs reads a PEM bundle of CA certificates.
func loadCAs(path string) (*x509.CertPool, error) {
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

// identity is the /whoami response.
type identity struct {
	CN          string    `json:"cn"`
	Fingerprint string    `json:"fingerprint"`
	Expires     time.Time `json:"expires"`
}

// whoami answers with the caller's identity, which the middleware put in
// the request's context.
func whoami(w http.ResponseWriter, r *http.Request) {
	id, ok := httpauth.FromContext(r.Context())
	if !ok { // only if the route were registered without the middleware
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	cn, _ := id.CommonName() // empty when there is none or more than one
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(identity{CN: cn, Fingerprint: id.Fingerprint, Expires: id.NotAfter.UTC()})
}
