package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/certgate/certgate/internal/testpki"
)

// TestMain fails the run when goroutines outlive the tests: every server
// and connection the demo opens must be closed again.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRunLogsReadingsByDevice(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(nil, &out))

	want := []string{
		`device spiffe://example.org/device/thermo-1: connected`,
		`level=INFO msg=reading device=thermo-1 seq=1 celsius=21.5`,
		`level=INFO msg=reading device=thermo-1 seq=2 celsius=21.7`,
		`level=INFO msg=reading device=thermo-1 seq=3 celsius=22`,
		`device spiffe://example.org/device/thermo-1: 3 readings acknowledged`,
		`device spiffe://example.org/device/thermo-2: connected`,
		`level=INFO msg=reading device=thermo-2 seq=1 celsius=19`,
		`level=INFO msg=reading device=thermo-2 seq=2 celsius=18.8`,
		`device spiffe://example.org/device/thermo-2: 2 readings acknowledged`,
		`level=WARN msg="httpauth: request refused" status=403 reason="httpauth: access denied: SPIFFE ID spiffe://evil.example/device/thermo-1 not allowed" ` +
			`remote_addr=127.0.0.1:\d+ fingerprint=[0-9a-f]{64} serial=[0-9a-f]+`,
		`device spiffe://evil.example/device/thermo-1: refused, 403 access denied`,
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	require.Len(t, lines, len(want), out.String())
	for i, w := range want {
		if strings.ContainsAny(w, `\[`) {
			assert.Regexp(t, "^"+w+"$", lines[i])
		} else {
			assert.Equal(t, w, lines[i])
		}
	}
}

// TestWhoMayConnect runs certificates with different SPIFFE IDs against
// the server: only devices of example.org get through.
func TestWhoMayConnect(t *testing.T) {
	ca, err := testpki.NewRoot()
	require.NoError(t, err)
	other, err := testpki.NewRoot(testpki.WithCN("other trust domain CA"))
	require.NoError(t, err)
	s, err := newServer(ca, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })

	tests := []struct {
		name   string
		issuer *testpki.Authority
		uris   []string
		status int
	}{
		{"device of the trust domain", ca, []string{"spiffe://example.org/device/pump-3"}, http.StatusSwitchingProtocols},
		{"device of another trust domain", ca, []string{"spiffe://evil.example/device/pump-3"}, http.StatusForbidden},
		{"workload of the trust domain that is no device", ca, []string{"spiffe://example.org/service/billing"}, http.StatusForbidden},
		{"nested path below device", ca, []string{"spiffe://example.org/device/pump-3/extra"}, http.StatusForbidden},
		{"bare device prefix", ca, []string{"spiffe://example.org/device/"}, http.StatusForbidden},
		{"two URI SANs", ca, []string{"spiffe://example.org/device/a", "spiffe://example.org/device/b"}, http.StatusForbidden},
		{"no SPIFFE ID", ca, []string{"https://example.org/device/pump-3"}, http.StatusForbidden},
		{"device ID from an unknown CA", other, []string{"spiffe://example.org/device/pump-3"}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			leaf, err := tt.issuer.Leaf(testpki.WithCN(""), testpki.WithURI(tt.uris...))
			require.NoError(t, err)
			d := &device{leaf: leaf}
			conn, resp, err := d.dial(t.Context(), ca.Pool(), s.URL)
			if conn != nil {
				defer conn.CloseNow()
			}
			require.NotNil(t, resp, "dial: %v", err)
			if resp.Body != nil {
				defer resp.Body.Close()
			}
			assert.Equal(t, tt.status, resp.StatusCode)
			if tt.status == http.StatusSwitchingProtocols {
				require.NoError(t, err)
				assert.NoError(t, conn.Close(websocket.StatusNormalClosure, ""))
			}
		})
	}
}

func TestDeviceID(t *testing.T) {
	t.Parallel()
	ca, err := testpki.NewRoot()
	require.NoError(t, err)
	leaf, err := ca.Leaf(testpki.WithURI("spiffe://example.org/device/thermo-1"))
	require.NoError(t, err)
	id, ok := deviceID(leaf.Cert)
	assert.True(t, ok)
	assert.Equal(t, "thermo-1", id)

	noURI, err := ca.Leaf()
	require.NoError(t, err)
	_, ok = deviceID(noURI.Cert)
	assert.False(t, ok)
}
