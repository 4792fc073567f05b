package httpauth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve runs one request from alice through the middleware and returns
// the recorded response.
func serve(t *testing.T, pki *testpki.Set, cfg httpauth.Config, leaf *testpki.Leaf) *httptest.ResponseRecorder {
	t.Helper()
	cfg.Roots = pki.Root.Pool()
	a := mustNew(t, cfg)
	w := httptest.NewRecorder()
	a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("welcome"))
	})).ServeHTTP(w, tlsRequest(leaf))
	return w
}

func TestAUTHZ01_PanickingAuthorizer(t *testing.T) {
	pki := testpki.MustSet(t)
	w := serve(t, pki, httpauth.Config{Authorize: func(context.Context, *httpauth.Identity) error {
		panic("secret database password in panic text")
	}}, pki.Alice)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.NotContains(t, w.Body.String(), "secret")
	assert.Equal(t, "authorization unavailable\n", w.Body.String())

	// The server keeps working for the next request.
	w = serve(t, pki, httpauth.Config{}, pki.Alice)
	assert.Equal(t, http.StatusOK, w.Code)
}

func TestAuthorizerTimeout(t *testing.T) {
	pki := testpki.MustSet(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	tests := []struct {
		name  string
		authz httpauth.Authorizer
	}{
		{"honours context", func(ctx context.Context, _ *httpauth.Identity) error { <-ctx.Done(); return ctx.Err() }},
		{"ignores context", func(context.Context, *httpauth.Identity) error { <-release; return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: tt.authz, AuthorizeTimeout: 20 * time.Millisecond})
			id, err := a.Authenticate(tlsRequest(pki.Alice))
			assert.NotNil(t, id, "who was refused stays visible")
			assert.ErrorIs(t, err, httpauth.ErrAuthorizer)
			assert.Contains(t, err.Error(), "Config.AuthorizeTimeout")
			assert.Equal(t, http.StatusServiceUnavailable, statusOf(t, err))
		})
	}
}

func TestAuthorizerSeesCancelledRequest(t *testing.T) {
	pki := testpki.MustSet(t)
	seen := make(chan error, 1)
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: func(ctx context.Context, _ *httpauth.Identity) error {
		<-ctx.Done()
		seen <- ctx.Err()
		return ctx.Err()
	}})
	ctx, cancel := context.WithCancel(t.Context())
	r := tlsRequest(pki.Alice).WithContext(ctx)
	go cancel() // the client goes away
	_, err := a.Authenticate(r)
	assert.ErrorContains(t, err, "request cancelled")
	assert.ErrorIs(t, <-seen, context.Canceled)
}

func TestAuthorizerStatuses(t *testing.T) {
	pki := testpki.MustSet(t)
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string
		wantIs     error
	}{
		{"plain error is 403 with a generic body", errors.New("cn mallory is on the blocklist"), 403, "access denied\n", httpauth.ErrDenied},
		{"chosen 4xx kept", &httpauth.Error{Status: 429, Reason: errors.New("rate")}, 429, "Too Many Requests\n", httpauth.ErrDenied},
		{"chosen 5xx kept", &httpauth.Error{Status: 503, Reason: errors.New("db down")}, 503, "Service Unavailable\n", httpauth.ErrAuthorizer},
		{"public text sent", &httpauth.Error{Status: 403, Reason: errors.New("x"), Public: "certificate revoked"}, 403, "certificate revoked\n", httpauth.ErrDenied},
		{"wrapped *Error found", errorsJoin(&httpauth.Error{Status: 402}), 402, "Payment Required\n", httpauth.ErrDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, pki, httpauth.Config{Authorize: func(context.Context, *httpauth.Identity) error { return tt.err }}, pki.Alice)
			assert.Equal(t, tt.wantStatus, w.Code)
			assert.Equal(t, tt.wantBody, w.Body.String())
			a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: func(context.Context, *httpauth.Identity) error { return tt.err }})
			_, err := a.Authenticate(tlsRequest(pki.Alice))
			assert.ErrorIs(t, err, tt.wantIs)
		})
	}
}

