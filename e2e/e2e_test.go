//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
)

// gateTimeout bounds every request, handshake and read of this file.
const gateTimeout = 10 * time.Second

// directAddr is where a client that bypasses the proxies connects from:
// outside every TrustedProxies of this file, on loopback.
const directAddr = "127.0.0.3"

// Shapes of a certificate header value, as testdata/proxies/README.md
// names them.
const (
	shapeEscapedPEM = "percent-escaped PEM"
	shapeBase64DER  = "base64 DER"
	shapeSpacedPEM  = "space-folded PEM"
)

// gateProxy is one proxy in front of a certgate backend.
type gateProxy struct {
	name   string
	start  func(testing.TB, Options) *Proxy
	preset string
	// leafOnly proxies forward no intermediates, so the backend must
	// trust the intermediate that issues the clients as a root.
	leafOnly bool
	// encode writes a certificate exactly as this proxy does, to check
	// what it sent and to forge headers a backend cannot tell apart.
	encode func(*x509.Certificate) string
	shape  string
	// expiredOptional is how the optional mode treats an expired
	// certificate: nginx's and Apache's optional_no_ca forgive only an
	// unknown issuer, so they still refuse it themselves.
	expiredOptional refusedBy
}

// refusedBy says who refuses a client.
type refusedBy int

const (
	byCertgate refusedBy = iota // the backend answers 401
	byProxy                     // a failed handshake or the proxy's own 4xx
)

var gateProxies = []gateProxy{
	{name: "nginx", start: StartNginx, preset: httpauth.PresetNginx, leafOnly: true, encode: nginxEscaped, shape: shapeEscapedPEM, expiredOptional: byProxy},
	{name: "haproxy", start: StartHAProxy, preset: httpauth.PresetHAProxy, encode: base64DER, shape: shapeBase64DER},
	{name: "caddy", start: StartCaddy, preset: httpauth.PresetCaddy, leafOnly: true, encode: base64DER, shape: shapeBase64DER},
	{name: "apache", start: StartApache, preset: httpauth.PresetApache, encode: spacedPEM, shape: shapeSpacedPEM, expiredOptional: byProxy},
}

