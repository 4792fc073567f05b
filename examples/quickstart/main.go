// Quickstart shows the smallest certgate server: a WebSocket echo service
// that admits a client only by its X.509 certificate, answering everyone
// else with a plain HTTP 401 or 403 instead of an upgrade.
//
// Run without flags, it mints a CA, a server certificate and three client
// certificates in memory, starts the server on 127.0.0.1 and connects four
// clients, then prints what each got and exits 0 when every outcome is the
// expected one:
//
//   - alice, issued by the server's CA and allowed by name: 101 and an echo
//   - a stranger whose certificate also says alice, from an unknown CA: 401
//   - mallory, issued by the right CA but not allowed: 403
//   - a client with no certificate: 401
//
// With -serve it keeps the server running on -addr, writes the certificates
// and keys into -dir and prints curl and websocat commands to try by hand:
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -serve -addr 127.0.0.1:8443 -dir /tmp/qs
//
// The server's TLS configuration comes from
// [httpauth.Authenticator.TLSConfig]: the listener requests a client
// certificate but lets certgate judge it, so a refused client gets an HTTP
// answer saying why rather than a failed handshake.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gorilla/websocket"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/demoserver"
	"github.com/certgate/certgate/internal/testpki"
)

// message is what the trusted client sends and expects back.
const message = "hello"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run is the whole program: main only maps its error to the exit status.
func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	serve := fs.Bool("serve", false, "keep the server running and print commands to try it")
	addr := fs.String("addr", "127.0.0.1:8443", "listen address with -serve")
	dir := fs.String("dir", "", "directory for the certificates and keys with -serve (default: a new temporary directory)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	p, err := newPKI()
	if err != nil {
		return err
	}
	if *serve {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		s, err := startServe(p, *addr, *dir, stdout)
		if err != nil {
			return err
		}
		<-ctx.Done()
		return s.Close()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	results, err := demo(ctx, p)
	if err != nil {
		return err
	}
	if err := printTable(stdout, results); err != nil {
		return err
	}
	failed := 0
	for _, r := range results {
		if !r.ok() {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d outcomes differ from the expected ones", failed, len(results))
	}
	return nil
}

// pki holds the certificates of the demo. Real deployments load them from
// files; testpki mints them in memory so the example needs no setup.
type pki struct {
	ca       *testpki.Authority // issues the server's and the clients' certificates
	server   *testpki.Leaf      // localhost, 127.0.0.1 and ::1
	alice    *testpki.Leaf      // trusted and allowed
	mallory  *testpki.Leaf      // trusted but not allowed
	stranger *testpki.Leaf      // says CN=alice, but from a CA the server does not know
}

func newPKI() (*pki, error) {
	ca, err := testpki.NewRoot(testpki.WithCN("quickstart CA"))
	if err != nil {
		return nil, err
	}
	unknown, err := testpki.NewRoot(testpki.WithCN("unknown CA"))
	if err != nil {
		return nil, err
	}
	p := &pki{ca: ca}
	if p.server, err = ca.Server(); err != nil {
		return nil, err
	}
	if p.alice, err = ca.Leaf(testpki.WithCN("alice")); err != nil {
		return nil, err
	}
	if p.mallory, err = ca.Leaf(testpki.WithCN("mallory")); err != nil {
		return nil, err
	}
	if p.stranger, err = unknown.Leaf(testpki.WithCN("alice")); err != nil {
		return nil, err
	}
	return p, nil
}

// newServer starts the echo server on addr. logger receives certgate's
// refusals and the server's connections; nil keeps it quiet.
func newServer(p *pki, addr string, logger *slog.Logger) (*demoserver.Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a, err := httpauth.New(httpauth.Config{
		Roots:     p.ca.Pool(),
		Authorize: httpauth.AllowCN("alice"),
		Logger:    logger,
	})
	if err != nil {
		return nil, err
	}
	tlsConfig, err := a.TLSConfig(p.server.TLSCertificate())
	if err != nil {
		return nil, err
	}
	echo := func(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity) {
		defer conn.Close()
		// ctx ends when alice's certificate expires or the server shuts
		// down; closing the connection ends the blocked read below.
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
		cn, _ := id.CommonName()
		logger.Info("connected", "cn", cn, "fingerprint", id.Fingerprint)
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
	mux.Handle("/", gorilla.Handler(a, &websocket.Upgrader{}, echo))
	return demoserver.Start(addr, tlsConfig, mux)
}

// attempt is one client of the demo and the status it should get.
type attempt struct {
	client string
	cert   *tls.Certificate // nil: the client sends no certificate
	want   int
}

// result is what an attempt got.
type result struct {
	attempt
	status int    // the handshake's HTTP status, 0 if there was none
	echo   string // what came back after a 101
	body   string // the refusal's text
	err    error  // anything that went wrong besides a refusal
}

func (r result) ok() bool {
	if r.err != nil || r.status != r.want {
		return false
	}
	return r.status != http.StatusSwitchingProtocols || r.echo == message
}

func (r result) expected() string {
	if r.want == http.StatusSwitchingProtocols {
		return "101 + echo"
	}
	return fmt.Sprint(r.want)
}

func (r result) got() string {
	switch {
	case r.err != nil:
		return "error: " + r.err.Error()
	case r.status == http.StatusSwitchingProtocols:
		return fmt.Sprintf("101 + echo %q", r.echo)
	default:
		return strings.TrimSpace(fmt.Sprintf("%d %s", r.status, r.body))
	}
}

// demo starts the server on an ephemeral port, runs every attempt against
// it and stops it again.
func demo(ctx context.Context, p *pki) ([]result, error) {
	s, err := newServer(p, "127.0.0.1:0", nil)
	if err != nil {
		return nil, err
	}
	alice, mallory, stranger := p.alice.TLSCertificate(), p.mallory.TLSCertificate(), p.stranger.TLSCertificate()
	attempts := []attempt{
		{client: "alice (trusted)", cert: &alice, want: http.StatusSwitchingProtocols},
		{client: "stranger (unknown CA)", cert: &stranger, want: http.StatusUnauthorized},
		{client: "mallory (denied name)", cert: &mallory, want: http.StatusForbidden},
		{client: "no certificate", want: http.StatusUnauthorized},
	}
	var results []result
	for _, at := range attempts {
		results = append(results, dial(ctx, s.URL, p.ca.Pool(), at))
	}
	return results, s.Close()
}

// dial connects to the server as one client, sends message after a
// successful upgrade and reads the echo.
func dial(ctx context.Context, baseURL string, roots *x509.CertPool, at attempt) result {
	res := result{attempt: at}
	tlsConfig := &tls.Config{RootCAs: roots}
	if at.cert != nil {
		// Go's client only sends a certificate issued by one of the CAs
		// the server names in its request, and silently sends none
		// otherwise. Returning it unconditionally lets the stranger
		// present its certificate, so the server can say why it refuses.
		cert := at.cert
		tlsConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return cert, nil
		}
	}
	d := websocket.Dialer{TLSClientConfig: tlsConfig, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.DialContext(ctx, "wss"+strings.TrimPrefix(baseURL, "https"), nil)
	if resp != nil {
		res.status = resp.StatusCode
		// On a refusal the dialer has already read (up to 1 KiB of) the
		// body; it holds the server's reason.
		body, rerr := io.ReadAll(resp.Body)
		if cerr := resp.Body.Close(); rerr == nil {
			rerr = cerr
		}
		if rerr != nil && err == nil {
			err = rerr
		}
		res.body = string(body)
	}
	if err != nil {
		// ErrBadHandshake with a response is the refusal this demo is
		// about; anything else is a real failure.
		if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
			res.err = err
		}
		if conn != nil {
			conn.Close()
		}
		return res
	}
	defer conn.Close()
	res.echo, res.err = echoOnce(conn, message)
	return res
}

// echoOnce sends msg, reads the reply and closes the connection cleanly.
func echoOnce(conn *websocket.Conn, msg string) (string, error) {
	deadline := time.Now().Add(5 * time.Second)
	if err := conn.SetWriteDeadline(deadline); err != nil {
		return "", err
	}
	if err := conn.SetReadDeadline(deadline); err != nil {
		return "", err
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		return "", err
	}
	_, reply, err := conn.ReadMessage()
	if err != nil {
		return "", err
	}
	bye := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := conn.WriteControl(websocket.CloseMessage, bye, deadline); err != nil {
		return "", err
	}
	return string(reply), nil
}

// printTable writes the outcome table.
func printTable(w io.Writer, results []result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "client\texpected\tgot\toutcome")
	for _, r := range results {
		outcome := "ok"
		if !r.ok() {
			outcome = "MISMATCH"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.client, r.expected(), r.got(), outcome)
	}
	return tw.Flush()
}

// startServe writes the certificates into dir, starts the server on addr
// and prints commands to try it with.
func startServe(p *pki, addr, dir string, stdout io.Writer) (*demoserver.Server, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "certgate-quickstart-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	files, err := writeFiles(p, dir)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	s, err := newServer(p, addr, logger)
	if err != nil {
		return nil, err
	}
	host := strings.TrimPrefix(s.URL, "https://")
	f := func(name string) string { return files[name] }
	fmt.Fprintf(stdout, `Serving wss://%[1]s/ (Ctrl-C to stop). Certificates and keys are in %[2]s.

WebSocket handshake with curl: alice gets 101 Switching Protocols (curl then
waits on the open connection until --max-time), mallory 403 and a client
without a certificate 401:

  curl -i --http1.1 --max-time 2 --cacert %[3]s --cert %[4]s --key %[5]s \
    -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    https://%[1]s/
  curl -i --http1.1 --cacert %[3]s --cert %[6]s --key %[7]s https://%[1]s/
  curl -i --http1.1 --cacert %[3]s https://%[1]s/

Echo with websocat 1.11 or later, which reads the client key from PKCS #12:

  openssl pkcs12 -export -passout pass: -in %[4]s -inkey %[5]s -out %[8]s
  SSL_CERT_FILE=%[3]s websocat --client-pkcs12-der %[8]s wss://%[1]s/

`, host, dir, f("ca.pem"), f("alice.pem"), f("alice-key.pem"), f("mallory.pem"), f("mallory-key.pem"),
		filepath.Join(dir, "alice.p12"))
	return s, nil
}

// writeFiles writes the CA, the server's and the clients' certificates and
// keys into dir and returns their paths by file name.
func writeFiles(p *pki, dir string) (map[string]string, error) {
	paths := map[string]string{}
	write := func(name string, data []byte, perm os.FileMode) error {
		path := filepath.Join(dir, name)
		paths[name] = path
		return os.WriteFile(path, data, perm)
	}
	if err := write("ca.pem", p.ca.PEM(), 0o644); err != nil {
		return nil, err
	}
	for name, leaf := range map[string]*testpki.Leaf{
		"server": p.server, "alice": p.alice, "mallory": p.mallory, "stranger": p.stranger,
	} {
		key, err := leaf.KeyPEM()
		if err != nil {
			return nil, err
		}
		if err := write(name+".pem", leaf.PEM(), 0o644); err != nil {
			return nil, err
		}
		if err := write(name+"-key.pem", key, 0o600); err != nil {
			return nil, err
		}
	}
	return paths, nil
}
