//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testpki"
)

// captureDirEnv names the directory TestCaptureProxyHeaders writes the
// observed header values to. Unset, the test only checks them.
const captureDirEnv = "CERTGATE_CAPTURE_DIR"

// Validity of the PKI minted for a capture run, so that the stored
// certificates verify for a century (README.md in the capture directory
// pins a verification time inside it).
var (
	captureNotBefore = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	captureNotAfter  = time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC)
)

// certHeaders are the header names whose lines the capture records: every
// name a proxy here sets, which are also the names a client spoofs.
var certHeaders = []string{
	"X-SSL-Client-Cert",
	"X-SSL-Client-Chain",
	"X-SSL-Client-Verify",
	"X-Client-Cert",
}

const spoofed = "spoofed-by-client"

type proxyCase struct {
	name  string
	start func(testing.TB, Options) *Proxy
	// decode turns a certificate header value into certificates, using
	// the standard library only, to pin down the encoding.
	decode func(string) ([]*x509.Certificate, error)
	// noCert and noCertVerify are what the certificate and verify headers
	// carry when the client sends no certificate in optional mode; empty
	// means the header is absent.
	noCert, noCertVerify string
}

var proxyCases = []proxyCase{
	{name: "nginx", start: StartNginx, decode: decodeEscapedPEM, noCertVerify: "NONE"},
	// HAProxy's headers are conditional on ssl_c_used (see StartHAProxy).
	{name: "haproxy", start: StartHAProxy, decode: decodeBase64DER},
	// Caddy 2.6 leaves the placeholder unexpanded when there is no
	// client certificate.
	{name: "caddy", start: StartCaddy, decode: decodeBase64DER,
		noCert: "{http.request.tls.client.certificate_der_base64}"},
	// mod_headers writes (null) for an empty SSL variable.
	{name: "apache", start: StartApache, decode: decodeSpacedPEM,
		noCert: "(null)", noCertVerify: "NONE"},
}

// capturePKI is what the capture mints: a client root with an
// intermediate issuing alice, and an unrelated root issuing a stranger.
type capturePKI struct {
	root, intermediate *testpki.Authority
	leaf               *testpki.Leaf
	strangerRoot       *testpki.Authority
	stranger           *testpki.Leaf
	serverRoot         *testpki.Authority
	server             *testpki.Leaf
}

func newCapturePKI(t *testing.T, long bool) *capturePKI {
	t.Helper()
	var validity []testpki.Option
	if long {
		validity = append(validity, testpki.WithValidity(captureNotBefore, captureNotAfter))
	}
	with := func(opts ...testpki.Option) []testpki.Option {
		return append(append([]testpki.Option(nil), opts...), validity...)
	}
	var p capturePKI
	var err error
	p.root, err = testpki.NewRoot(with(testpki.WithCN("certgate capture root"))...)
	mustNot(t, err)
	p.intermediate, err = p.root.Intermediate(with(testpki.WithCN("certgate capture intermediate"))...)
	mustNot(t, err)
	p.leaf, err = p.intermediate.Leaf(with(testpki.WithCN("alice"))...)
	mustNot(t, err)
	p.strangerRoot, err = testpki.NewRoot(with(testpki.WithCN("certgate capture stranger root"))...)
	mustNot(t, err)
	p.stranger, err = p.strangerRoot.Leaf(with(testpki.WithCN("mallory"))...)
	mustNot(t, err)
	// The proxies' server certificate is not stored, so it keeps the
	// default short lifetime.
	p.serverRoot, err = testpki.NewRoot(testpki.WithCN("certgate capture server root"))
	mustNot(t, err)
	p.server, err = p.serverRoot.Server(
		testpki.WithDNS("localhost"),
		testpki.WithIP(net.ParseIP("127.0.0.2"), net.ParseIP("127.0.0.1")),
	)
	mustNot(t, err)
	return &p
}