// TestBehindProxies puts a certgate-protected backend (REST through
// Authenticator.Middleware, WebSocket through the gorilla adapter) behind
// each real proxy and checks who gets in: alice through the proxy, but
// not bob, unknown, forged or expired certificates, nor anyone who writes
// the certificate headers himself, through the proxy or around it.
func TestBehindProxies(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })

	for _, gp := range gateProxies {
		t.Run(gp.name, func(t *testing.T) {
			t.Parallel()
			e := newGateEnv(t, gp)
			alice, bob := e.pki.Alice, e.pki.Bob

			t.Run("alice accepted", func(t *testing.T) {
				from := e.backend.count()
				status, body := e.get(t, e.required.URL, alice, "", nil)
				assert.Equal(t, http.StatusOK, status, body)
				var who whoami
				if assert.NoError(t, json.Unmarshal([]byte(body), &who), body) {
					assert.Equal(t, "alice", who.CN)
					assert.Equal(t, httpauth.Fingerprint(alice.Cert), who.Fingerprint)
					assert.True(t, strings.EqualFold(who.Header, e.required.Header), "identity from %q", who.Header)
				}
				e.echo(t, wsURL(e.required.URL), alice, "", nil)

				seen := e.backend.since(from)
				require.Len(t, seen, 2, "both requests reach the backend")
				for _, s := range seen {
					assert.Equal(t, e.required.SourceAddr, s.peerHost(), "%s from the proxy's source address", s.path)
				}
				assert.Equal(t, seen[0].header, seen[1].header, "REST and WebSocket carry the same headers")
				e.trusted = seen[0].header
			})

			// The values a real proxy sent: logged for CI, checked against
			// the encoding of alice's certificate and the stored capture.
			t.Run("proxy headers match testdata", func(t *testing.T) {
				require.NotNil(t, e.trusted, "needs the trusted request")
				logHeaders(t, gp.name+" sent", e.trusted)
				assert.Equal(t, gp.shape, shapeOf(e.trusted.Get(e.required.Header)))
				assert.Equal(t, gp.encode(alice.Cert), e.trusted.Get(e.required.Header), "%s holds alice's leaf", e.required.Header)
				if e.required.ChainHeader != "" {
					assert.Equal(t, gp.encode(e.pki.Intermediate.Cert), e.trusted.Get(e.required.ChainHeader), "%s holds the intermediate", e.required.ChainHeader)
				}
				if e.required.VerifyHeader != "" {
					assert.Equal(t, e.required.VerifyValue, e.trusted.Get(e.required.VerifyHeader))
				}
				sameShapes(t, readGolden(t, gp.name+".txt"), e.trusted)
			})

			t.Run("bob denied", func(t *testing.T) {
				e.wantRefusal(t, e.required.URL, bob, "", nil, http.StatusForbidden)
			})

			refusals := []struct {
				name   string
				proxy  *Proxy
				leaf   *testpki.Leaf
				by     refusedBy
				reason error // what certgate's own verification finds
				golden string
			}{
				{"CHN-01 unknown CA required mode", e.required, e.pki.Stranger, byProxy, nil, ""},
				{"CHN-01 unknown CA optional mode", e.optional, e.pki.Stranger, byCertgate, httpauth.ErrUnknownAuthority, gp.name + "-untrusted.txt"},
				{"CHN-01 forged self-signed required mode", e.required, e.pki.Forged, byProxy, nil, ""},
				{"CHN-01 forged self-signed optional mode", e.optional, e.pki.Forged, byCertgate, httpauth.ErrUnknownAuthority, ""},
				{"VAL-01 expired required mode", e.required, e.pki.Expired, byProxy, nil, ""},
				{"VAL-01 expired optional mode", e.optional, e.pki.Expired, gp.expiredOptional, httpauth.ErrExpired, ""},
			}
			for _, tt := range refusals {
				t.Run(tt.name, func(t *testing.T) {
					if tt.by == byProxy {
						e.proxyRefuses(t, tt.proxy, tt.leaf)
						return
					}
					from := e.backend.count()
					body := e.wantRefusal(t, tt.proxy.URL, tt.leaf, "", nil, http.StatusUnauthorized)
					seen := e.backend.since(from)
					require.NotEmpty(t, seen, "the proxy forwarded the request")
					logHeaders(t, gp.name+" sent", seen[0].header)
					if tt.proxy.VerifyHeader == "" {
						// Caddy forwards whatever the client sent without a
						// status: only certgate's own chain check stands
						// between this certificate and the backend.
						assert.Equal(t, publicText(tt.reason), body)
					} else {
						assert.NotEqual(t, tt.proxy.VerifyValue, seen[0].header.Get(tt.proxy.VerifyHeader))
					}
					if tt.golden != "" {
						sameShapes(t, readGolden(t, tt.golden), seen[0].header)
					}
				})
			}

			// Every header a real proxy writes, carrying alice exactly as
			// the proxy would, with the success status.
			forged := http.Header{}
			forged.Set(e.required.Header, gp.encode(alice.Cert))
			if e.required.ChainHeader != "" {
				forged.Set(e.required.ChainHeader, gp.encode(e.pki.Intermediate.Cert))
			}
			if e.required.VerifyHeader != "" {
				forged.Set(e.required.VerifyHeader, e.required.VerifyValue)
			}

			t.Run("SRC-07 spoofed headers without certificate", func(t *testing.T) {
				spoof := http.Header{}
				for _, name := range certHeaders {
					spoof.Set(name, gp.encode(alice.Cert))
				}
				spoof.Set("X-SSL-Client-Chain", gp.encode(e.pki.Intermediate.Cert))
				// SUCCESS, or the value this proxy's preset expects.
				spoof.Set("X-SSL-Client-Verify", "SUCCESS")
				if e.optional.VerifyHeader != "" {
					spoof.Set(e.optional.VerifyHeader, e.optional.VerifyValue)
				}
				from := e.backend.count()
				e.wantRefusal(t, e.optional.URL, nil, "", spoof, http.StatusUnauthorized)

				// What got through is what the capture recorded: the
				// proxy's own values for the headers it sets, the client's
				// copy of those it does not (which no preset reads).
				seen := e.backend.since(from)
				require.NotEmpty(t, seen, "the proxy forwarded the request")
				logHeaders(t, gp.name+" passed on", seen[0].header)
				golden := readGolden(t, gp.name+"-spoofed.txt")
				assert.ElementsMatch(t, slices.Collect(maps.Keys(golden)), slices.Collect(maps.Keys(seen[0].header)), "header names")
				for name, got := range seen[0].header {
					want := golden.Get(name)
					if want == spoofed {
						want = spoof.Get(name)
					}
					assert.Equal(t, []string{want}, got, name)
				}
			})

			t.Run("SRC-01 forged headers from a direct client", func(t *testing.T) {
				from := e.backend.count()
				e.wantDirectRefusal(t, directAddr, forged)
				for _, s := range e.backend.since(from) {
					assert.Equal(t, directAddr, s.peerHost(), "the client bound %s", directAddr)
				}
			})

			t.Run("SRC-04 forwarding headers from a direct client", func(t *testing.T) {
				h := forged.Clone()
				h.Set("X-Forwarded-For", e.required.SourceAddr)
				h.Set("X-Real-IP", e.required.SourceAddr)
				h.Set("Forwarded", "for="+e.required.SourceAddr)
				e.wantDirectRefusal(t, directAddr, h)
			})

			// The same headers from the proxy's own address pass: the
			// refusals above come from the peer check alone, and whoever
			// can connect from SourceAddr is as trusted as the proxy.
			t.Run("SRC-01 control: same headers from the proxy's address", func(t *testing.T) {
				status, body := e.get(t, e.backend.url, nil, e.required.SourceAddr, forged)
				assert.Equal(t, http.StatusOK, status, body)
				assert.Contains(t, body, `"cn":"alice"`)
				e.echo(t, wsURL(e.backend.url), nil, e.required.SourceAddr, forged)
			})

			// A proxy's success status never replaces certgate's own
			// verification: the headers of a proxy that let through (or
			// was tricked into reporting success for) a bad certificate.
			t.Run("VER-05 success status with a bad certificate from the proxy's address", func(t *testing.T) {
				for _, bad := range []struct {
					leaf   *testpki.Leaf
					reason error
				}{
					{e.pki.Expired, httpauth.ErrExpired},
					{e.pki.Stranger, httpauth.ErrUnknownAuthority},
					{e.pki.Forged, httpauth.ErrUnknownAuthority},
				} {
					h := forged.Clone()
					h.Set(e.required.Header, gp.encode(bad.leaf.Cert))
					if e.required.ChainHeader != "" {
						h.Del(e.required.ChainHeader)
						if in := bad.leaf.Intermediates(); len(in) > 0 {
							h.Set(e.required.ChainHeader, gp.encode(in[0]))
						}
					}
					body := e.wantRefusal(t, e.backend.url, nil, e.required.SourceAddr, h, http.StatusUnauthorized)
					assert.Equal(t, publicText(bad.reason), body, bad.leaf.Cert.Subject.CommonName)
				}
			})
		})
	}
}

