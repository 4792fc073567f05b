// Perroute gives two routes of one TLS listener their own trust: devices,
// whose certificates come from one CA, on the WebSocket /ws/devices, and
// administrators, whose certificates come from another, on /api/admin. A
// certificate good for one route is refused on the other with a 401, even
// when it names what the other route's authorizer asks for, because each
// route's Authenticator verifies against its own roots.
//
// httpauth.TLSConfigFor builds the listener: it asks clients for a
// certificate, names the CAs of both routes so clients know what to send,
// and leaves the decision to the route. The handshake cannot decide: it
// happens before the request names its route.
//
// From a folder holding server.pem, server-key.pem, devices-ca.pem and
// admins-ca.pem (examples/README.md shows how to make a CA and its
// certificates; make two):
//
//	go run github.com/certgate/certgate/examples/routers/perroute
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
	"github.com/gorilla/websocket"
)

func main() {
	cert, err := tls.LoadX509KeyPair("server.pem", "server-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	devicesCAs, err := loadCAs("devices-ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	adminsCAs, err := loadCAs("admins-ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := newServer(devicesCAs, adminsCAs, cert)
	if err != nil {
		log.Fatal(err)
	}
	srv.Addr = "localhost:8443"
	log.Printf("serving wss://%s/ws/devices and https://%[1]s/api/admin", srv.Addr)
	log.Fatal(srv.ListenAndServeTLS("", ""))
}

// newServer returns the server: devices of devicesCAs on /ws/devices,
// administrators of adminsCAs on /api/admin, with cert as its own.
func newServer(devicesCAs, adminsCAs *x509.CertPool, cert tls.Certificate) (*http.Server, error) {
	devices, err := httpauth.New(httpauth.Config{Roots: devicesCAs, Authorize: httpauth.AllowOU("devices")})
	if err != nil {
		return nil, err
	}
	admins, err := httpauth.New(httpauth.Config{Roots: adminsCAs, Authorize: httpauth.AllowOU("admins")})
	if err != nil {
		return nil, err
	}
	tlsConfig, err := httpauth.TLSConfigFor([]tls.Certificate{cert}, devices, admins)
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /ws/devices", gorilla.Handler(devices, nil, echoBack))
	mux.Handle("GET /api/admin", admins.Middleware(http.HandlerFunc(whoami)))
	return &http.Server{Handler: mux, TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second}, nil
}

// whoami answers with the identity the middleware put in the context.
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

// echoBack greets the device by name, then sends back what it receives
// until either side closes, or ctx ends when the certificate stops being
// trusted.
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