// TestCaptureProxyHeaders sends requests with and without client
// certificates through each real proxy to a backend that echoes the raw
// request head, and checks what arrives: the certificate headers are set,
// decode with the standard library to exactly the client's certificates,
// and a client's own copies of them are replaced or removed. With
// CERTGATE_CAPTURE_DIR set it also writes the observed header lines and the
// certificates to verify them into that directory (see
// testdata/proxies/README.md).
func TestCaptureProxyHeaders(t *testing.T) {
	captureDir := os.Getenv(captureDirEnv)
	pki := newCapturePKI(t, captureDir != "")
	if captureDir != "" {
		mustNot(t, os.MkdirAll(captureDir, 0o755))
		writeFile(t, captureDir, "ca.pem", pki.root.PEM())
		writeFile(t, captureDir, "intermediate.pem", pki.intermediate.PEM())
		writeFile(t, captureDir, "leaf.pem", pki.leaf.PEM())
		writeFile(t, captureDir, "untrusted-ca.pem", pki.strangerRoot.PEM())
		writeFile(t, captureDir, "untrusted-leaf.pem", pki.stranger.PEM())
	}

	backend := startBackend(t)
	serverKey, err := pki.server.KeyPEM()
	mustNot(t, err)
	base := Options{
		ServerCertPEM: pki.server.PEM(),
		ServerKeyPEM:  serverKey,
		ClientCAPEM:   pki.root.PEM(),
		Upstream:      backend.URL,
		ListenAddr:    "127.0.0.2:0",
	}
	alice := pki.leaf.TLSCertificate()
	mallory := pki.stranger.TLSCertificate()
	if len(alice.Certificate) != 2 {
		t.Fatalf("client chain has %d certificates, want leaf and intermediate", len(alice.Certificate))
	}

	for _, pc := range proxyCases {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			required := pc.start(t, base)
			optOpts := base
			optOpts.OptionalVerify = true
			optional := pc.start(t, optOpts)

			save := func(file string, o *observed) {
				if captureDir != "" {
					writeFile(t, captureDir, file, []byte(o.certLines()))
				}
			}
			wantCert := func(t *testing.T, o *observed, name string, want ...*x509.Certificate) {
				t.Helper()
				vals := o.values(name)
				if len(vals) != 1 {
					t.Errorf("%s: got %d values %q, want one", name, len(vals), vals)
					return
				}
				certs, err := pc.decode(vals[0])
				if err != nil {
					t.Errorf("%s: decode %.80q: %v", name, vals[0], err)
					return
				}
				if !sameCerts(certs, want) {
					t.Errorf("%s: decoded %d certificates %v, want %v", name, len(certs), subjects(certs), subjects(want))
				}
			}
			noSpoof := func(t *testing.T, o *observed) {
				t.Helper()
				for _, name := range []string{required.Header, required.ChainHeader, required.VerifyHeader} {
					if name == "" {
						continue
					}
					for _, v := range o.values(name) {
						if strings.Contains(v, spoofed) {
							t.Errorf("%s: client's spoofed value reached the backend: %q", name, v)
						}
					}
				}
			}

			t.Run("verified", func(t *testing.T) {
				o := get(t, required, pki, &alice, nil)
				wantCert(t, o, required.Header, pki.leaf.Cert)
				if required.ChainHeader != "" {
					wantCert(t, o, required.ChainHeader, pki.intermediate.Cert)
				}
				if required.VerifyHeader != "" {
					if got := o.values(required.VerifyHeader); len(got) != 1 || got[0] != required.VerifyValue {
						t.Errorf("%s = %q, want %q", required.VerifyHeader, got, required.VerifyValue)
					}
				}
				if host, _, _ := net.SplitHostPort(o.Peer); host != required.SourceAddr {
					t.Errorf("backend saw the proxy as %s, Proxy.SourceAddr says %s", host, required.SourceAddr)
				}
				save(pc.name+".txt", o)
			})

			t.Run("verified with spoofed headers", func(t *testing.T) {
				o := get(t, required, pki, &alice, spoofHeaders())
				wantCert(t, o, required.Header, pki.leaf.Cert)
				noSpoof(t, o)
			})

			t.Run("required without certificate", func(t *testing.T) {
				c := client(pki, nil)
				resp, err := c.Get(required.URL + "/")
				if err != nil {
					t.Logf("%s refused: %v", pc.name, err)
					return
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode == http.StatusOK || bytes.Contains(body, []byte(`"head"`)) {
					t.Errorf("request without certificate reached the backend: %s", resp.Status)
				}
				t.Logf("%s refused: %s", pc.name, resp.Status)
			})

			wantNoCert := func(t *testing.T, o *observed) {
				t.Helper()
				wantOnly(t, o, optional.Header, pc.noCert)
				wantOnly(t, o, optional.ChainHeader, pc.noCert)
				wantOnly(t, o, optional.VerifyHeader, pc.noCertVerify)
			}

			t.Run("optional without certificate", func(t *testing.T) {
				o := get(t, optional, pki, nil, nil)
				wantNoCert(t, o)
				save(pc.name+"-nocert.txt", o)
			})

			t.Run("optional without certificate spoofed", func(t *testing.T) {
				o := get(t, optional, pki, nil, spoofHeaders())
				noSpoof(t, o)
				wantNoCert(t, o)
				save(pc.name+"-spoofed.txt", o)
			})

			t.Run("optional untrusted certificate", func(t *testing.T) {
				o := get(t, optional, pki, &mallory, nil)
				wantCert(t, o, optional.Header, pki.stranger.Cert)
				if optional.VerifyHeader != "" {
					got := o.values(optional.VerifyHeader)
					if len(got) != 1 || got[0] == optional.VerifyValue {
						t.Errorf("%s = %q for an untrusted certificate", optional.VerifyHeader, got)
					}
				}
				save(pc.name+"-untrusted.txt", o)
			})

			t.Run("websocket upgrade", func(t *testing.T) {
				o := upgrade(t, required, pki, &alice)
				wantCert(t, o, required.Header, pki.leaf.Cert)
			})
		})
	}
}