// gateEnv is one proxy's world: a fresh PKI, a certgate backend on
// 127.0.0.1, and the proxy in front of it twice, requiring a verified
// certificate and in its optional mode.
type gateEnv struct {
	pki                *testpki.Set
	serverRoot         *x509.CertPool
	backend            *gateBackend
	required, optional *Proxy
	trusted            http.Header // what the proxy sent for alice
}

func newGateEnv(t *testing.T, gp gateProxy) *gateEnv {
	t.Helper()
	pki := testpki.MustSet(t)
	server, err := pki.Root.Server(testpki.WithDNS("localhost"), testpki.WithIP(net.ParseIP("127.0.0.2")))
	require.NoError(t, err)
	serverKey, err := server.KeyPEM()
	require.NoError(t, err)
	require.Len(t, pki.Alice.TLSCertificate().Certificate, 2, "clients send leaf and intermediate")

	// The backend listens before the proxies start, which need its
	// address; it serves once their source address is known.
	b := listenGateBackend(t)
	o := Options{
		ServerCertPEM: server.PEM(),
		ServerKeyPEM:  serverKey,
		ClientCAPEM:   pki.Root.PEM(),
		Upstream:      b.url,
		ListenAddr:    "127.0.0.2:0",
	}
	e := &gateEnv{pki: pki, serverRoot: pki.Root.Pool(), backend: b}
	e.required = gp.start(t, o)
	o.OptionalVerify = true
	e.optional = gp.start(t, o)
	require.Equal(t, e.required.SourceAddr, e.optional.SourceAddr)

	src, err := netip.ParseAddr(e.required.SourceAddr)
	require.NoError(t, err)
	roots := pki.Root.Pool()
	if gp.leafOnly {
		roots.AddCert(pki.Intermediate.Cert)
	}
	a, err := httpauth.New(httpauth.Config{
		Source: httpauth.Source{
			Preset:         gp.preset,
			TrustedProxies: []netip.Prefix{netip.PrefixFrom(src, src.BitLen())},
		},
		Roots:     roots,
		Authorize: httpauth.AllowCN("alice"),
	})
	require.NoError(t, err)
	b.serve(t, a)
	return e
}

