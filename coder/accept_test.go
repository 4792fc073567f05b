package coder_test

import (
	"net/http"
	"testing"

	"github.com/certgate/certgate/coder"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// accepted is what an Accept call returned on the server, and the
// identity the upgrade saw in the request context.
type accepted struct {
	id  *httpauth.Identity
	err error
}

func TestAccept(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)

	tests := []struct {
		name   string
		auth   *httpauth.Authenticator
		leaf   *testpki.Leaf
		status int // of the refusal; 0 when accepted
		body   string
	}{
		{"accepted", wstest.TLSAuth(t, set), set.Alice, 0, ""},
		{"denied CN", wstest.TLSAuth(t, set), set.Bob, 403, "access denied"},
		{"unknown CA", wstest.TLSAuth(t, set), set.Stranger, 401, "client certificate signed by unknown authority"},
		{"nil Authenticator", nil, set.Alice, 500, "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			results := make(chan accepted, 1)
			srv := wstest.NewTLSServer(t, set, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, id, err := coder.Accept(w, r, tt.auth, nil)
				results <- accepted{id, err}
				if err == nil {
					conn.CloseNow()
				}
			}), false)

			if tt.status != 0 {
				assert.Equal(t, wstest.Refusal(tt.status, tt.body), wstest.RawRefusal(t, srv, set, tt.leaf))
				got := wstest.Receive(t, results)
				var e *httpauth.Error
				require.ErrorAs(t, got.err, &e)
				assert.Equal(t, tt.status, e.ResponseStatus())
				return
			}
			conn, resp, err := dial(t, srv, set, tt.leaf, nil)
			require.NoError(t, err)
			assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
			got := wstest.Receive(t, results)
			assert.NoError(t, got.err)
			require.NotNil(t, got.id)
			assert.Equal(t, "alice", got.id.Certificate.Subject.CommonName)
			_, _, err = conn.Read(t.Context())
			assert.Error(t, err, "the server closed it")
		})
	}
}
