// Behind-proxy shows certgate behind a TLS-terminating reverse proxy: the
// proxy checks the client certificate during the handshake and forwards it
// to the backend in a request header, and the backend believes that header
// only from the proxy's address.
//
// The program runs both sides on loopback. The proxy is a small Go reverse
// proxy that behaves like the configuration beside this file for the
// chosen -preset (nginx by default; haproxy, caddy, apache and envoy too):
// it removes every copy of its headers a client sent, then sets them from
// the TLS connection. The backend is plain HTTP with
//
//	httpauth.Source{Preset: preset, TrustedProxies: 127.0.0.1/32}
//
// and verifies the forwarded certificate against the CA itself. It then
// shows five requests:
//
//   - alice through the proxy, over HTTP and over a WebSocket: accepted
//   - mallory through the proxy: a valid certificate, but denied (403)
//   - a client without a certificate sending alice's certificate in the
//     header itself, through the proxy: the proxy drops it (401)
//   - the same spoofed header sent straight to the backend from 127.0.0.2,
//     an address that is not the proxy: refused (401), although the
//     certificate in it is alice's and perfectly valid
//
// and exits 0 when each ends as expected:
//
//	go run ./examples/behind-proxy
//	go run ./examples/behind-proxy -preset envoy
//
// The last request binds 127.0.0.2, which every Linux loopback accepts; on
// macOS add it first with "sudo ifconfig lo0 alias 127.0.0.2".
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gorilla/websocket"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/demoserver"
	"github.com/certgate/certgate/internal/testpki"
)

// message is what alice sends over the WebSocket and expects back.
const message = "hello"

// proxyAddr is where the proxy connects to the backend from, and the only
// address the backend takes certificate headers from.
var proxyAddr = netip.MustParsePrefix("127.0.0.1/32")

// spooferAddr is the address the direct, spoofing client binds.
var spooferAddr = net.IPv4(127, 0, 0, 2)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "behind-proxy:", err)
		os.Exit(1)
	}
}

// run is the whole program: main only maps its error to the exit status.
func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("behind-proxy", flag.ContinueOnError)
	preset := fs.String("preset", httpauth.PresetNginx, "proxy to simulate and Source.Preset to trust: "+strings.Join(simulated(), ", "))
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return demo(ctx, *preset, stdout)
}

// pki holds the demo's certificates, minted in memory so the example needs
// no setup. One CA issues the proxy's server certificate and the clients'.
type pki struct {
	ca      *testpki.Authority
	proxy   *testpki.Leaf
	alice   *testpki.Leaf // allowed
	mallory *testpki.Leaf // valid, but not allowed
}

func newPKI() (*pki, error) {
	ca, err := testpki.NewRoot(testpki.WithCN("behind-proxy CA"))
	if err != nil {
		return nil, err
	}
	p := &pki{ca: ca}
	if p.proxy, err = ca.Server(); err != nil {
		return nil, err
	}
	if p.alice, err = ca.Leaf(testpki.WithCN("alice")); err != nil {
		return nil, err
	}
	if p.mallory, err = ca.Leaf(testpki.WithCN("mallory")); err != nil {
		return nil, err
	}
	return p, nil
}

