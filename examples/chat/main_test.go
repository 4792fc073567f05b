package main

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net"
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
	"github.com/certgate/certgate/internal/testpki"
)

// TestMain fails the run when goroutines outlive the tests: every member's
// connection must end with the test that opened it.
func TestMain(m *testing.M) {
	log.SetOutput(io.Discard) // the hub's and certgate's logs
	goleak.VerifyTestMain(m)
}

// chatPKI is a CA issuing the server's certificate and the members',
// written to the files the chat server reads.
type chatPKI struct {
	ca                *testpki.Authority
	alice, bob, carol *testpki.Leaf // carol is in OU sales, not chat
	stranger          *testpki.Leaf // OU chat, but from an unknown CA
	certFile, keyFile string
	caFile            string
}

func newChatPKI(t *testing.T) *chatPKI {
	t.Helper()
	ca, err := testpki.NewRoot(testpki.WithCN("chat CA"))
	require.NoError(t, err)
	unknown, err := testpki.NewRoot(testpki.WithCN("unknown CA"))
	require.NoError(t, err)
	p := &chatPKI{ca: ca}
	leaf := func(issuer *testpki.Authority, cn, ou string) *testpki.Leaf {
		l, err := issuer.Leaf(testpki.WithCN(cn), testpki.WithOU(ou))
		require.NoError(t, err)
		return l
	}
	p.alice, p.bob, p.carol = leaf(ca, "alice", "chat"), leaf(ca, "bob", "chat"), leaf(ca, "carol", "sales")
	p.stranger = leaf(unknown, "alice", "chat")

	server, err := ca.Server()
	require.NoError(t, err)
	key, err := server.KeyPEM()
	require.NoError(t, err)
	dir := t.TempDir()
	p.certFile, p.keyFile, p.caFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(p.certFile, server.PEM(), 0o644))
	require.NoError(t, os.WriteFile(p.keyFile, key, 0o600))
	require.NoError(t, os.WriteFile(p.caFile, ca.PEM(), 0o644))
	return p
}

// startServer runs the chat server from p's files on a loopback port and
// returns its host:port.
func startServer(t *testing.T, p *chatPKI) string {
	t.Helper()
	srv, err := newServer("", p.certFile, p.keyFile, p.caFile)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// clientTLS trusts the chat CA and presents leaf, or nothing when nil,
// whichever CAs the server names.
func clientTLS(p *chatPKI, leaf *testpki.Leaf) *tls.Config {
	cfg := &tls.Config{RootCAs: p.ca.Pool()}
	if leaf != nil {
		cert := leaf.TLSCertificate()
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	return cfg
}

// member is a test client in the room.
type member struct {
	t    *testing.T
	conn *websocket.Conn
}

func join(t *testing.T, addr string, p *chatPKI, leaf *testpki.Leaf) *member {
	t.Helper()
	d := websocket.Dialer{TLSClientConfig: clientTLS(p, leaf)}
	conn, resp, err := d.DialContext(t.Context(), "wss://"+addr+"/chat", nil)
	require.NoError(t, err)
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	return &member{t: t, conn: conn}
}

func (m *member) say(text string) {
	m.t.Helper()
	require.NoError(m.t, m.conn.WriteMessage(websocket.TextMessage, []byte(text)))
}

// expect reads the next message, which must be want.
func (m *member) expect(want string) {
	m.t.Helper()
	require.NoError(m.t, m.conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, msg, err := m.conn.ReadMessage()
	require.NoError(m.t, err, "waiting for %q", want)
	assert.Equal(m.t, want, string(msg))
}

func (m *member) leave() {
	m.t.Helper()
	bye := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	require.NoError(m.t, m.conn.WriteControl(websocket.CloseMessage, bye, time.Now().Add(5*time.Second)))
	require.NoError(m.t, m.conn.Close())
}

func TestConversation(t *testing.T) {
	p := newChatPKI(t)
	addr := startServer(t, p)

	alice := join(t, addr, p, p.alice)
	alice.expect("* alice joined")
	bob := join(t, addr, p, p.bob)
	bob.expect("* bob joined")
	alice.expect("* bob joined")

	alice.say("hi bob")
	alice.expect("alice: hi bob")
	bob.expect("alice: hi bob")
	bob.say("hi alice, nice certificate")
	bob.expect("bob: hi alice, nice certificate")
	alice.expect("bob: hi alice, nice certificate")

	bob.leave()
	alice.expect("* bob left")
	alice.leave()
}

// A member without a single common name is named by fingerprint, never
// by anything the client could choose.
func TestNickWithoutCommonName(t *testing.T) {
	p := newChatPKI(t)
	addr := startServer(t, p)
	anon, err := p.ca.Leaf(testpki.WithCN(""), testpki.WithOU("chat"))
	require.NoError(t, err)

	m := join(t, addr, p, anon)
	m.expect("* sha256:" + httpauth.Fingerprint(anon.Cert)[:16] + " joined")
	m.leave()
}

func TestJoinRefused(t *testing.T) {
	p := newChatPKI(t)
	addr := startServer(t, p)
	tests := []struct {
		name   string
		leaf   *testpki.Leaf
		status int
		body   string
	}{
		{"valid certificate of another unit", p.carol, http.StatusForbidden, "access denied"},
		{"member's name from an unknown CA", p.stranger, http.StatusUnauthorized, "client certificate signed by unknown authority"},
		{"no certificate", nil, http.StatusUnauthorized, "client certificate required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := websocket.Dialer{TLSClientConfig: clientTLS(p, tt.leaf)}
			conn, resp, err := d.DialContext(t.Context(), "wss://"+addr+"/chat", nil)
			if conn != nil {
				conn.Close()
			}
			require.ErrorIs(t, err, websocket.ErrBadHandshake)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Equal(t, tt.body, strings.TrimSpace(string(body)))
		})
	}
}

func TestWhoami(t *testing.T) {
	p := newChatPKI(t)
	addr := startServer(t, p)
	tests := []struct {
		name   string
		leaf   *testpki.Leaf // nil: no certificate
		status int
		cn     string
	}{
		{name: "member", leaf: p.alice, status: http.StatusOK, cn: "alice"},
		{name: "other member", leaf: p.bob, status: http.StatusOK, cn: "bob"},
		{name: "valid certificate of another unit", leaf: p.carol, status: http.StatusForbidden},
		{name: "member's name from an unknown CA", leaf: p.stranger, status: http.StatusUnauthorized},
		{name: "no certificate", status: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := &http.Transport{TLSClientConfig: clientTLS(p, tt.leaf)}
			t.Cleanup(tr.CloseIdleConnections)
			resp, err := (&http.Client{Transport: tr}).Get("https://" + addr + "/whoami")
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
			assert.True(t, tt.leaf.Cert.NotAfter.Equal(id.Expires), "expires %v, leaf until %v", id.Expires, tt.leaf.Cert.NotAfter)
		})
	}
}

// Mistakes in the files show up when the server is built, not on the
// first connection.
func TestNewServerChecksFiles(t *testing.T) {
	p := newChatPKI(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644))
	tests := []struct {
		name                      string
		certFile, keyFile, caFile string
	}{
		{"missing CA bundle", p.certFile, p.keyFile, filepath.Join(t.TempDir(), "absent.pem")},
		{"CA bundle without certificates", p.certFile, p.keyFile, notPEM},
		{"missing server key", p.certFile, filepath.Join(t.TempDir(), "absent.pem"), p.caFile},
		{"server key that is no PEM", p.certFile, notPEM, p.caFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newServer("", tt.certFile, tt.keyFile, tt.caFile)
			assert.Error(t, err)
		})
	}
}
