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
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"time"

	"github.com/certgate/certgate/examples/routers/internal/app"
	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
)

func main() {
	devicesCAs, adminsCAs := app.MustLoadCAs("devices-ca.pem"), app.MustLoadCAs("admins-ca.pem")
	app.Serve(func(cert tls.Certificate) (*http.Server, error) { return newServer(devicesCAs, adminsCAs, cert) },
		"wss://"+app.Addr+"/ws/devices", "https://"+app.Addr+"/api/admin")
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
	mux.Handle("GET /ws/devices", gorilla.Handler(devices, nil, app.Echo))
	mux.Handle("GET /api/admin", admins.Middleware(http.HandlerFunc(app.WhoAmI)))
	return &http.Server{Handler: mux, TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second}, nil
}
