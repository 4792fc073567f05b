// Chat shows a chat room on github.com/gorilla/websocket where the
// certificate is the login: a client's nickname is the common name of the
// certificate that admitted it, and a REST endpoint on the same server,
// behind the same Authenticator, tells a client who it is.
//
// The server has two routes on one HTTPS listener:
//
//   - GET /chat, the room, through [gorilla.Handler]: every message a
//     member sends is broadcast to all members as "nick: text".
//   - GET /whoami, through [httpauth.Authenticator.Middleware]: the
//     caller's common name, certificate fingerprint and expiry as JSON.
//
// Both admit members of the organizational unit "chat" only
// ([httpauth.AllowOU]). Run without flags, the program starts the server,
// lets alice and bob join and exchange a message, asks /whoami, shows
// carol (valid certificate, other unit) being refused, prints the
// transcript and exits 0. With -serve it keeps the server running, writes
// the certificates into -dir and prints commands to join by hand:
//
//	go run ./examples/chat
//	go run ./examples/chat -serve -addr 127.0.0.1:8443
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
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
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/demoserver"
	"github.com/certgate/certgate/internal/testpki"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// run is the whole program: main only maps its error to the exit status.
func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	serve := fs.Bool("serve", false, "keep the server running and print commands to join")
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
	return demo(ctx, p, stdout)
}

// pki holds the demo's certificates, minted in memory so the example needs
// no setup.
type pki struct {
	ca     *testpki.Authority
	server *testpki.Leaf
	alice  *testpki.Leaf // OU chat
	bob    *testpki.Leaf // OU chat
	carol  *testpki.Leaf // OU sales: valid, but not a member
}

func newPKI() (*pki, error) {
	ca, err := testpki.NewRoot(testpki.WithCN("chat CA"))
	if err != nil {
		return nil, err
	}
	p := &pki{ca: ca}
	if p.server, err = ca.Server(); err != nil {
		return nil, err
	}
	if p.alice, err = ca.Leaf(testpki.WithCN("alice"), testpki.WithOU("chat")); err != nil {
		return nil, err
	}
	if p.bob, err = ca.Leaf(testpki.WithCN("bob"), testpki.WithOU("chat")); err != nil {
		return nil, err
	}
	if p.carol, err = ca.Leaf(testpki.WithCN("carol"), testpki.WithOU("sales")); err != nil {
		return nil, err
	}
	return p, nil
}

// newServer starts the chat server on addr. logger receives certgate's
// refusals and the room's joins and leaves; nil keeps it quiet.
func newServer(p *pki, addr string, logger *slog.Logger) (*demoserver.Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// One Authenticator guards both routes, so the room and the REST API
	// agree on who is a member.
	a, err := httpauth.New(httpauth.Config{
		Roots:     p.ca.Pool(),
		Authorize: httpauth.AllowOU("chat"),
		Logger:    logger,
	})
	if err != nil {
		return nil, err
	}
	tlsConfig, err := a.TLSConfig(p.server.TLSCertificate())
	if err != nil {
		return nil, err
	}
	rm := &room{members: map[*member]struct{}{}, log: logger}
	mux := http.NewServeMux()
	mux.Handle("GET /chat", gorilla.Handler(a, nil, rm.serve))
	mux.Handle("GET /whoami", a.Middleware(http.HandlerFunc(whoami)))
	return demoserver.Start(addr, tlsConfig, mux)
}

// identity is the /whoami response.
type identity struct {
	CN          string    `json:"cn"`
	Fingerprint string    `json:"fingerprint"`
	Expires     time.Time `json:"expires"`
}

// whoami answers with the caller's identity, which the middleware put in
// the request's context.
func whoami(w http.ResponseWriter, r *http.Request) {
	id, ok := httpauth.FromContext(r.Context())
	if !ok {
		// Only reachable if the route were registered without the
		// middleware.
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	cn, _ := id.CommonName() // empty when none or ambiguous
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(identity{
		CN:          cn,
		Fingerprint: id.Fingerprint,
		Expires:     id.Certificate.NotAfter.UTC(),
	})
}

// room broadcasts every member's messages to all members.
type room struct {
	log     *slog.Logger
	mu      sync.Mutex
	members map[*member]struct{}
}

// member is one connection in the room. Only its writer goroutine writes
// to conn, because a gorilla connection allows one writer at a time.
type member struct {
	nick string
	conn *websocket.Conn
	send chan string // closed by leave
}

// sendBuffer is how many messages may wait for a slow member before it is
// disconnected rather than slowing down everyone else.
const sendBuffer = 32

// serve runs one member's connection: it joins the room, relays what the
// member says and leaves when the connection ends. ctx ends when the
// member's certificate expires or the server shuts down.
func (rm *room) serve(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity) {
	defer conn.Close()
	nick, ok := id.CommonName()
	if !ok { // no single CN to trust: name the member by fingerprint
		nick = "sha256:" + id.Fingerprint[:16]
	}
	m := &member{nick: nick, conn: conn, send: make(chan string, sendBuffer)}
	written := make(chan struct{})
	go func() {
		defer close(written)
		m.write()
	}()

	rm.join(m)
	stop := context.AfterFunc(ctx, func() {
		// At expiry the adapter has already sent 1008 (policy violation)
		// and closed; otherwise the server is shutting down.
		if !errors.Is(context.Cause(ctx), certgate.ErrCertificateExpired) {
			bye := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down")
			_ = conn.WriteControl(websocket.CloseMessage, bye, time.Now().Add(time.Second))
		}
		conn.Close() // ends the read loop below
	})
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			break
		}
		rm.broadcast(m.nick + ": " + string(msg))
	}
	stop()
	rm.leave(m)
	<-written
}

