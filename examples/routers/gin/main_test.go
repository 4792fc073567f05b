package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/certgate/certgate/examples/routers/internal/check"
	"github.com/certgate/certgate/examples/routers/internal/pki"
	"github.com/certgate/certgate/httpauth"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain fails the run when a connection's goroutine outlives the tests.
func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode) // no debug lines for every route
	goleak.VerifyTestMain(m)
}

func TestRouter(t *testing.T) {
	check.Router(t, newServer)
}

// TestContextWithFallback pins the note in main.go and the README: an
// identity in c.Request's context is found through the *gin.Context only
// with engine.ContextWithFallback, and through c.Request.Context() always.
func TestContextWithFallback(t *testing.T) {
	id := &httpauth.Identity{Fingerprint: "f00d"}
	for _, fallback := range []bool{false, true} {
		c, engine := gin.CreateTestContext(httptest.NewRecorder())
		engine.ContextWithFallback = fallback
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		c.Request = r.WithContext(httpauth.NewContext(r.Context(), id))

		got, ok := httpauth.FromContext(c)
		assert.Equal(t, fallback, ok, "through *gin.Context, fallback %v", fallback)
		if fallback {
			assert.Same(t, id, got)
		}
		got, ok = httpauth.FromContext(c.Request.Context())
		assert.True(t, ok)
		assert.Same(t, id, got)
	}
}

// TestCertgateMiddlewareStopsTheChain: a refused request must not reach
// the route's handler. On the wire the missing c.Abort would not show
// (WriteError declares the refusal's Content-Length, so net/http drops
// what the handler writes after it), but the handler would still run.
func TestCertgateMiddlewareStopsTheChain(t *testing.T) {
	a, err := httpauth.New(httpauth.Config{Roots: pki.NewCA(t, "chat CA").Pool()})
	require.NoError(t, err)
	ran := false
	engine := gin.New()
	engine.GET("/", certgateMiddleware(a), func(*gin.Context) { ran = true })
	w := httptest.NewRecorder()
	engine.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil)) // plain HTTP: refused
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Contains(t, w.Body.String(), "certificate required")
	assert.False(t, ran, "the handler ran after the refusal")
}
