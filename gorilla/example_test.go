package gorilla_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/gorilla/websocket"
)

// Handler serves a WebSocket echo to alice; a client whose certificate
// comes from an unknown CA is refused before any upgrade.
func ExampleHandler() {
	pki, err := testpki.NewSet()
	if err != nil {
		log.Fatal(err)
	}
	auth, err := httpauth.New(httpauth.Config{
		Roots:     pki.Root.Pool(),
		Authorize: httpauth.AllowCN("alice"),
	})
	if err != nil {
		log.Fatal(err)
	}

	h := gorilla.Handler(auth, nil, func(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity) {
		defer conn.Close()
		cn, _ := id.CommonName()
		for {
			mt, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			reply := fmt.Sprintf("%s from %s", msg, cn)
			if err := conn.WriteMessage(mt, []byte(reply)); err != nil {
				return
			}
		}
	})
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{pki.Server.TLSCertificate()},
		ClientAuth:   tls.RequestClientCert, // certgate verifies
		ClientCAs:    pki.Root.Pool(),
	}
	srv.StartTLS()
	defer srv.Close()
	url := "wss" + strings.TrimPrefix(srv.URL, "https")

	for _, client := range []struct {
		name string
		leaf *testpki.Leaf
	}{{"alice", pki.Alice}, {"stranger", pki.Stranger}} {
		cert := client.leaf.TLSCertificate()
		d := websocket.Dialer{TLSClientConfig: &tls.Config{
			RootCAs: pki.Root.Pool(),
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return &cert, nil
			},
		}}
		conn, resp, err := d.Dial(url, nil)
		if err != nil {
			fmt.Printf("%s: %v (%s)\n", client.name, err, resp.Status)
			resp.Body.Close()
			continue
		}
		if err := conn.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
			log.Fatal(err)
		}
		_, msg, err := conn.ReadMessage()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s\n", client.name, msg)
		conn.Close()
	}
	// Output:
	// alice: hello from alice
	// stranger: websocket: bad handshake (401 Unauthorized)
}

// NewUpgrader gates a server that calls Upgrade itself: only the line that
// makes the upgrader changes, and the refused client never reaches the
// handler's code after Upgrade.
func ExampleNewUpgrader() {
	pki, err := testpki.NewSet()
	if err != nil {
		log.Fatal(err)
	}
	auth, err := httpauth.New(httpauth.Config{Roots: pki.Root.Pool()})
	if err != nil {
		log.Fatal(err)
	}

	// Was: upgrader := &websocket.Upgrader{ReadBufferSize: 1024}
	upgrader := gorilla.NewUpgrader(auth, &websocket.Upgrader{ReadBufferSize: 1024})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // refused or not an upgrade; the client has its answer
		}
		defer conn.Close()
		if err := conn.WriteMessage(websocket.TextMessage, []byte("welcome")); err != nil {
			log.Print(err)
		}
	}))
	if srv.TLS, err = auth.TLSConfig(pki.Server.TLSCertificate()); err != nil {
		log.Fatal(err)
	}
	srv.StartTLS()
	defer srv.Close()

	for _, leaf := range []*testpki.Leaf{pki.Alice, pki.Stranger} {
		d := websocket.Dialer{TLSClientConfig: &tls.Config{
			RootCAs:      pki.Root.Pool(),
			Certificates: []tls.Certificate{leaf.TLSCertificate()},
		}}
		conn, resp, err := d.Dial("wss"+strings.TrimPrefix(srv.URL, "https"), nil)
		if err != nil {
			fmt.Println(resp.Status)
			resp.Body.Close()
			continue
		}
		_, msg, err := conn.ReadMessage()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(msg))
		conn.Close()
	}
	// Output:
	// welcome
	// 401 Unauthorized
}

// An existing call site that upgrades with the Upgrader holds the
// connection so that it ends, with a 1008 close frame, when the
// certificate expires, is revoked or its CA is rotated out, as Handler's
// connections do.
func ExampleUpgrader_UpgradeWithIdentity_hold() {
	auth, err := httpauth.New(httpauth.Config{Roots: mustPool()})
	if err != nil {
		log.Fatal(err)
	}
	u := gorilla.NewUpgrader(auth, &websocket.Upgrader{})

	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		conn, id, err := u.UpgradeWithIdentity(w, r, nil)
		if err != nil {
			return // refused or failed, and answered
		}
		// Not r.Context(): it ends when this handler returns, and serve
		// may run on in another goroutine.
		ctx, release := auth.Hold(context.Background(), r, id, func(cause error) { gorilla.Disconnect(conn, cause) })
		go func() {
			defer release()
			defer conn.Close()
			for ctx.Err() == nil {
				mt, msg, err := conn.ReadMessage() // fails once Disconnect closed conn
				if err != nil {
					return
				}
				_ = conn.WriteMessage(mt, msg)
			}
		}()
	})
}

func mustPool() *x509.CertPool {
	pki, err := testpki.NewSet()
	if err != nil {
		log.Fatal(err)
	}
	return pki.Root.Pool()
}
