package httpauth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/certgate/certgate/httpauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNilErrorIsSafe(t *testing.T) {
	var e *httpauth.Error
	assert.NotPanics(t, func() {
		assert.Equal(t, "httpauth: nil *httpauth.Error", e.Error())
		assert.NoError(t, e.Unwrap())
		assert.Equal(t, "Internal Server Error", e.PublicText())
		assert.Equal(t, http.StatusInternalServerError, e.ResponseStatus())
		assert.NotErrorIs(t, e, httpauth.ErrDenied)
	})

	// WriteError with an error holding a nil *Error answers 500.
	a := mustNew(t, httpauth.Config{})
	for name, err := range map[string]error{"bare": e, "wrapped": fmt.Errorf("ctx: %w", e)} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			require.NotPanics(t, func() { a.WriteError(w, httptest.NewRequest(http.MethodGet, "/", nil), err) })
			assert.Equal(t, http.StatusInternalServerError, w.Code)
			assert.Equal(t, "Internal Server Error\n", w.Body.String())
		})
	}
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
	assert.True(t, utf8.ValidString(got))
	assert.Equal(t, "httpauth: Forbidden", (&httpauth.Error{Status: 403}).Error())
	assert.Equal(t, "Internal Server Error", (&httpauth.Error{}).PublicText())
}

func TestResponseStatusEdges(t *testing.T) {
	for status, want := range map[int]int{399: 500, 400: 400, 599: 599, 600: 500} {
		assert.Equal(t, want, (&httpauth.Error{Status: status}).ResponseStatus(), "%d", status)
	}
	assert.Equal(t, http.StatusText(http.StatusForbidden), (&httpauth.Error{Status: 403}).PublicText())
}