// newBackend starts the application server: plain HTTP on addr, taking
// the client certificate from the preset's header.
func newBackend(p *pki, preset, addr string, logger *slog.Logger) (*demoserver.Server, error) {
	a, err := httpauth.New(httpauth.Config{
		Source: httpauth.Source{
			Preset: preset,
			// Anyone can send the header, and certificates are public, so
			// only the proxy's own address may vouch for one.
			TrustedProxies: []netip.Prefix{proxyAddr},
		},
		// The proxy verified the certificate; the backend verifies it
		// again against the same CA rather than trusting the proxy's word.
		Roots:     p.ca.Pool(),
		Authorize: httpauth.AllowCN("alice"),
		Logger:    logger,
	})
	if err != nil {
		return nil, err
	}
	hello := func(w http.ResponseWriter, r *http.Request) {
		id, ok := httpauth.FromContext(r.Context())
		if !ok {
			http.Error(w, "no identity", http.StatusInternalServerError)
			return
		}
		cn, _ := id.CommonName()
		fmt.Fprintf(w, "hello %s (certificate from %s)\n", cn, id.Header)
	}
	echo := func(ctx context.Context, conn *websocket.Conn, _ *httpauth.Identity) {
		defer conn.Close()
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
		for {
			typ, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if err := conn.WriteMessage(typ, msg); err != nil {
				return
			}
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /hello", a.Middleware(http.HandlerFunc(hello)))
	mux.Handle("GET /ws", gorilla.Handler(a, nil, echo))
	return demoserver.Start(addr, nil, mux)
}

// newProxy starts the TLS-terminating proxy on addr, forwarding to
// upstream the way the preset's proxy does.
func newProxy(p *pki, preset, addr, upstream string) (*demoserver.Server, error) {
	style, ok := proxies[preset]
	if !ok {
		return nil, fmt.Errorf("no simulated proxy for preset %q; choose one of %s", preset, strings.Join(simulated(), ", "))
	}
	target, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	// Connect from the address the backend trusts.
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: proxyAddr.Addr().AsSlice()}, Timeout: 5 * time.Second}
	transport := &http.Transport{DialContext: dialer.DialContext}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			var certs []*x509.Certificate
			if pr.In.TLS != nil {
				certs = pr.In.TLS.PeerCertificates
			}
			style.forward(pr.Out.Header, certs)
		},
		Transport: transport,
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	tlsConfig := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{p.proxy.TLSCertificate()},
		ClientCAs:    p.ca.Pool(),
		// Like nginx's "ssl_verify_client optional": a certificate, if
		// sent, must verify; a client without one is let through with no
		// certificate header, and the backend answers it 401 with a reason.
		ClientAuth: tls.VerifyClientCertIfGiven,
	}
	s, err := demoserver.Start(addr, tlsConfig, rp)
	if err != nil {
		return nil, err
	}
	s.AfterClose = transport.CloseIdleConnections
	return s, nil
}

// proxyStyle is how one proxy forwards the client certificate, following
// the sample configuration of the same name beside this file.
type proxyStyle struct {
	// owned are the headers the proxy sets. Copies a client sent never
	// reach the backend.
	owned []string
	// set adds the headers for the certificates the client presented,
	// leaf first, or for none.
	set func(h http.Header, certs []*x509.Certificate)
}

// forward replaces the client's copies of the proxy's headers with the
// proxy's own.
func (s proxyStyle) forward(h http.Header, certs []*x509.Certificate) {
	for _, name := range s.owned {
		h.Del(name)
	}
	s.set(h, certs)
}

