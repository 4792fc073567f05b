package certgate

import (
	"errors"
	"net/http"

	"github.com/certgate/certgate/httpauth"
)

// CloseReason returns the short text a WebSocket close frame carries when
// trust in a live connection's certificate ends with cause (the cause of
// its context, see [Handler]): "certificate expired", "certificate
// revoked", "issuer no longer trusted", "revocation status unknown",
// "access no longer allowed", or "certificate no longer accepted" for
// any other reason. The text is fixed, never from the certificate, and
// well under the 123 bytes a close frame allows.
func CloseReason(cause error) string {
	switch {
	case errors.Is(cause, httpauth.ErrExpired):
		return "certificate expired"
	case errors.Is(cause, httpauth.ErrRevoked):
		return "certificate revoked"
	case errors.Is(cause, httpauth.ErrUnknownAuthority):
		return "issuer no longer trusted"
	case errors.Is(cause, httpauth.ErrRevocationUnknown):
		return "revocation status unknown"
	}
	var e *httpauth.Error
	if errors.As(cause, &e) && e != nil && e.ResponseStatus() == http.StatusForbidden {
		return "access no longer allowed"
	}
	return "certificate no longer accepted"
}