// wantOnly checks that header name is absent when want is empty, and
// otherwise present once with value want.
func wantOnly(t *testing.T, o *observed, name, want string) {
	t.Helper()
	if name == "" {
		return
	}
	got := o.values(name)
	switch {
	case want == "" && len(got) != 0:
		t.Errorf("%s = %.80q, want no header", name, got)
	case want != "" && (len(got) != 1 || got[0] != want):
		t.Errorf("%s = %.80q, want %q", name, got, want)
	}
}

func spoofHeaders() http.Header {
	h := http.Header{}
	for _, name := range certHeaders {
		h.Set(name, spoofed)
	}
	return h
}

// client returns an HTTP/1.1 client that trusts the proxies' server root,
// presents cert when it is not nil, and makes a full handshake for every
// request (HAProxy cannot report the chain on a resumed session).
func client(pki *capturePKI, cert *tls.Certificate) *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tlsConfig(pki, cert), DisableKeepAlives: true},
	}
}

func tlsConfig(pki *capturePKI, cert *tls.Certificate) *tls.Config {
	cfg := &tls.Config{RootCAs: pki.serverRoot.Pool(), NextProtos: []string{"http/1.1"}}
	if cert != nil {
		// Certificates alone would make crypto/tls send nothing when the
		// server's list of acceptable CAs names none of cert's issuers,
		// as for the untrusted client. Always present cert.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return cert, nil
		}
	}
	return cfg
}

// get sends GET / through p and returns what the backend received.
func get(t *testing.T, p *Proxy, pki *capturePKI, cert *tls.Certificate, extra http.Header) *observed {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+"/", nil)
	mustNot(t, err)
	for name, vals := range extra {
		req.Header[name] = vals
	}
	resp, err := client(pki, cert).Do(req)
	if err != nil {
		t.Fatalf("%s: GET: %v", p.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	mustNot(t, err)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: GET: %s: %.300s", p.Name, resp.Status, body)
	}
	var o observed
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatalf("%s: backend answer: %v: %.300s", p.Name, err, body)
	}
	return &o
}

// upgrade performs a WebSocket opening handshake through p, reads the
// request head the backend echoes after 101, and checks that bytes flow
// both ways through the tunnel.
func upgrade(t *testing.T, p *Proxy, pki *capturePKI, cert *tls.Certificate) *observed {
	t.Helper()
	d := tls.Dialer{Config: tlsConfig(pki, cert), NetDialer: &net.Dialer{Timeout: 5 * time.Second}}
	conn, err := d.DialContext(t.Context(), "tcp", p.Addr)
	if err != nil {
		t.Fatalf("%s: dial: %v", p.Name, err)
	}
	defer conn.Close()
	mustNot(t, conn.SetDeadline(time.Now().Add(10*time.Second)))

	key := base64.StdEncoding.EncodeToString([]byte("certgate-e2e-key"))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", p.Addr, key)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%s: read upgrade response: %v", p.Name, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		t.Fatalf("%s: upgrade: %s: %s", p.Name, resp.Status, body)
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), websocketAccept(key); got != want {
		t.Errorf("%s: Sec-WebSocket-Accept = %q, want %q", p.Name, got, want)
	}
	var n uint32
	mustNot(t, binary.Read(br, binary.BigEndian, &n))
	if n > 1<<20 {
		t.Fatalf("%s: backend record of %d bytes", p.Name, n)
	}
	rec := make([]byte, n)
	_, err = io.ReadFull(br, rec)
	mustNot(t, err)
	var o observed
	mustNot(t, json.Unmarshal(rec, &o))

	msg := []byte("ping through the tunnel")
	_, err = conn.Write(msg)
	mustNot(t, err)
	echo := make([]byte, len(msg))
	if _, err := io.ReadFull(br, echo); err != nil {
		t.Fatalf("%s: read echo: %v", p.Name, err)
	}
	if !bytes.Equal(echo, msg) {
		t.Errorf("%s: echo = %q, want %q", p.Name, echo, msg)
	}
	return &o
}

func websocketAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47A5-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// observed is what the backend received: the proxy's address and the raw
// request head, byte for byte.
type observed struct {
	Peer string `json:"peer"`
	Head string `json:"head"`
}

// headerLines returns the raw header lines of the head, continuation lines
// joined to the line they continue (with their CRLF kept out).
func (o *observed) headerLines() []string {
	lines := strings.Split(strings.TrimSuffix(o.Head, "\r\n\r\n"), "\r\n")
	var out []string
	for _, l := range lines[1:] { // lines[0] is the request line
		if (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) && len(out) > 0 {
			out[len(out)-1] += "\r\n" + l
			continue
		}
		out = append(out, l)
	}
	return out
}

