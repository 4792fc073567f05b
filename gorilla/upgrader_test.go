package gorilla_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// upgradeFunc is one of the Upgrader's two forms, reduced to what the
// tests compare.
type upgradeFunc func(u *gorilla.Upgrader, w http.ResponseWriter, r *http.Request) (*websocket.Conn, error)

var forms = []struct {
	name    string
	upgrade upgradeFunc
}{
	{"Upgrade", func(u *gorilla.Upgrader, w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
		return u.Upgrade(w, r, nil)
	}},
	{"UpgradeWithIdentity", func(u *gorilla.Upgrader, w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
		conn, _, err := u.UpgradeWithIdentity(w, r, nil)
		return conn, err
	}},
}

// serveUpgrades answers each request with upgrade, reports its error
// and closes the connection, if it got one.
func serveUpgrades(t *testing.T, set *testpki.Set, upgrade func(http.ResponseWriter, *http.Request) (*websocket.Conn, error)) (*httptest.Server, <-chan error) {
	t.Helper()
	errs := make(chan error, 1)
	srv := wstest.NewTLSServer(t, set, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrade(w, r)
		errs <- err
		if conn != nil {
			conn.Close()
		}
	}), false)
	return srv, errs
}

// Both forms gate, and the websocket.Upgrader's CheckOrigin sees the
// identity that passed. The suite covers UpgradeWithIdentity's identity
// and refusals in full.
func TestUpgraderForms(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			origins := make(chan *httpauth.Identity, 1)
			u := gorilla.NewUpgrader(wstest.TLSAuth(t, set), &websocket.Upgrader{CheckOrigin: func(r *http.Request) bool {
				id, _ := httpauth.FromContext(r.Context())
				origins <- id
				return true
			}})
			srv, errs := serveUpgrades(t, set, func(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
				return f.upgrade(u, w, r)
			})

			_, resp, err := adapter.DialAs(t, srv, set, set.Alice, nil)
			require.NoError(t, err)
			assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
			origin := wstest.Receive(t, origins)
			require.NotNil(t, origin, "CheckOrigin sees the identity")
			assert.Equal(t, "alice", origin.Certificate.Subject.CommonName)
			assert.NoError(t, wstest.Receive(t, errs))

			assert.Equal(t, wstest.Refusal(403, "access denied"), wstest.RawRefusal(t, srv, set, set.Bob))
			assert.Empty(t, origins, "no upgrade for a refused client")
		})
	}
}

// The two-value Upgrade reports a refusal as gorilla reports a failed
// upgrade: a nil conn and an error, here wrapping the *httpauth.Error.
// The zero Upgrader refuses everyone.
func TestUpgraderRefuses(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)

	tests := []struct {
		name   string
		u      *gorilla.Upgrader
		leaf   *testpki.Leaf
		status int
		body   string
	}{
		{"denied CN", gorilla.NewUpgrader(wstest.TLSAuth(t, set), nil), set.Bob, 403, "access denied"},
		{"no certificate", gorilla.NewUpgrader(wstest.TLSAuth(t, set), nil), nil, 401, "client certificate required"},
		{"zero Upgrader", &gorilla.Upgrader{}, set.Alice, 500, "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, errs := serveUpgrades(t, set, func(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
				conn, err := tt.u.Upgrade(w, r, nil)
				assert.Nil(t, conn)
				return conn, err
			})

			assert.Equal(t, wstest.Refusal(tt.status, tt.body), wstest.RawRefusal(t, srv, set, tt.leaf))
			var e *httpauth.Error
			require.ErrorAs(t, wstest.Receive(t, errs), &e)
			assert.Equal(t, tt.status, e.ResponseStatus())
		})
	}
}

// NewUpgrader copies the websocket.Upgrader: a CheckOrigin set afterwards
// on the original does not reach the upgrade.
func TestNewUpgraderCopies(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	opts := &websocket.Upgrader{}
	u := gorilla.NewUpgrader(wstest.TLSAuth(t, set), opts)
	opts.CheckOrigin = func(*http.Request) bool { return false }
	srv, errs := serveUpgrades(t, set, func(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
		return u.Upgrade(w, r, nil)
	})

	_, resp, err := adapter.DialAs(t, srv, set, set.Alice, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.NoError(t, wstest.Receive(t, errs))
}