// clientTLS trusts the proxies' server root and always presents leaf,
// leaf and intermediate, even when the proxy's CA list does not name its
// issuer; nil presents nothing. There is no session cache, so every
// connection is a full handshake (HAProxy has no chain on resumption).
func (e *gateEnv) clientTLS(leaf *testpki.Leaf) *tls.Config {
	cfg := &tls.Config{RootCAs: e.serverRoot, NextProtos: []string{"http/1.1"}}
	if leaf != nil {
		cert := leaf.TLSCertificate()
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	return cfg
}

func netDialer(local string) *net.Dialer {
	d := &net.Dialer{Timeout: gateTimeout}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	return d
}

// get requests base/whoami as leaf (TLS) or from local (plain HTTP
// to the backend) and returns the status and body, or a zero status when
// the request failed (a refused handshake).
func (e *gateEnv) get(t *testing.T, base string, leaf *testpki.Leaf, local string, h http.Header) (int, string) {
	t.Helper()
	status, body, err := e.tryGet(t, base, leaf, local, h)
	require.NoError(t, err)
	return status, body
}

func (e *gateEnv) tryGet(t *testing.T, base string, leaf *testpki.Leaf, local string, h http.Header) (int, string, error) {
	t.Helper()
	tr := &http.Transport{
		DialContext:       netDialer(local).DialContext,
		TLSClientConfig:   e.clientTLS(leaf),
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/whoami", nil)
	require.NoError(t, err)
	for name, v := range h {
		req.Header[name] = v
	}
	resp, err := (&http.Client{Transport: tr, Timeout: gateTimeout}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	require.NoError(t, err)
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

// dial opens a WebSocket with gorilla's client; see get for the arguments.
func (e *gateEnv) dial(t *testing.T, url string, leaf *testpki.Leaf, local string, h http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{
		NetDialContext:   netDialer(local).DialContext,
		TLSClientConfig:  e.clientTLS(leaf),
		HandshakeTimeout: gateTimeout,
	}
	ctx, cancel := context.WithTimeout(t.Context(), gateTimeout)
	defer cancel()
	conn, resp, err := d.DialContext(ctx, url, h)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if conn != nil {
		t.Cleanup(func() { conn.Close() })
	}
	return conn, resp, err
}

// echo upgrades, sends one message and expects it back prefixed with
// alice's name.
func (e *gateEnv) echo(t *testing.T, url string, leaf *testpki.Leaf, local string, h http.Header) {
	t.Helper()
	conn, resp, err := e.dial(t, url, leaf, local, h)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(gateTimeout)))
	require.NoError(t, conn.SetWriteDeadline(time.Now().Add(gateTimeout)))
	require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte("hello")))
	_, msg, err := conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "alice:hello", string(msg))
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
}

// wantRefusal expects status from both routes through the proxy at base
// and returns the REST body.
func (e *gateEnv) wantRefusal(t *testing.T, base string, leaf *testpki.Leaf, local string, h http.Header, status int) string {
	t.Helper()
	got, body := e.get(t, base, leaf, local, h)
	assert.Equal(t, status, got, "GET /whoami: %s", body)
	assert.NotContains(t, body, `"cn"`)

	conn, resp, err := e.dial(t, wsURL(base), leaf, local, h)
	assert.ErrorIs(t, err, websocket.ErrBadHandshake)
	assert.Nil(t, conn, "never upgraded")
	if assert.NotNil(t, resp) {
		assert.Equal(t, status, resp.StatusCode, "WebSocket")
	}
	return body
}

