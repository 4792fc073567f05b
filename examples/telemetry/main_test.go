package main

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/certgate/certgate/internal/testpki"
)

// TestMain fails the run when goroutines outlive the tests: every device's
// connection must end with the test that opened it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logBuffer collects the collector's log; the handlers write to it from
// their own goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// collector is a running collector and the CA of its devices.
type collector struct {
	ca   *testpki.Authority
	addr string
	log  *logBuffer
}

// startCollector writes a CA and a server certificate to files, builds
// the collector from them and serves it on a loopback port.
func startCollector(t *testing.T) *collector {
	t.Helper()
	ca, err := testpki.NewRoot(testpki.WithCN("telemetry CA"))
	require.NoError(t, err)
	server, err := ca.Server()
	require.NoError(t, err)
	key, err := server.KeyPEM()
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o600))
		return path
	}
	certFile, keyFile, caFile := write("server.pem", server.PEM()), write("server-key.pem", key), write("ca.pem", ca.PEM())

	c := &collector{ca: ca, log: &logBuffer{}}
	srv, err := newServer("", certFile, keyFile, caFile, "spiffe://example.org", slog.New(slog.NewTextHandler(c.log, nil)))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	c.addr = ln.Addr().String()
	return c
}

// dial connects as the holder of leaf.
func (c *collector) dial(t *testing.T, leaf *testpki.Leaf) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	cert := leaf.TLSCertificate()
	tr := &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: c.ca.Pool(),
		// Send the certificate whatever CAs the server names.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
	}}
	// After the upgrade the connection no longer belongs to the transport.
	defer tr.CloseIdleConnections()
	conn, resp, err := websocket.Dial(t.Context(), "wss://"+c.addr+"/telemetry",
		&websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if conn != nil {
		t.Cleanup(func() { conn.CloseNow() })
	}
	return conn, resp, err
}

func device(t *testing.T, issuer *testpki.Authority, uris ...string) *testpki.Leaf {
	t.Helper()
	leaf, err := issuer.Leaf(testpki.WithCN(""), testpki.WithURI(uris...))
	require.NoError(t, err)
	return leaf
}

// Each reading is acknowledged and logged under the device ID from the
// certificate.
func TestReadingsAreLoggedByDevice(t *testing.T) {
	c := startCollector(t)
	for _, d := range []struct {
		id       string
		readings []float64
	}{
		{"thermo-1", []float64{21.5, 21.7, 22.0}},
		{"thermo-2", []float64{19.0, 18.8}},
	} {
		conn, _, err := c.dial(t, device(t, c.ca, "spiffe://example.org/device/"+d.id))
		require.NoError(t, err)
		for i, celsius := range d.readings {
			require.NoError(t, wsjson.Write(t.Context(), conn, reading{Seq: i + 1, Celsius: celsius}))
			var a ack
			require.NoError(t, wsjson.Read(t.Context(), conn, &a))
			assert.Equal(t, i+1, a.Seq)
		}
		require.NoError(t, conn.Close(websocket.StatusNormalClosure, "done"))
	}

	logged := c.log.String()
	for _, want := range []string{
		"msg=reading device=thermo-1 seq=1 celsius=21.5",
		"msg=reading device=thermo-1 seq=3 celsius=22",
		"msg=reading device=thermo-2 seq=2 celsius=18.8",
	} {
		assert.Contains(t, logged, want)
	}
	assert.NotContains(t, logged, "level=WARN", "devices that close normally are not warned about")
}

// TestWhoMayConnect runs certificates with different SPIFFE IDs against
// the collector: only devices of example.org get through.
func TestWhoMayConnect(t *testing.T) {
	c := startCollector(t)
	other, err := testpki.NewRoot(testpki.WithCN("other trust domain CA"))
	require.NoError(t, err)
	tests := []struct {
		name   string
		issuer *testpki.Authority
		uris   []string
		status int
	}{
		{"device of the trust domain", c.ca, []string{"spiffe://example.org/device/pump-3"}, http.StatusSwitchingProtocols},
		{"device of another trust domain", c.ca, []string{"spiffe://evil.example/device/pump-3"}, http.StatusForbidden},
		{"workload of the trust domain that is no device", c.ca, []string{"spiffe://example.org/service/billing"}, http.StatusForbidden},
		{"nested path below device", c.ca, []string{"spiffe://example.org/device/pump-3/extra"}, http.StatusForbidden},
		{"bare device prefix", c.ca, []string{"spiffe://example.org/device/"}, http.StatusForbidden},
		{"two URI SANs", c.ca, []string{"spiffe://example.org/device/a", "spiffe://example.org/device/b"}, http.StatusForbidden},
		{"no SPIFFE ID", c.ca, []string{"https://example.org/device/pump-3"}, http.StatusForbidden},
		{"device ID from an unknown CA", other, []string{"spiffe://example.org/device/pump-3"}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, resp, err := c.dial(t, device(t, tt.issuer, tt.uris...))
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
	// Parallel subtests end before the cleanup runs.
	t.Cleanup(func() {
		assert.Contains(t, c.log.String(), "SPIFFE ID does not name a device", "refusals are logged with their reason")
	})
}

func TestDeviceID(t *testing.T) {
	t.Parallel()
	ca, err := testpki.NewRoot()
	require.NoError(t, err)
	tests := []struct {
		name string
		uris []string
		id   string
		ok   bool
	}{
		{"device", []string{"spiffe://example.org/device/thermo-1"}, "thermo-1", true},
		{"no URI SAN", nil, "", false},
		{"service", []string{"spiffe://example.org/service/billing"}, "", false},
		{"device path with a subpath", []string{"spiffe://example.org/device/a/b"}, "", false},
		{"not spiffe", []string{"https://example.org/device/thermo-1"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			leaf, err := ca.Leaf(testpki.WithURI(tt.uris...))
			require.NoError(t, err)
			id, ok := deviceID(leaf.Cert)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.id, id)
		})
	}
}
