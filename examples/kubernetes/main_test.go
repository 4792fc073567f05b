package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/certgate/certgate/internal/testpki"
)

// TestMain fails the run when goroutines outlive the tests: run must end
// every connection it served when its context ends.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clusterPKI is one CA that issues the clients directly, as in the
// README's recipe, and the files a Deployment would mount.
type clusterPKI struct {
	ca                           *testpki.Authority
	server, alice, carol, mallet *testpki.Leaf // mallet is on the CRL
	files                        config
}

func newClusterPKI(t *testing.T) *clusterPKI {
	t.Helper()
	ca, err := testpki.NewRoot(testpki.WithCN("clients CA"))
	require.NoError(t, err)
	p := &clusterPKI{ca: ca}
	p.server, err = ca.Server()
	require.NoError(t, err)
	p.alice, err = ca.Leaf(testpki.WithCN("alice"))
	require.NoError(t, err)
	p.carol, err = ca.Leaf(testpki.WithCN("carol"))
	require.NoError(t, err)
	p.mallet, err = ca.Leaf(testpki.WithCN("mallet"))
	require.NoError(t, err)

	dir := t.TempDir()
	file := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o600))
		return path
	}
	key, err := p.server.KeyPEM()
	require.NoError(t, err)
	crl, err := ca.CRL(1, p.mallet)
	require.NoError(t, err)
	p.files = config{
		caPath:   file("ca.pem", ca.PEM()),
		crlPath:  file("crl.pem", crl),
		certPath: file("tls.crt", p.server.ChainPEM()),
		keyPath:  file("tls.key", key),
		reload:   "1s",
	}
	return p
}

// listenLog is run's log: it hands over the address of the "listening"
// record.
type listenLog struct {
	once sync.Once
	addr chan string
}

func (l *listenLog) Write(p []byte) (int, error) {
	var rec struct{ Msg, Addr string }
	if json.Unmarshal(p, &rec) == nil && rec.Msg == "listening" {
		l.once.Do(func() { l.addr <- rec.Addr })
	}
	return len(p), nil
}

// start runs the server for c until ctx or the test ends, and returns its
// address.
func start(t *testing.T, ctx context.Context, c config) string {
	t.Helper()
	c.addr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(ctx)
	logs := &listenLog{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, c, slog.New(slog.NewJSONHandler(logs, nil)))
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	select {
	case addr := <-logs.addr:
		return addr
	case err := <-done:
		require.FailNow(t, "run ended before listening", "%v", err)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "run did not log its address")
	}
	return ""
}

func (p *clusterPKI) dialer(leaf *testpki.Leaf) *websocket.Dialer {
	cfg := &tls.Config{RootCAs: p.ca.Pool()}
	if leaf != nil {
		cfg.Certificates = []tls.Certificate{leaf.TLSCertificate()}
	}
	return &websocket.Dialer{TLSClientConfig: cfg, HandshakeTimeout: 10 * time.Second}
}

// refusal dials and returns the refusal's status and body.
func refusal(t *testing.T, d *websocket.Dialer, url string, h http.Header) (int, string) {
	t.Helper()
	conn, resp, err := d.DialContext(t.Context(), url, h)
	if conn != nil {
		conn.Close()
	}
	require.ErrorIs(t, err, websocket.ErrBadHandshake)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

func TestPassthrough(t *testing.T) {
	p := newClusterPKI(t)
	c := p.files
	c.mode = "passthrough"
	addr := start(t, t.Context(), c)
	url := "wss://" + addr + "/ws"

	t.Run("echo", func(t *testing.T) {
		conn, _, err := p.dialer(p.alice).DialContext(t.Context(), url, nil)
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte("hello")))
		_, msg, err := conn.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, "hello", string(msg))
	})
	t.Run("revoked client", func(t *testing.T) {
		status, body := refusal(t, p.dialer(p.mallet), url, nil)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, "client certificate revoked", body)
	})
	t.Run("no certificate", func(t *testing.T) {
		status, body := refusal(t, p.dialer(nil), url, nil)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, "client certificate required", body)
	})
	t.Run("probe without certificate", func(t *testing.T) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.ca.Pool()}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + addr + "/healthz")
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

// When the pod is told to stop, run tells live clients to go elsewhere
// (1001) before it returns.
func TestShutdownClosesLiveConnections(t *testing.T) {
	p := newClusterPKI(t)
	c := p.files
	c.mode = "passthrough"
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addr := start(t, ctx, c)
	conn, _, err := p.dialer(p.alice).DialContext(t.Context(), "wss://"+addr+"/ws", nil)
	require.NoError(t, err)
	defer conn.Close()

	cancel()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, _, err = conn.ReadMessage()
	assert.True(t, websocket.IsCloseError(err, websocket.CloseGoingAway), "got %v", err)
}