var proxies = map[string]proxyStyle{
	// nginx: proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert
	// and X-SSL-Client-Verify $ssl_client_verify. proxy_set_header replaces
	// the client's header of the same name; an empty value (no
	// certificate) sends none.
	httpauth.PresetNginx: {
		owned: []string{"X-SSL-Client-Cert", "X-SSL-Client-Verify"},
		set: func(h http.Header, certs []*x509.Certificate) {
			if len(certs) == 0 {
				h.Set("X-SSL-Client-Verify", "NONE")
				return
			}
			h.Set("X-SSL-Client-Cert", percentEscape(pemOf(certs[0]), "-._~"))
			h.Set("X-SSL-Client-Verify", "SUCCESS")
		},
	},
	// HAProxy: unconditional del-header, then set-header %[ssl_c_der,base64],
	// %[ssl_c_chain_der,base64] (the certificates after the leaf, DER
	// concatenated) and %[ssl_c_verify] if { ssl_c_used }.
	httpauth.PresetHAProxy: {
		owned: []string{"X-SSL-Client-Cert", "X-SSL-Client-Chain", "X-SSL-Client-Verify"},
		set: func(h http.Header, certs []*x509.Certificate) {
			if len(certs) == 0 {
				return
			}
			h.Set("X-SSL-Client-Cert", base64.StdEncoding.EncodeToString(certs[0].Raw))
			if len(certs) > 1 {
				var chain []byte
				for _, c := range certs[1:] {
					chain = append(chain, c.Raw...)
				}
				h.Set("X-SSL-Client-Chain", base64.StdEncoding.EncodeToString(chain))
			}
			h.Set("X-SSL-Client-Verify", "0")
		},
	},
	// Caddy: header_up X-Client-Cert
	// {http.request.tls.client.certificate_der_base64}, a set that
	// replaces the client's copy, empty without a certificate.
	httpauth.PresetCaddy: {
		owned: []string{"X-Client-Cert"},
		set: func(h http.Header, certs []*x509.Certificate) {
			v := ""
			if len(certs) > 0 {
				v = base64.StdEncoding.EncodeToString(certs[0].Raw)
			}
			h.Set("X-Client-Cert", v)
		},
	},
	// Apache httpd: RequestHeader unset, then RequestHeader set to
	// %{SSL_CLIENT_CERT}s, %{SSL_CLIENT_CERT_CHAIN_0}s and
	// %{SSL_CLIENT_VERIFY}s. mod_headers turns the PEM's line breaks into
	// spaces and writes "(null)" for an empty variable.
	httpauth.PresetApache: {
		owned: []string{"X-SSL-Client-Cert", "X-SSL-Client-Chain", "X-SSL-Client-Verify"},
		set: func(h http.Header, certs []*x509.Certificate) {
			leaf, chain0, verify := "(null)", "(null)", "NONE"
			if len(certs) > 0 {
				leaf, verify = spaced(pemOf(certs[0])), "SUCCESS"
			}
			if len(certs) > 1 {
				chain0 = spaced(pemOf(certs[1]))
			}
			h.Set("X-SSL-Client-Cert", leaf)
			h.Set("X-SSL-Client-Chain", chain0)
			h.Set("X-SSL-Client-Verify", verify)
		},
	},
	// Envoy: forward_client_cert_details SANITIZE_SET with
	// set_current_client_cert_details {subject, cert, uri}: one XFCC
	// element replaces whatever arrived, and without a client certificate
	// the header is removed.
	httpauth.PresetEnvoy: {
		owned: []string{"X-Forwarded-Client-Cert"},
		set: func(h http.Header, certs []*x509.Certificate) {
			if len(certs) == 0 {
				return
			}
			leaf := certs[0]
			el := fmt.Sprintf("Hash=%x;Cert=%s;Subject=%s", sha256.Sum256(leaf.Raw),
				xfccQuote(percentEscape(pemOf(leaf), "*-._")), xfccQuote(leaf.Subject.String()))
			if len(leaf.URIs) == 0 {
				el += ";URI="
			}
			for _, u := range leaf.URIs {
				el += ";URI=" + u.String()
			}
			h.Set("X-Forwarded-Client-Cert", el)
		},
	},
}