func TestTypedNilAuthorizerError(t *testing.T) {
	pki := testpki.MustSet(t)
	typedNil := func(context.Context, *httpauth.Identity) error {
		var e *httpauth.Error
		return e // not nil: an interface holding a nil pointer
	}
	deny := func(context.Context, *httpauth.Identity) error { return errors.New("not on the list") }
	tooMany := func(context.Context, *httpauth.Identity) error { return &httpauth.Error{Status: 429} }
	authorizers := []struct {
		name  string
		authz httpauth.Authorizer
	}{
		{"direct", typedNil},
		{"via AllOf", httpauth.AllOf(httpauth.AllowCN("alice"), typedNil)},
		{"via AnyOf", httpauth.AnyOf(typedNil, httpauth.AllowCN("nobody"))},
		{"via AnyOf after a plain denial", httpauth.AnyOf(deny, typedNil)},
		{"via AnyOf after an *Error", httpauth.AnyOf(tooMany, typedNil)},
	}
	for _, az := range authorizers {
		t.Run(az.name+" through Authenticate", func(t *testing.T) {
			t.Parallel()
			a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: az.authz})
			var (
				id  *httpauth.Identity
				err error
			)
			require.NotPanics(t, func() { id, err = a.Authenticate(tlsRequest(pki.Alice)) })
			assert.NotNil(t, id, "who was refused stays visible")
			assert.ErrorIs(t, err, httpauth.ErrAuthorizer)
			assert.Equal(t, http.StatusInternalServerError, statusOf(t, err))
			// Not a recovered panic, which is ErrAuthorizer and 500 too.
			assert.ErrorContains(t, err, "authorizer returned a nil *httpauth.Error as its error; return nil to allow")
		})
		t.Run(az.name+" through Middleware", func(t *testing.T) {
			t.Parallel()
			var handled *httpauth.Error
			a := mustNew(t, httpauth.Config{
				Roots:     pki.Root.Pool(),
				Authorize: az.authz,
				ErrorHandler: func(w http.ResponseWriter, r *http.Request, err *httpauth.Error) {
					handled = err
					http.Error(w, err.PublicText(), err.StatusCode())
				},
			})
			w := httptest.NewRecorder()
			require.NotPanics(t, func() {
				a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					t.Error("next handler ran")
				})).ServeHTTP(w, tlsRequest(pki.Alice))
			})
			assert.Equal(t, http.StatusInternalServerError, w.Code)
			assert.Equal(t, "authorization unavailable\n", w.Body.String())
			require.NotNil(t, handled)
			assert.ErrorIs(t, handled, httpauth.ErrAuthorizer)
			assert.NotContains(t, handled.Error(), "panic")
		})
	}
}

func TestNilErrorIsSafe(t *testing.T) {
	var e *httpauth.Error
	assert.NotPanics(t, func() {
		assert.Equal(t, "httpauth: nil *httpauth.Error", e.Error())
		assert.NoError(t, e.Unwrap())
		assert.Equal(t, "Internal Server Error", e.PublicText())
		assert.Equal(t, http.StatusInternalServerError, e.StatusCode())
		assert.NotErrorIs(t, e, httpauth.ErrDenied)
	})

	// WriteError with an error holding a nil *Error answers 500.
	a := mustNew(t, httpauth.Config{})
	for name, err := range map[string]error{"bare": e, "wrapped": fmt.Errorf("ctx: %w", e)} {
		t.Run(name, func(t *testing.T) {
			w := httptest.NewRecorder()
			require.NotPanics(t, func() { a.WriteError(w, httptest.NewRequest(http.MethodGet, "/", nil), err) })
			assert.Equal(t, http.StatusInternalServerError, w.Code)
			assert.Equal(t, "Internal Server Error\n", w.Body.String())
		})
	}
}