// proxyRefuses expects proxy p to refuse leaf itself,
// in the handshake or with its own 4xx, on both routes; nothing reaches
// the backend.
func (e *gateEnv) proxyRefuses(t *testing.T, p *Proxy, leaf *testpki.Leaf) {
	t.Helper()
	from := e.backend.count()
	status, body, err := e.tryGet(t, p.URL, leaf, "", nil)
	if err != nil {
		t.Logf("%s refused GET: %v", p.Name, err)
	} else {
		t.Logf("%s refused GET: %d %.80q", p.Name, status, body)
		assert.GreaterOrEqual(t, status, 400)
		assert.Less(t, status, 500)
	}

	conn, resp, err := e.dial(t, wsURL(p.URL), leaf, "", nil)
	assert.Error(t, err)
	assert.Nil(t, conn, "never upgraded")
	if resp != nil {
		t.Logf("%s refused the upgrade: %s", p.Name, resp.Status)
		assert.GreaterOrEqual(t, resp.StatusCode, 400)
		assert.Less(t, resp.StatusCode, 500)
	} else {
		t.Logf("%s refused the upgrade: %v", p.Name, err)
	}
	assert.Equal(t, from, e.backend.count(), "nothing reached the backend")
}

// wantDirectRefusal connects straight to the backend from local with
// headers h: 401 on the REST route, and on the WebSocket route a raw 401
// with Connection: close after which the server closes the connection.
func (e *gateEnv) wantDirectRefusal(t *testing.T, local string, h http.Header) {
	t.Helper()
	status, body := e.get(t, e.backend.url, nil, local, h)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, publicText(httpauth.ErrUntrustedProxy), body)

	conn, err := netDialer(local).DialContext(t.Context(), "tcp", e.backend.addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(gateTimeout)))
	var req bytes.Buffer
	fmt.Fprintf(&req, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", e.backend.addr)
	require.NoError(t, h.Write(&req))
	req.WriteString("\r\n")
	_, err = conn.Write(req.Bytes())
	require.NoError(t, err)

	var raw bytes.Buffer
	br := bufio.NewReader(io.TeeReader(conn, &raw))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "WebSocket")
	refusal, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, publicText(httpauth.ErrUntrustedProxy)+"\n", string(refusal))
	assert.True(t, resp.Close)
	assert.Contains(t, raw.String(), "\r\nConnection: close\r\n")
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "the server closes the connection after the refusal, sending nothing more")
}

// wsURL turns an http or https base URL into its WebSocket route.
func wsURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/ws" }

// publicText is what a client reads for a refusal with reason.
func publicText(reason error) string {
	return (&httpauth.Error{Status: http.StatusUnauthorized, Reason: reason}).PublicText()
}

// whoami is the REST route's answer.
type whoami struct {
	CN          string `json:"cn"`
	Fingerprint string `json:"fingerprint"`
	Header      string `json:"header"`
}

// gateBackend is certgate behind the proxies: plain HTTP on 127.0.0.1. It
// records the certificate headers of every request before certgate sees
// it.
type gateBackend struct {
	ln        net.Listener
	url, addr string

	mu     sync.Mutex
	seen   []seenRequest
	conns  map[*websocket.Conn]bool // open WebSockets
	closed bool
}

type seenRequest struct {
	path, peer string
	header     http.Header // the certHeaders present
}

func (s seenRequest) peerHost() string {
	host, _, _ := net.SplitHostPort(s.peer)
	return host
}

func listenGateBackend(t *testing.T) *gateBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return &gateBackend{ln: ln, url: "http://" + ln.Addr().String(), addr: ln.Addr().String(), conns: map[*websocket.Conn]bool{}}
}

// serve starts answering with a until the test ends; then it closes the
// server and every WebSocket still open.
func (b *gateBackend) serve(t *testing.T, a *httpauth.Authenticator) {
	mux := http.NewServeMux()
	mux.Handle("GET /whoami", a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := httpauth.FromContext(r.Context())
		if !ok {
			http.Error(w, "no identity", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(whoami{CN: id.Certificate.Subject.CommonName, Fingerprint: id.Fingerprint, Header: id.Header})
	})))
	mux.Handle("/ws", gorilla.Handler(a, nil, b.echo))

	srv := &http.Server{Handler: b.record(mux), ReadHeaderTimeout: gateTimeout}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(b.ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		b.closed = true
		for c := range b.conns {
			c.Close()
		}
	})
}

// record notes the request's certificate headers, then passes the
// ResponseWriter on untouched so that certgate can still hijack it.
func (b *gateBackend) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := http.Header{}
		for _, name := range certHeaders {
			if v := r.Header.Values(name); len(v) > 0 {
				h[http.CanonicalHeaderKey(name)] = slices.Clone(v)
			}
		}
		b.mu.Lock()
		b.seen = append(b.seen, seenRequest{path: r.URL.Path, peer: r.RemoteAddr, header: h})
		b.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// echo answers one message with the client's name in front.
