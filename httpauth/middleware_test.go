package httpauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMiddlewareStoresIdentityAlsoWhenDenied(t *testing.T) {
	pki := testpki.MustSet(t)
	var seen *httpauth.Identity
	a := mustNew(t, httpauth.Config{
		Roots:     pki.Root.Pool(),
		Authorize: httpauth.AllowCN("alice"),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err *httpauth.Error) {
			seen, _ = httpauth.FromContext(r.Context())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(err.ResponseStatus())
			_, _ = w.Write([]byte(`{"error":"` + err.PublicText() + `"}`))
		},
	})
	w := httptest.NewRecorder()
	a.Middleware(http.NotFoundHandler()).ServeHTTP(w, tlsRequest(pki.Bob))
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.JSONEq(t, `{"error":"access denied"}`, w.Body.String())
	require.NotNil(t, seen)
	assert.Equal(t, "bob", seen.Certificate.Subject.CommonName)

	_, ok := httpauth.FromContext(t.Context())
	assert.False(t, ok)
	_, ok = httpauth.FromContext(httpauth.NewContext(t.Context(), nil))
	assert.False(t, ok, "a nil identity is no identity")
}

func TestMiddlewareDefaultRefusalIsPlainText(t *testing.T) {
	pki := testpki.MustSet(t)
	w := serve(t, pki, httpauth.Config{}, pki.Expired)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
	assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
	assert.Equal(t, "client certificate expired\n", w.Body.String())
	assert.NotContains(t, w.Body.String(), "serial", "details are for logs")
}

func TestWriteErrorAnswersForeignErrorWith500(t *testing.T) {
	a := mustNew(t, httpauth.Config{})
	w := httptest.NewRecorder()
	a.WriteError(w, httptest.NewRequest(http.MethodGet, "/", nil), errors.New("boom"))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Equal(t, "Internal Server Error\n", w.Body.String())
}