// simulated returns the presets this program has a proxy for.
func simulated() []string {
	names := make([]string, 0, len(proxies))
	for name := range proxies {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func pemOf(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// percentEscape escapes every byte of s except ASCII letters, digits and
// the bytes in keep, with uppercase hex, as nginx and Envoy do.
func percentEscape(s, keep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// xfccQuote double-quotes an XFCC value, escaping quotes inside it.
func xfccQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// spaced is what mod_headers makes of a multi-line value.
func spaced(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r", " ", "\n", " ").Replace(s))
}

// result is the outcome of one request of the demo.
type result struct {
	request string
	want    int
	status  int
	text    string // the response body, or the echo after a 101
	err     error
}

func (r result) ok() bool { return r.err == nil && r.status == r.want }

func (r result) got() string {
	switch {
	case r.err != nil:
		return "error: " + r.err.Error()
	case r.status == http.StatusSwitchingProtocols:
		return fmt.Sprintf("101 + echo %q", r.text)
	default:
		return strings.TrimSpace(fmt.Sprintf("%d %s", r.status, r.text))
	}
}

// demo starts the backend and the proxy, sends the requests, and prints
// the outcomes and the backend's log of refusals.
func demo(ctx context.Context, preset string, out io.Writer) error {
	p, err := newPKI()
	if err != nil {
		return err
	}
	var logBuf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&demoserver.LockedWriter{W: &logBuf}, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
	backend, err := newBackend(p, preset, "127.0.0.1:0", logger)
	if err != nil {
		return err
	}
	proxy, err := newProxy(p, preset, "127.0.0.1:0", backend.URL)
	if err != nil {
		return errors.Join(err, backend.Close())
	}
	results := requests(ctx, p, preset, proxy.URL, backend.URL)
	if err := errors.Join(proxy.Close(), backend.Close()); err != nil {
		return err
	}

	fmt.Fprintf(out, "preset %s: the backend takes certificates from %s only\n\n", preset, proxyAddr)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "request\texpected\tgot\toutcome")
	failed := 0
	for _, r := range results {
		outcome := "ok"
		if !r.ok() {
			outcome = "MISMATCH"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.request, r.want, r.got(), outcome)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nbackend log:")
	for line := range strings.Lines(logBuf.String()) {
		fmt.Fprint(out, "  ", line)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d outcomes differ from the expected ones", failed, len(results))
	}
	return nil
}

// requests sends the demo's requests and returns their outcomes.
func requests(ctx context.Context, p *pki, preset, proxyURL, backendURL string) []result {
	// The attacker's header: exactly what the proxy would send for alice.
	// It needs no key, because certificates are public.
	spoofed := http.Header{}
	proxies[preset].set(spoofed, []*x509.Certificate{p.alice.Cert})

	viaProxy := func(leaf *testpki.Leaf) *http.Transport {
		return &http.Transport{TLSClientConfig: clientTLS(p.ca.Pool(), leaf)}
	}
	direct := &net.Dialer{LocalAddr: &net.TCPAddr{IP: spooferAddr}, Timeout: 5 * time.Second}
	return []result{
		get(ctx, "alice via proxy: GET /hello", http.StatusOK, viaProxy(p.alice), proxyURL, nil),
		wsEcho(ctx, "alice via proxy: WebSocket /ws", clientTLS(p.ca.Pool(), p.alice), proxyURL),
		get(ctx, "mallory via proxy: GET /hello", http.StatusForbidden, viaProxy(p.mallory), proxyURL, nil),
		get(ctx, "no certificate, spoofed header, via proxy", http.StatusUnauthorized, viaProxy(nil), proxyURL, spoofed),
		get(ctx, "spoofed header straight to backend from "+spooferAddr.String(), http.StatusUnauthorized,
			&http.Transport{DialContext: direct.DialContext}, backendURL, spoofed),
	}
}

// clientTLS returns the TLS configuration of a client holding leaf, or of
// one without a certificate when leaf is nil.
func clientTLS(roots *x509.CertPool, leaf *testpki.Leaf) *tls.Config {
	cfg := &tls.Config{RootCAs: roots}
	if leaf != nil {
		cfg.Certificates = []tls.Certificate{leaf.TLSCertificate()}
	}
	return cfg
}

// get sends GET /hello with header through tr and returns the outcome.
func get(ctx context.Context, name string, want int, tr *http.Transport, baseURL string, header http.Header) result {
	defer tr.CloseIdleConnections()
	res := result{request: name, want: want}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/hello", nil)
	if err != nil {
		res.err = err
		return res
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		res.err = err
		return res
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	res.status, res.text, res.err = resp.StatusCode, string(body), err
	return res
}

// wsEcho opens a WebSocket through the proxy, sends message and reads the
// echo.
func wsEcho(ctx context.Context, name string, tlsConfig *tls.Config, baseURL string) result {
	res := result{request: name, want: http.StatusSwitchingProtocols}
	d := websocket.Dialer{TLSClientConfig: tlsConfig, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.DialContext(ctx, "wss"+strings.TrimPrefix(baseURL, "https")+"/ws", nil)
	if resp != nil {
		res.status = resp.StatusCode
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res.text = string(body)
	}
	if err != nil {
		if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
			res.err = err
		}
		return res
	}
	defer conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	if err := conn.SetReadDeadline(deadline); err != nil {
		res.err = err
		return res
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(message)); err != nil {
		res.err = err
		return res
	}
	_, reply, err := conn.ReadMessage()
	if err != nil {
		res.err = err
		return res
	}
	res.text = string(reply)
	bye := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := conn.WriteControl(websocket.CloseMessage, bye, deadline); err != nil {
		res.err = err
	} else if res.text != message {
		res.err = fmt.Errorf("echo %q, want %q", res.text, message)
	}
	return res
}
