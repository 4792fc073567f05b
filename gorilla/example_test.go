package gorilla_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
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
