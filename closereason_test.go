package certgate_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"github.com/stretchr/testify/assert"
)

// The close reason is a fixed text per kind of cause, never the cause's
// own text, and fits a close frame.
func TestCloseReason(t *testing.T) {
	t.Parallel()
	wrap := func(reason error) error {
		return &httpauth.Error{Status: http.StatusUnauthorized, Reason: fmt.Errorf("%w: certificate sha256:abcd <script>", reason)}
	}
	tests := []struct {
		cause error
		want  string
	}{
		{wrap(httpauth.ErrExpired), "certificate expired"},
		{certgate.ErrCertificateExpired, "certificate expired"},
		{wrap(httpauth.ErrRevoked), "certificate revoked"},
		{wrap(httpauth.ErrUnknownAuthority), "issuer no longer trusted"},
		{wrap(httpauth.ErrRevocationUnknown), "revocation status unknown"},
		{&httpauth.Error{Status: http.StatusForbidden, Reason: errors.New("not on the list")}, "access no longer allowed"},
		{&httpauth.Error{Status: http.StatusServiceUnavailable, Reason: httpauth.ErrAuthorizer}, "certificate no longer accepted"},
		{context.Canceled, "certificate no longer accepted"},
		{nil, "certificate no longer accepted"},
	}
	for _, tt := range tests {
		got := certgate.CloseReason(tt.cause)
		assert.Equal(t, tt.want, got, "%v", tt.cause)
		assert.LessOrEqual(t, len(got), 123)
	}
}
