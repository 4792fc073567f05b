package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/demoserver"
	"github.com/certgate/certgate/internal/testpki"
)

// TestMain fails the run when goroutines outlive the tests: every server
// and connection the demo opens must be closed again.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRunPrintsConversation(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(nil, &out))

	want := []string{
		`alice -> joins`,
		`alice <- \* alice joined`,
		`bob   -> joins`,
		`bob   <- \* bob joined`,
		`alice <- \* bob joined`,
		`alice -> hi bob`,
		`alice <- alice: hi bob`,
		`bob   <- alice: hi bob`,
		`bob   -> hi alice, nice certificate`,
		`bob   <- bob: hi alice, nice certificate`,
		`alice <- bob: hi alice, nice certificate`,
		`alice GET /whoami: 200 cn=alice fingerprint=[0-9a-f]{16}…`,
		`bob   -> leaves`,
		`alice <- \* bob left`,
		`alice -> leaves`,
		`carol -> joins: refused, 403 access denied`,
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	require.Len(t, lines, len(want), out.String())
	for i, w := range want {
		assert.Regexp(t, "^"+w+"$", lines[i])
	}
}

// startTestServer runs the chat server for one test.
func startTestServer(t *testing.T) (*pki, *demoserver.Server) {
	t.Helper()
	p, err := newPKI()
	require.NoError(t, err)
	s, err := newServer(p, "127.0.0.1:0", nil)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return p, s
}

func TestWhoami(t *testing.T) {
	p, s := startTestServer(t)
	tests := []struct {
		name   string
		leaf   *testpki.Leaf // nil: no certificate
		status int
		cn     string
	}{
		{name: "member", leaf: p.alice, status: http.StatusOK, cn: "alice"},
		{name: "other member", leaf: p.bob, status: http.StatusOK, cn: "bob"},
		{name: "valid certificate of another unit", leaf: p.carol, status: http.StatusForbidden},
		{name: "no certificate", status: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tlsConfig := clientTLS(p.ca.Pool(), tt.leaf)
			if tt.leaf == nil {
				tlsConfig.GetClientCertificate = nil
			}
			tr := &http.Transport{TLSClientConfig: tlsConfig}
			t.Cleanup(tr.CloseIdleConnections)
			resp, err := (&http.Client{Transport: tr}).Get(s.URL + "/whoami")
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, tt.status, resp.StatusCode)
			if tt.status != http.StatusOK {
				return
			}
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			var id identity
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&id))
			assert.Equal(t, tt.cn, id.CN)
			assert.Equal(t, httpauth.Fingerprint(tt.leaf.Cert), id.Fingerprint)
			assert.True(t, tt.leaf.Cert.NotAfter.Equal(id.Expires))
		})
	}
}

// A client without a certificate is refused before the upgrade, with the
// status on the wire.
func TestChatRefusesClientWithoutCertificate(t *testing.T) {
	p, s := startTestServer(t)
	tlsConfig := clientTLS(p.ca.Pool(), p.alice)
	tlsConfig.GetClientCertificate = nil
	d := websocket.Dialer{TLSClientConfig: tlsConfig}
	conn, resp, err := d.DialContext(t.Context(), wsURL(s.URL), nil)
	if conn != nil {
		conn.Close()
	}
	require.ErrorIs(t, err, websocket.ErrBadHandshake)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

// Close must end open members' connections, which http.Server.Close alone
// would not do once they are hijacked, and tell them why.
func TestCloseEndsOpenConnections(t *testing.T) {
	p, s := startTestServer(t)
	var out bytes.Buffer
	alice, err := join(t.Context(), s.URL, p.ca.Pool(), "alice", p.alice, &out)
	require.NoError(t, err)
	defer alice.close()
	require.NoError(t, alice.expect("* alice joined"))

	require.NoError(t, s.Close())
	require.NoError(t, alice.conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, _, err = alice.conn.ReadMessage()
	assert.True(t, websocket.IsCloseError(err, websocket.CloseGoingAway), "got %v", err)
}

func TestServe(t *testing.T) {
	p, err := newPKI()
	require.NoError(t, err)
	dir := t.TempDir()
	var out bytes.Buffer
	s, err := startServe(p, "127.0.0.1:0", dir, &out)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })

	// The written files are enough to log in.
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	require.NoError(t, err)
	for _, name := range []string{"alice", "bob", "carol"} {
		_, err := os.Stat(filepath.Join(dir, name+"-key.pem"))
		require.NoError(t, err, name)
	}
	assert.Equal(t, p.ca.PEM(), caPEM)

	require.NoError(t, s.Close())
	printed := out.String()
	host := strings.TrimPrefix(s.URL, "https://")
	assert.Contains(t, printed, "wss://"+host+"/chat")
	assert.Contains(t, printed, "https://"+host+"/whoami")
	assert.Contains(t, printed, "--cert "+filepath.Join(dir, "alice.pem"))
	assert.Contains(t, printed, "--client-pkcs12-der "+filepath.Join(dir, "bob.p12"))
}