// write sends the member its messages until leave closes m.send.
func (m *member) write() {
	for msg := range m.send {
		if err := m.conn.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
			m.conn.Close()
			continue
		}
		if err := m.conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			// Closing ends the member's read loop, which then leaves;
			// until then, drain.
			m.conn.Close()
		}
	}
}

func (rm *room) join(m *member) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.members[m] = struct{}{}
	rm.log.Info("joined", "nick", m.nick, "members", len(rm.members))
	rm.broadcastLocked("* " + m.nick + " joined")
}

func (rm *room) leave(m *member) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	delete(rm.members, m)
	close(m.send)
	rm.log.Info("left", "nick", m.nick, "members", len(rm.members))
	rm.broadcastLocked("* " + m.nick + " left")
}

func (rm *room) broadcast(msg string) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.broadcastLocked(msg)
}

func (rm *room) broadcastLocked(msg string) {
	for m := range rm.members {
		select {
		case m.send <- msg:
		default:
			rm.log.Warn("disconnecting slow member", "nick", m.nick)
			m.conn.Close()
		}
	}
}

// demo runs the server on an ephemeral port, lets alice and bob talk and
// prints every step to out.
func demo(ctx context.Context, p *pki, out io.Writer) error {
	s, err := newServer(p, "127.0.0.1:0", nil)
	if err != nil {
		return err
	}
	err = converse(ctx, s.URL, p, out)
	return errors.Join(err, s.Close())
}

// converse is the scripted conversation. Each step waits for the message
// it caused, so the transcript is the same on every run.
func converse(ctx context.Context, baseURL string, p *pki, out io.Writer) error {
	roots := p.ca.Pool()
	alice, err := join(ctx, baseURL, roots, "alice", p.alice, out)
	if err != nil {
		return err
	}
	defer alice.close()
	if err := alice.expect("* alice joined"); err != nil {
		return err
	}
	bob, err := join(ctx, baseURL, roots, "bob", p.bob, out)
	if err != nil {
		return err
	}
	defer bob.close()
	for _, step := range []func() error{
		func() error { return bob.expect("* bob joined") },
		func() error { return alice.expect("* bob joined") },
		func() error { return alice.say("hi bob") },
		func() error { return alice.expect("alice: hi bob") },
		func() error { return bob.expect("alice: hi bob") },
		func() error { return bob.say("hi alice, nice certificate") },
		func() error { return bob.expect("bob: hi alice, nice certificate") },
		func() error { return alice.expect("bob: hi alice, nice certificate") },
	} {
		if err := step(); err != nil {
			return err
		}
	}

	if err := alice.whoami(ctx, baseURL); err != nil {
		return err
	}

	if err := bob.leave(); err != nil {
		return err
	}
	if err := alice.expect("* bob left"); err != nil {
		return err
	}
	if err := alice.leave(); err != nil {
		return err
	}

	status, body, err := refusedJoin(ctx, baseURL, roots, p.carol)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%-5s -> joins: refused, %d %s\n", "carol", status, body)
	return nil
}

// client is one demo member.
type client struct {
	nick string
	conn *websocket.Conn
	tls  *tls.Config
	out  io.Writer
}

// clientTLS returns the TLS configuration of a client holding cert.
func clientTLS(roots *x509.CertPool, leaf *testpki.Leaf) *tls.Config {
	cert := leaf.TLSCertificate()
	return &tls.Config{
		RootCAs: roots,
		// Send the certificate whatever CAs the server names, as curl
		// does; Go's default would silently send none on a mismatch.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		},
	}
}

