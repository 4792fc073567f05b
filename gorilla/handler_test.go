package gorilla_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Upgrader passed to Handler is used, and its CheckOrigin sees the
// identity that passed the gate.
func TestHandlerUsesUpgrader(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	seen := make(chan string, 1)
	u := &websocket.Upgrader{CheckOrigin: func(r *http.Request) bool {
		id, ok := httpauth.FromContext(r.Context())
		if ok {
			seen <- id.Certificate.Subject.CommonName
		}
		return false
	}}
	h := gorilla.Handler(wstest.TLSAuth(t, set), u, func(context.Context, *websocket.Conn, *httpauth.Identity) {})
	srv := wstest.NewTLSServer(t, set, h, false)

	conn, resp, err := adapter.DialAs(t, srv, set, set.Alice, nil)
	assert.ErrorIs(t, err, websocket.ErrBadHandshake)
	assert.Nil(t, conn)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "alice", wstest.Receive(t, seen))
}
