package httpauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

func TestAuthorizerPastItsDeadlineAnswered503(t *testing.T) {
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
			t.Parallel()
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

func TestAuthorizerChoosesStatusAndPublicText(t *testing.T) {
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
			t.Parallel()
			w := serve(t, pki, httpauth.Config{Authorize: func(context.Context, *httpauth.Identity) error { return tt.err }}, pki.Alice)
			assert.Equal(t, tt.wantStatus, w.Code)
			assert.Equal(t, tt.wantBody, w.Body.String())
			a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: func(context.Context, *httpauth.Identity) error { return tt.err }})
			_, err := a.Authenticate(tlsRequest(pki.Alice))
			assert.ErrorIs(t, err, tt.wantIs)
		})
	}
}

func errorsJoin(err error) error { return errors.Join(errors.New("context"), err) }

func TestAuthorizerStatusClassDecidesDeniedOrFailed(t *testing.T) {
	pki := testpki.MustSet(t)
	for _, tt := range []struct {
		status int
		want   error
	}{{499, httpauth.ErrDenied}, {500, httpauth.ErrAuthorizer}, {400, httpauth.ErrDenied}, {599, httpauth.ErrAuthorizer}} {
		a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: func(context.Context, *httpauth.Identity) error {
			return &httpauth.Error{Status: tt.status}
		}})
		_, err := a.Authenticate(tlsRequest(pki.Alice))
		assert.ErrorIs(t, err, tt.want, "%d", tt.status)
		assert.Equal(t, tt.status, statusOf(t, err))
	}
}

func TestRSP03_OddAuthorizerStatusesBecome500(t *testing.T) {
	pki := testpki.MustSet(t)
	for _, status := range []int{101, 200, 302, 0, -1, 600, 1000} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
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

func TestTypedNilAuthorizerErrorAnswered500(t *testing.T) {
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
					http.Error(w, err.PublicText(), err.ResponseStatus())
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

func TestAuthorizerErrorMessagesPinned(t *testing.T) {
	pki := testpki.MustSet(t)
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"*Error with reason", &httpauth.Error{Status: 429, Reason: errors.New("rate limited")}, "httpauth: access denied: rate limited"},
		{"*Error without reason", &httpauth.Error{Status: 429}, "httpauth: access denied: Too Many Requests"},
		{"wrapped *Error", fmt.Errorf("quota: %w", &httpauth.Error{Status: 503, Reason: errors.New("db down")}), "httpauth: authorizer failed: quota: db down"},
		{"plain error", errors.New("not on the list"), "httpauth: access denied: not on the list"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: func(context.Context, *httpauth.Identity) error { return tt.err }})
			_, err := a.Authenticate(tlsRequest(pki.Alice))
			assert.EqualError(t, err, tt.want)
		})
	}
}
