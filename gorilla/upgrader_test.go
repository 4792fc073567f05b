package gorilla_test

import (
	"net/http"
	"testing"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// upgraded is what an Upgrade call returned on the server.
type upgraded struct {
	id     *httpauth.Identity
	err    error
	origin *httpauth.Identity // what CheckOrigin found in the context
}

func TestUpgrader(t *testing.T) {
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
		{"nil Auth", nil, set.Alice, 500, "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			results := make(chan upgraded, 2)
			u := &gorilla.Upgrader{Auth: tt.auth}
			u.CheckOrigin = func(r *http.Request) bool {
				id, _ := httpauth.FromContext(r.Context())
				results <- upgraded{origin: id}
				return true
			}
			srv := wstest.NewTLSServer(t, set, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, id, err := u.Upgrade(w, r, nil)
				results <- upgraded{id: id, err: err}
				if err == nil {
					conn.Close()
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
			_, resp, err := dial(t, srv, set, tt.leaf, nil)
			require.NoError(t, err)
			assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
			origin := wstest.Receive(t, results)
			require.NotNil(t, origin.origin, "CheckOrigin sees the identity")
			assert.Equal(t, "alice", origin.origin.Certificate.Subject.CommonName)
			got := wstest.Receive(t, results)
			assert.NoError(t, got.err)
			require.NotNil(t, got.id)
			assert.Equal(t, "alice", got.id.Certificate.Subject.CommonName)
		})
	}
}