func join(ctx context.Context, baseURL string, roots *x509.CertPool, nick string, leaf *testpki.Leaf, out io.Writer) (*client, error) {
	c := &client{nick: nick, tls: clientTLS(roots, leaf), out: out}
	d := websocket.Dialer{TLSClientConfig: c.tls, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.DialContext(ctx, wsURL(baseURL), nil)
	if resp != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("%s joins: %w", nick, err)
	}
	c.conn = conn
	fmt.Fprintf(out, "%-5s -> joins\n", nick)
	return c, nil
}

// refusedJoin tries to join with leaf and returns the refusal.
func refusedJoin(ctx context.Context, baseURL string, roots *x509.CertPool, leaf *testpki.Leaf) (int, string, error) {
	d := websocket.Dialer{TLSClientConfig: clientTLS(roots, leaf), HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.DialContext(ctx, wsURL(baseURL), nil)
	if err == nil {
		conn.Close()
		return 0, "", errors.New("carol joined, but she is not in the chat unit")
	}
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body)), err
}

func wsURL(baseURL string) string {
	return "wss" + strings.TrimPrefix(baseURL, "https") + "/chat"
}

func (c *client) say(text string) error {
	if err := c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		return fmt.Errorf("%s says %q: %w", c.nick, text, err)
	}
	fmt.Fprintf(c.out, "%-5s -> %s\n", c.nick, text)
	return nil
}

// expect reads the next message and checks it is want.
func (c *client) expect(want string) error {
	if err := c.conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	_, msg, err := c.conn.ReadMessage()
	if err != nil {
		return fmt.Errorf("%s waits for %q: %w", c.nick, want, err)
	}
	fmt.Fprintf(c.out, "%-5s <- %s\n", c.nick, msg)
	if string(msg) != want {
		return fmt.Errorf("%s got %q, want %q", c.nick, msg, want)
	}
	return nil
}

// whoami asks the REST endpoint, with the same certificate, who c is.
func (c *client) whoami(ctx context.Context, baseURL string) error {
	tr := &http.Transport{TLSClientConfig: c.tls}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/whoami", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var id identity
	if err := json.NewDecoder(resp.Body).Decode(&id); err != nil {
		return fmt.Errorf("whoami: status %d: %w", resp.StatusCode, err)
	}
	fmt.Fprintf(c.out, "%-5s GET /whoami: %d cn=%s fingerprint=%s…\n", c.nick, resp.StatusCode, id.CN, id.Fingerprint[:min(16, len(id.Fingerprint))])
	if id.CN != c.nick {
		return fmt.Errorf("whoami says %q, want %q", id.CN, c.nick)
	}
	return nil
}

// leave closes the connection with a close frame, as a well-behaved
// client does.
func (c *client) leave() error {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
	if err := c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(5*time.Second)); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%-5s -> leaves\n", c.nick)
	return c.close()
}

func (c *client) close() error {
	return c.conn.Close()
}

// startServe writes the certificates into dir, starts the server on addr
// and prints commands to join it with.
func startServe(p *pki, addr, dir string, stdout io.Writer) (*demoserver.Server, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "certgate-chat-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	files, err := writeFiles(p, dir)
	if err != nil {
		return nil, err
	}
	s, err := newServer(p, addr, slog.New(slog.NewTextHandler(stdout, nil)))
	if err != nil {
		return nil, err
	}
	host := strings.TrimPrefix(s.URL, "https://")
	f := func(name string) string { return files[name] }
	fmt.Fprintf(stdout, `Chat room at wss://%[1]s/chat (Ctrl-C to stop). Certificates and keys are in %[2]s.

Ask who you are:

  curl --cacert %[3]s --cert %[4]s --key %[5]s https://%[1]s/whoami
  curl -i --cacert %[3]s --cert %[6]s --key %[7]s https://%[1]s/whoami

Join as alice and as bob, in two terminals, with websocat 1.11 or later
(it reads the client key from PKCS #12):

  openssl pkcs12 -export -passout pass: -in %[4]s -inkey %[5]s -out %[2]s/alice.p12
  SSL_CERT_FILE=%[3]s websocat --client-pkcs12-der %[2]s/alice.p12 wss://%[1]s/chat

  openssl pkcs12 -export -passout pass: -in %[8]s -inkey %[9]s -out %[2]s/bob.p12
  SSL_CERT_FILE=%[3]s websocat --client-pkcs12-der %[2]s/bob.p12 wss://%[1]s/chat

`, host, dir, f("ca.pem"), f("alice.pem"), f("alice-key.pem"), f("carol.pem"), f("carol-key.pem"), f("bob.pem"), f("bob-key.pem"))
	return s, nil
}

// writeFiles writes the CA and the members' certificates and keys into
// dir and returns their paths by file name.
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
	for name, leaf := range map[string]*testpki.Leaf{"alice": p.alice, "bob": p.bob, "carol": p.carol} {
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