func errorsJoin(err error) error { return errors.Join(errors.New("context"), err) }

func TestRSP03_OddAuthorizerStatusesBecome500(t *testing.T) {
	pki := testpki.MustSet(t)
	for _, status := range []int{101, 200, 302, 0, -1, 600, 1000} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			w := serve(t, pki, httpauth.Config{Authorize: func(context.Context, *httpauth.Identity) error {
				return &httpauth.Error{Status: status, Reason: errors.New("odd")}
			}}, pki.Alice)
			assert.Equal(t, http.StatusInternalServerError, w.Code)
			a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: func(context.Context, *httpauth.Identity) error {
				return &httpauth.Error{Status: status}
			}})
			_, err := a.Authenticate(tlsRequest(pki.Alice))
			var e *httpauth.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, http.StatusInternalServerError, e.Status)
		})
	}
}

func TestMiddlewareStoresIdentityAlsoWhenDenied(t *testing.T) {
	pki := testpki.MustSet(t)
	var seen *httpauth.Identity
	a := mustNew(t, httpauth.Config{
		Roots:     pki.Root.Pool(),
		Authorize: httpauth.AllowCN("alice"),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err *httpauth.Error) {
			seen, _ = httpauth.FromContext(r.Context())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(err.StatusCode())
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

func TestMiddlewareDefaultErrorResponse(t *testing.T) {
	pki := testpki.MustSet(t)
	w := serve(t, pki, httpauth.Config{}, pki.Expired)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
	assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
	assert.Equal(t, "client certificate expired\n", w.Body.String())
	assert.NotContains(t, w.Body.String(), "serial", "details are for logs")
}

func TestPublicTextIsSanitized(t *testing.T) {
	e := &httpauth.Error{Status: 403, Public: "x\r\nSet-Cookie: pwn=1\x00\x7f\u0085\u2028 \xff" + strings.Repeat("é", 300)}
	got := e.PublicText()
	assert.NotContains(t, got, "\r")
	assert.NotContains(t, got, "\n")
	assert.NotContains(t, got, "\x00")
	assert.NotContains(t, got, "\u0085")
	assert.NotContains(t, got, "\u2028")
	assert.True(t, strings.HasPrefix(got, "xSet-Cookie: pwn=1 \uFFFD"))
	assert.LessOrEqual(t, len(got), httpauth.MaxPublicText)
	assert.True(t, utf8Valid(got))
	assert.Equal(t, "httpauth: Forbidden", (&httpauth.Error{Status: 403}).Error())
	assert.Equal(t, "Internal Server Error", (&httpauth.Error{}).PublicText())
}

func TestWriteErrorWithForeignError(t *testing.T) {
	a := mustNew(t, httpauth.Config{})
	w := httptest.NewRecorder()
	a.WriteError(w, httptest.NewRequest(http.MethodGet, "/", nil), errors.New("boom"))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Equal(t, "Internal Server Error\n", w.Body.String())
}

func TestLoggerRecordsRefusalsWithoutPEM(t *testing.T) {
	pki := testpki.MustSet(t)
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	a, _ := headerAuth(t, pki, nginxSrc(), func(c *httpauth.Config) { c.Logger = logger })
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Bob.ChainPEM())}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
	require.Error(t, err)
	_, err = a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Expired.ChainPEM())}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
	require.Error(t, err)
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, "one record per refusal")
	assert.Contains(t, lines[0], `"status":403`)
	assert.Contains(t, lines[0], `"fingerprint":"`+httpauth.Fingerprint(pki.Bob.Cert)+`"`)
	assert.Contains(t, lines[0], `"serial":"`+pki.Bob.Cert.SerialNumber.Text(16)+`"`)
	assert.Contains(t, lines[0], `"remote_addr":"`+proxyAddr+`"`)
	assert.Contains(t, lines[1], "certificate expired")
	assert.NotContains(t, out, "BEGIN")
	assert.NotContains(t, out, "MII")
}