// Behind ingress-nginx the certificate comes in ssl-client-cert, and only
// from the controller's address.
func TestIngress(t *testing.T) {
	p := newClusterPKI(t)
	c := p.files
	c.mode, c.proxies = "ingress", "127.0.0.1/32"
	addr := start(t, t.Context(), c)
	nginx := func(leaf *testpki.Leaf) http.Header {
		return http.Header{
			"Ssl-Client-Cert":   {url.PathEscape(string(leaf.PEM()))},
			"Ssl-Client-Verify": {"SUCCESS"},
		}
	}

	conn, _, err := websocket.DefaultDialer.DialContext(t.Context(), "ws://"+addr+"/ws", nginx(p.alice))
	require.NoError(t, err)
	require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte("hi")))
	_, msg, err := conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "hi", string(msg))
	conn.Close()

	tests := []struct {
		name, from string
		header     http.Header
		body       string
	}{
		{"revoked client", "127.0.0.1", nginx(p.mallet), "client certificate revoked"},
		{"header from a pod other than the controller", "127.0.0.2", nginx(p.alice), "client certificate required"},
		{"controller could not verify", "127.0.0.1", http.Header{"Ssl-Client-Verify": {"NONE"}}, "client certificate required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &websocket.Dialer{NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tt.from)}}).DialContext}
			status, body := refusal(t, d, "ws://"+addr+"/ws", tt.header)
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Equal(t, tt.body, body)
		})
	}
}

func TestNewServerChecksConfiguration(t *testing.T) {
	p := newClusterPKI(t)
	absent := filepath.Join(t.TempDir(), "absent")
	tests := []struct {
		name   string
		change func(*config)
	}{
		{"unknown mode", func(c *config) { c.mode = "sidecar" }},
		{"ingress without trusted proxies", func(c *config) { c.mode = "ingress" }},
		{"proxy address without prefix length", func(c *config) { c.mode, c.proxies = "ingress", "10.0.0.5" }},
		{"reload interval without unit", func(c *config) { c.reload = "10" }},
		{"missing CA bundle", func(c *config) { c.caPath = absent }},
		{"missing CRL", func(c *config) { c.crlPath = absent }},
		{"missing server key", func(c *config) { c.keyPath = absent }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := p.files
			c.mode = "passthrough"
			tt.change(&c)
			_, err := newServer(c, slog.New(slog.DiscardHandler), new(sync.WaitGroup))
			assert.Error(t, err)
		})
	}
}

// A CRL written while a client is connected ends its connection with 1008
// and the reason, and leaves the others open.
func TestRevokedWhileConnected(t *testing.T) {
	p := newClusterPKI(t)
	c := p.files
	c.mode, c.reload = "passthrough", "100ms"
	addr := start(t, t.Context(), c)
	dial := func(leaf *testpki.Leaf) *websocket.Conn {
		conn, _, err := p.dialer(leaf).DialContext(t.Context(), "wss://"+addr+"/ws", nil)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	alice, carol := dial(p.alice), dial(p.carol)

	crl, err := p.ca.CRL(2, p.mallet, p.alice)
	require.NoError(t, err)
	tmp := p.files.crlPath + ".tmp"
	require.NoError(t, os.WriteFile(tmp, crl, 0o600))
	require.NoError(t, os.Rename(tmp, p.files.crlPath))

	require.NoError(t, alice.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, _, err = alice.ReadMessage()
	var ce *websocket.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, websocket.ClosePolicyViolation, ce.Code)
	assert.Equal(t, "certificate revoked", ce.Text)

	require.NoError(t, carol.WriteMessage(websocket.TextMessage, []byte("still here")))
	require.NoError(t, carol.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, msg, err := carol.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "still here", string(msg))
}

// Every environment variable deployment.yaml sets is one main reads.
func TestDeploymentSetsKnownVariables(t *testing.T) {
	manifest, err := os.ReadFile("deployment.yaml")
	require.NoError(t, err)
	source, err := os.ReadFile("main.go")
	require.NoError(t, err)
	names := regexp.MustCompile(`(?m)^\s*- name: ([A-Z_]+)$`).FindAllSubmatch(manifest, -1)
	require.NotEmpty(t, names)
	for _, m := range names {
		assert.Contains(t, string(source), `"`+string(m[1])+`"`, "deployment.yaml sets %s", m[1])
	}
}
