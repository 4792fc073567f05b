// Quickstart is the smallest certgate server: a WebSocket echo service that
// admits a client only by its X.509 certificate and answers everyone else
// with a plain HTTP 401 or 403 instead of an upgrade.
//
// It needs no setup. It makes a throwaway CA and certificates in memory
// (certs.go), starts the server on 127.0.0.1, connects four clients and
// prints what each got:
//
//   - alice, issued by the server's CA and allowed by name: 101 and an echo
//   - a stranger whose certificate also says alice, from an unknown CA: 401
//   - mallory, issued by the right CA but not allowed: 403
//   - a client with no certificate: 401
//
// It exits 0 when every outcome is the expected one:
//
//	go run ./examples/quickstart
//
// newServer is the part a real program keeps; examples/chat is one that
// loads its certificates from files.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gorilla/websocket"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// newServer returns the echo server for clients of the CAs in roots. The
// listener only asks for a certificate (Authenticator.TLSConfig) and
// certgate judges it, so a refused client gets an HTTP answer saying why
// rather than a failed handshake.
func newServer(roots *x509.CertPool, cert tls.Certificate) (*http.Server, error) {
	a, err := httpauth.New(httpauth.Config{
		Roots:     roots,
		Authorize: httpauth.AllowCN("alice"),
	})
	if err != nil {
		return nil, err
	}
	tlsConfig, err := a.TLSConfig(cert)
	if err != nil {
		return nil, err
	}
	return &http.Server{
		Handler:           gorilla.Handler(a, nil, echo),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 5 * time.Second,
	}, nil
}

// echo sends every message back. certgate closes the connection with
// status 1008 when the client's certificate expires.
func echo(_ context.Context, conn *websocket.Conn, _ *httpauth.Identity) {
	defer conn.Close()
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

// run starts the server, connects the four clients and prints the table.
func run(out io.Writer) error {
	ca, err := newAuthority("quickstart CA")
	if err != nil {
		return err
	}
	unknown, err := newAuthority("unknown CA")
	if err != nil {
		return err
	}
	serverCert, err := ca.server()
	if err != nil {
		return err
	}
	alice, err := ca.client("alice")
	if err != nil {
		return err
	}
	mallory, err := ca.client("mallory")
	if err != nil {
		return err
	}
	stranger, err := unknown.client("alice")
	if err != nil {
		return err
	}

	srv, err := newServer(ca.pool(), serverCert)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()
	url := "wss://" + ln.Addr().String() + "/"

	clients := []struct {
		name string
		cert *tls.Certificate // nil: the client sends none
		want string
	}{
		{"alice (trusted)", &alice, `101 echo "hello"`},
		{"stranger (unknown CA)", &stranger, "401 client certificate signed by unknown authority"},
		{"mallory (denied name)", &mallory, "403 access denied"},
		{"no certificate", nil, "401 client certificate required"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "client\tgot\toutcome")
	failed := 0
	for _, c := range clients {
		got, err := connect(ctx, url, ca.pool(), c.cert)
		if err != nil {
			got = "error: " + err.Error()
		}
		outcome := "ok"
		if got != c.want {
			outcome, failed = "MISMATCH, want "+c.want, failed+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.name, got, outcome)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d outcomes differ from the expected ones", failed, len(clients))
	}
	return nil
}

// connect opens a WebSocket to url as the holder of cert, sends "hello"
// and says what happened: the status and the echo, or the refusal.
func connect(ctx context.Context, url string, roots *x509.CertPool, cert *tls.Certificate) (string, error) {
	tlsConfig := &tls.Config{RootCAs: roots}
	if cert != nil {
		// Go's client sends a certificate only if the server names its
		// issuer among the CAs it accepts, and silently sends none
		// otherwise. Sending it anyway lets the server say why it refuses
		// the stranger.
		tlsConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return cert, nil
		}
	}
	d := websocket.Dialer{TLSClientConfig: tlsConfig, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.DialContext(ctx, url, nil)
	if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
		// The dialer has read (up to 1 KiB of) the refusal's body.
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body))), err
	}
	if err != nil {
		return "", err
	}
	defer conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	if err := conn.SetReadDeadline(deadline); err != nil {
		return "", err
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
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
	return fmt.Sprintf("%d echo %q", resp.StatusCode, reply), nil
}