// values returns the values of the header name in order, with optional
// whitespace trimmed and obs-fold continuation lines joined by a space as
// an HTTP server would.
func (o *observed) values(name string) []string {
	var vals []string
	for _, l := range o.headerLines() {
		k, v, ok := strings.Cut(l, ":")
		if !ok || !strings.EqualFold(k, name) {
			continue
		}
		parts := strings.Split(v, "\r\n")
		for i := range parts {
			parts[i] = strings.Trim(parts[i], " \t")
		}
		vals = append(vals, strings.Join(parts, " "))
	}
	return vals
}

// certLines returns the raw lines of the certificate headers, in the order
// received, each ending in a newline.
func (o *observed) certLines() string {
	var b strings.Builder
	for _, l := range o.headerLines() {
		k, _, _ := strings.Cut(l, ":")
		for _, name := range certHeaders {
			if strings.EqualFold(k, name) {
				b.WriteString(l)
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

// backend is a plain-HTTP upstream on 127.0.0.1 that answers every request
// with its raw head as JSON, and completes WebSocket upgrades: after 101 it
// sends the same JSON prefixed with its 32-bit length, then echoes bytes.
// It works on raw connections so that header lines are seen exactly as the
// proxy wrote them, before any parser normalizes them.
type backend struct {
	URL string
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	mustNot(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { serveBackend(conn) })
		}
	})
	return &backend{URL: "http://" + ln.Addr().String()}
}

// maxHead caps the request head the backend reads.
const maxHead = 1 << 20

func serveBackend(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	br := bufio.NewReader(io.LimitReader(conn, maxHead))
	var head bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			return
		}
		if line == "\r\n" || line == "\n" {
			break
		}
	}
	o := observed{Peer: conn.RemoteAddr().String(), Head: head.String()}
	rec, err := json.Marshal(o)
	if err != nil {
		return
	}
	key := ""
	if vals := o.values("Sec-WebSocket-Key"); len(vals) == 1 && len(o.values("Upgrade")) == 1 {
		key = vals[0]
	}
	if key == "" {
		fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(rec), rec)
		return
	}
	fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", websocketAccept(key))
	if err := binary.Write(conn, binary.BigEndian, uint32(len(rec))); err != nil {
		return
	}
	if _, err := conn.Write(rec); err != nil {
		return
	}
	// Echo whatever comes through the tunnel until the client closes.
	buf := make([]byte, 4096)
	for {
		n, err := br.Read(buf)
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// decodeEscapedPEM decodes nginx's $ssl_client_escaped_cert: PEM,
// percent-escaped. PathUnescape keeps a literal '+' (QueryUnescape would
// turn it into a space).
func decodeEscapedPEM(v string) ([]*x509.Certificate, error) {
	s, err := url.PathUnescape(v)
	if err != nil {
		return nil, err
	}
	return parsePEM([]byte(s))
}

// decodeBase64DER decodes standard base64 of one or more concatenated DER
// certificates (HAProxy ssl_c_der and ssl_c_chain_der, Caddy
// certificate_der_base64).
func decodeBase64DER(v string) ([]*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificates(der)
}

// decodeSpacedPEM decodes Apache's %{SSL_CLIENT_CERT}s: PEM whose line
// breaks mod_headers replaced with spaces. The armor lines themselves
// contain spaces, so only the base64 between them is unspaced.
func decodeSpacedPEM(v string) ([]*x509.Certificate, error) {
	const begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
	var der []byte
	rest := v
	for {
		i := strings.Index(rest, begin)
		if i < 0 {
			break
		}
		rest = rest[i+len(begin):]
		j := strings.Index(rest, end)
		if j < 0 {
			return nil, errors.New("unterminated PEM block")
		}
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(rest[:j]), ""))
		if err != nil {
			return nil, err
		}
		der = append(der, b...)
		rest = rest[j+len(end):]
	}
	if der == nil {
		return nil, errors.New("no PEM block")
	}
	return x509.ParseCertificates(der)
}

func parsePEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(bytes.TrimSpace(data)) != 0 {
		return nil, fmt.Errorf("trailing data after PEM: %.40q", data)
	}
	if certs == nil {
		return nil, errors.New("no PEM block")
	}
	return certs, nil
}

func sameCerts(got, want []*x509.Certificate) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !bytes.Equal(got[i].Raw, want[i].Raw) {
			return false
		}
	}
	return true
}

func subjects(certs []*x509.Certificate) []string {
	var s []string
	for _, c := range certs {
		s = append(s, c.Subject.CommonName)
	}
	return s
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustNot(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
