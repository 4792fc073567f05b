// Gin serves a REST endpoint and a WebSocket on one github.com/gin-gonic/gin
// engine, both behind one certgate Authenticator:
//
//   - GET /api/whoami answers the caller's common name and certificate
//     fingerprint as JSON, behind certgateMiddleware, the adapter below:
//     gin has no wrapper for net/http middleware such as a.Middleware.
//   - GET /ws greets the caller by name and echoes every message, behind
//     gorilla.Handler, adapted by gin.WrapH; it refuses with a raw 401 or
//     403 before the upgrade.
//
// Both admit certificates that chain to ca.pem with the organizational
// unit "chat". From a folder holding server.pem, server-key.pem and ca.pem
// (examples/README.md shows how to make them):
//
//	go run github.com/certgate/certgate/examples/routers/gin
package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"time"

	"github.com/certgate/certgate/examples/routers/internal/app"
	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/gin-gonic/gin"
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

	r := gin.New()
	r.Use(gin.Recovery())
	// With the fallback, c.Value reads c.Request's context, so
	// httpauth.FromContext(c) finds the identity. Without it, ask
	// c.Request.Context() instead.
	r.ContextWithFallback = true
	r.GET("/api/whoami", certgateMiddleware(a), whoami)
	// Not behind certgateMiddleware: gorilla.Handler runs the same check
	// itself and, refusing, writes the answer on the hijacked connection.
	r.GET("/ws", gin.WrapH(gorilla.Handler(a, nil, app.Echo)))
	return &http.Server{Handler: r, TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second}, nil
}

// certgateMiddleware is a.Middleware for gin. The identity goes into
// c.Request's context, where httpauth.FromContext looks, also on a
// refusal so loggers see who was refused; a refusal is answered by
// a.WriteError (Config.ErrorHandler, if set) and stops the chain.
func certgateMiddleware(a *httpauth.Authenticator) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := a.Authenticate(c.Request)
		if id != nil {
			c.Request = c.Request.WithContext(httpauth.NewContext(c.Request.Context(), id))
		}
		if err != nil {
			a.WriteError(c.Writer, c.Request, err)
			c.Abort()
			return
		}
		c.Next()
	}
}

// whoami answers with the identity certgateMiddleware stored.
func whoami(c *gin.Context) {
	// Through c, as ContextWithFallback is set; else c.Request.Context().
	id, ok := httpauth.FromContext(c)
	if !ok { // only if the route were mounted without the middleware
		c.String(http.StatusInternalServerError, "no identity")
		return
	}
	cn, _ := id.CommonName()
	c.JSON(http.StatusOK, gin.H{"cn": cn, "fingerprint": id.Fingerprint})
}
