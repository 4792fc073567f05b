package main

import (
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/certgate/certgate/examples/routers/internal/check"
	"github.com/certgate/certgate/examples/routers/internal/pki"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain fails the run when a connection's goroutine outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestPerRouteTrust runs every certificate against both routes of the one
// listener: each passes only on its own route, also when it carries the
// organizational unit the other route's authorizer asks for.
func TestPerRouteTrust(t *testing.T) {
	serverCA := pki.NewCA(t, "server CA")
	devicesCA := pki.NewCA(t, "devices CA")
	adminsCA := pki.NewCA(t, "admins CA")
	srv, err := newServer(devicesCA.Pool(), adminsCA.Pool(), serverCA.Server(t))
	require.NoError(t, err)
	ts := check.Start(t, srv)
	adminURL := ts.URL + "/api/admin"
	devicesURL := "wss" + ts.URL[len("https"):] + "/ws/devices"

	thermo := devicesCA.Client(t, "thermo-1", "devices")
	alice := adminsCA.Client(t, "alice", "admins")
	deviceAsAdmin := devicesCA.Client(t, "mallory", "admins")
	adminAsDevice := adminsCA.Client(t, "mallory", "devices")
	tests := []struct {
		name          string
		cert          *tls.Certificate
		admin, device int // status on /api/admin and /ws/devices
		adminBody     string
		deviceBody    string
	}{
		{"device", &thermo, 401, 101, "unknown authority", ""},
		{"administrator", &alice, 200, 401, `"cn":"alice"`, "unknown authority"},
		{"devices CA certificate with the admins OU", &deviceAsAdmin, 401, 403, "unknown authority", "access denied"},
		{"admins CA certificate with the devices OU", &adminAsDevice, 403, 401, "access denied", "unknown authority"},
		{"no certificate", nil, 401, 401, "certificate required", "certificate required"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" on /api/admin", func(t *testing.T) {
			t.Parallel()
			status, body := check.Get(t, serverCA, tt.cert, adminURL)
			assert.Equal(t, tt.admin, status)
			assert.Contains(t, body, tt.adminBody)
		})
		t.Run(tt.name+" on /ws/devices", func(t *testing.T) {
			t.Parallel()
			conn, resp, body, err := check.Dial(t, serverCA, tt.cert, devicesURL)
			require.NotNil(t, resp, "dial: %v", err)
			assert.Equal(t, tt.device, resp.StatusCode)
			if tt.device == http.StatusSwitchingProtocols {
				require.NoError(t, err)
				check.Echo(t, conn, "hello thermo-1", "reading 21.5")
				return
			}
			assert.ErrorIs(t, err, websocket.ErrBadHandshake)
			assert.Contains(t, body, tt.deviceBody)
		})
	}
}
