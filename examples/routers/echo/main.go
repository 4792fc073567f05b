// Echo serves a REST endpoint and a WebSocket on one github.com/labstack/echo
// router, both behind one certgate Authenticator:
//
//   - GET /api/whoami answers the caller's common name and certificate
//     fingerprint as JSON, behind a.Middleware, adapted by
//     echo.WrapMiddleware.
//   - GET /ws greets the caller by name and echoes every message, behind
//     gorilla.Handler, adapted by echo.WrapHandler; it refuses with a raw
//     401 or 403 before the upgrade.
//
// Both admit certificates that chain to ca.pem with the organizational
// unit "chat". From a folder holding server.pem, server-key.pem and ca.pem
// (examples/README.md shows how to make them):
//
//	go run github.com/certgate/certgate/examples/routers/echo
package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"time"

	"github.com/certgate/certgate/examples/routers/internal/app"
	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/labstack/echo/v4"
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

	e := echo.New()
	// WrapMiddleware hands the handler the request a.Middleware passes on,
	// so c.Request().Context() carries the identity.
	e.GET("/api/whoami", whoami, echo.WrapMiddleware(a.Middleware))
	// Not behind a.Middleware: gorilla.Handler runs the same check itself
	// and, refusing, writes the answer on the hijacked connection, which
	// echo's Response lets it take.
	e.GET("/ws", echo.WrapHandler(gorilla.Handler(a, nil, app.Echo)))
	return &http.Server{Handler: e, TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second}, nil
}

// whoami answers with the identity a.Middleware put in the context.
func whoami(c echo.Context) error {
	id, ok := httpauth.FromContext(c.Request().Context())
	if !ok { // only if the route were mounted without the middleware
		return echo.NewHTTPError(http.StatusInternalServerError, "no identity")
	}
	cn, _ := id.CommonName()
	return c.JSON(http.StatusOK, map[string]string{"cn": cn, "fingerprint": id.Fingerprint})
}
