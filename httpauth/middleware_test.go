package httpauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
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

func TestRefusalsAreNeverCachedOrSniffed(t *testing.T) {
	pki := testpki.MustSet(t)
	tests := []struct {
		name         string
		handler      func(w http.ResponseWriter, r *http.Request, e *httpauth.Error)
		wantType     string
		wantBody     string
		wantCacheCtl string
	}{
		{"default writer", nil, "text/plain; charset=utf-8", "access denied\n", "no-store"},
		{"custom JSON handler", func(w http.ResponseWriter, _ *http.Request, e *httpauth.Error) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(e.ResponseStatus())
			_, _ = w.Write([]byte(`{"error":"` + e.PublicText() + `"}`))
		}, "application/json", `{"error":"access denied"}`, "no-store"},
		{"handler delegating to WritePlainError", func(w http.ResponseWriter, _ *http.Request, e *httpauth.Error) {
			httpauth.WritePlainError(w, e)
		}, "text/plain; charset=utf-8", "access denied\n", "no-store"},
		{"handler overriding Cache-Control on purpose", func(w http.ResponseWriter, _ *http.Request, e *httpauth.Error) {
			w.Header().Set("Cache-Control", "private, max-age=5")
			w.WriteHeader(e.ResponseStatus())
		}, "", "", "private, max-age=5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := serve(t, pki, httpauth.Config{Authorize: httpauth.AllowCN("alice"), ErrorHandler: tt.handler}, pki.Bob)
			assert.Equal(t, http.StatusForbidden, w.Code)
			assert.Equal(t, tt.wantCacheCtl, w.Header().Get("Cache-Control"))
			assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
			assert.Equal(t, tt.wantType, w.Header().Get("Content-Type"))
			assert.Equal(t, tt.wantBody, w.Body.String())
		})
	}
}

func TestWritePlainError(t *testing.T) {
	tests := []struct {
		name       string
		err        *httpauth.Error
		wantStatus int
		wantBody   string
	}{
		{"library reason", &httpauth.Error{Status: http.StatusUnauthorized, Reason: httpauth.ErrExpired}, 401, "client certificate expired\n"},
		{"public text sanitized", &httpauth.Error{Status: http.StatusForbidden, Public: "no\r\nSet-Cookie: x"}, 403, "noSet-Cookie: x\n"},
		{"status out of range", &httpauth.Error{Status: 101}, 500, "Internal Server Error\n"},
		{"nil error", nil, 500, "Internal Server Error\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			httpauth.WritePlainError(w, tt.err)
			assert.Equal(t, tt.wantStatus, w.Code)
			assert.Equal(t, tt.wantBody, w.Body.String())
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
			assert.Equal(t, strconv.Itoa(len(tt.wantBody)), w.Header().Get("Content-Length"))
		})
	}
}

// An ErrorHandler that writes nothing for some refusal (a forgotten case)
// does not turn it into an empty 200: the plain refusal follows.
func TestErrorHandlerThatWritesNothing(t *testing.T) {
	t.Parallel()
	a := mustNew(t, httpauth.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, e *httpauth.Error) {
		if r.Header.Get("Accept") == "application/json" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(e.ResponseStatus())
			_, _ = w.Write([]byte(`{"code":"` + e.Code() + `"}`))
		}
	}})
	h := a.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("next ran") }))
	for accept, want := range map[string]string{"application/json": `{"code":"no_certificate"}`, "text/html": "client certificate required\n"} {
		r := tlsRequest(nil)
		r.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, http.StatusUnauthorized, w.Code, accept)
		assert.Equal(t, want, w.Body.String(), accept)
		assert.Equal(t, "no-store", w.Header().Get("Cache-Control"), accept)
	}
}