func (b *gateBackend) echo(_ context.Context, conn *websocket.Conn, id *httpauth.Identity) {
	defer conn.Close()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.conns[conn] = true
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.conns, conn)
		b.mu.Unlock()
	}()

	_ = conn.SetReadDeadline(time.Now().Add(gateTimeout))
	mt, msg, err := conn.ReadMessage()
	if err != nil {
		return
	}
	_ = conn.SetWriteDeadline(time.Now().Add(gateTimeout))
	_ = conn.WriteMessage(mt, append([]byte(id.Certificate.Subject.CommonName+":"), msg...))
}

func (b *gateBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.seen)
}

// since returns the requests recorded after the first n.
func (b *gateBackend) since(n int) []seenRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.seen[n:])
}

// logHeaders shows header values in the test output, cut to 100
// characters.
func logHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	names := slices.Sorted(maps.Keys(h))
	if len(names) == 0 {
		t.Logf("%s: no certificate headers", what)
	}
	for _, name := range names {
		for _, v := range h[name] {
			t.Logf("%s: %s: %.100q (%d bytes)", what, name, v, len(v))
		}
	}
}

// readGolden parses a capture from testdata/proxies (see its README) into
// header values as a Go server would see them: names canonical, optional
// whitespace trimmed.
func readGolden(t *testing.T, file string) http.Header {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "proxies", file))
	require.NoError(t, err)
	h := http.Header{}
	for line := range strings.Lines(string(data)) {
		name, value, ok := strings.Cut(strings.TrimRight(line, "\n"), ":")
		require.True(t, ok, "%s: line %.40q", file, line)
		h.Add(name, strings.Trim(value, " \t"))
	}
	return h
}

// sameShapes checks that got has the golden's header names, once each,
// with values of the same shape.
func sameShapes(t *testing.T, golden, got http.Header) {
	t.Helper()
	assert.ElementsMatch(t, slices.Collect(maps.Keys(golden)), slices.Collect(maps.Keys(got)), "header names")
	for name, want := range golden {
		if assert.Len(t, got[name], len(want), name) {
			for i := range want {
				assert.Equal(t, shapeOf(want[i]), shapeOf(got[name][i]), name)
			}
		}
	}
}

// shapeOf classifies a header value: one of the certificate encodings,
// or else the literal value (verification statuses, "(null)", Caddy's
// placeholder).
func shapeOf(v string) string {
	switch {
	case strings.HasPrefix(v, "-----BEGIN%20CERTIFICATE-----%0A") &&
		strings.HasSuffix(v, "-----END%20CERTIFICATE-----%0A") && !strings.ContainsAny(v, " \t"):
		return shapeEscapedPEM
	case strings.HasPrefix(v, "-----BEGIN CERTIFICATE----- ") &&
		strings.HasSuffix(v, " -----END CERTIFICATE-----") && !strings.ContainsAny(v, "%\t"):
		return shapeSpacedPEM
	case v != "" && !strings.ContainsAny(v, " \t\r\n"):
		if der, err := base64.StdEncoding.Strict().DecodeString(v); err == nil {
			if _, err := x509.ParseCertificates(der); err == nil {
				return shapeBase64DER
			}
		}
	}
	return fmt.Sprintf("literal %q", v)
}

// nginxEscaped is $ssl_client_escaped_cert: the PEM with every byte
// outside the URI unreserved set as %XX, uppercase.
func nginxEscaped(c *x509.Certificate) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for _, ch := range testpki.PEM(c) {
		switch {
		case 'A' <= ch && ch <= 'Z', 'a' <= ch && ch <= 'z', '0' <= ch && ch <= '9',
			ch == '-', ch == '.', ch == '_', ch == '~':
			b.WriteByte(ch)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[ch>>4])
			b.WriteByte(hex[ch&15])
		}
	}
	return b.String()
}

// base64DER is HAProxy's ssl_c_der,base64 and Caddy's
// certificate_der_base64.
func base64DER(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }

// spacedPEM is Apache's %{SSL_CLIENT_CERT}s through mod_headers: line
// breaks become spaces; the trailing one is trimmed by the server.
func spacedPEM(c *x509.Certificate) string {
	return strings.TrimSpace(strings.ReplaceAll(string(testpki.PEM(c)), "\n", " "))
}
