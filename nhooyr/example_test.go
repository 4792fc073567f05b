package nhooyr_test

//lint:file-ignore SA1019 this package exists for users of the deprecated nhooyr.io/websocket.

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/nhooyr"
	"nhooyr.io/websocket"
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

	h := nhooyr.Handler(auth, nil, func(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity) {
		defer conn.CloseNow()
		cn, _ := id.CommonName()
		for {
			typ, msg, err := conn.Read(ctx)
			if err != nil {
				return
			}
			reply := fmt.Sprintf("%s from %s", msg, cn)
			if err := conn.Write(ctx, typ, []byte(reply)); err != nil {
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

	ctx := context.Background()
	for _, client := range []struct {
		name string
		leaf *testpki.Leaf
	}{{"alice", pki.Alice}, {"stranger", pki.Stranger}} {
		cert := client.leaf.TLSCertificate()
		tr := &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: pki.Root.Pool(),
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return &cert, nil
			},
		}}
		conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
		if err != nil {
			fmt.Printf("%s: refused (%s)\n", client.name, resp.Status)
			tr.CloseIdleConnections()
			continue
		}
		if err := conn.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
			log.Fatal(err)
		}
		_, msg, err := conn.Read(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s\n", client.name, msg)
		conn.Close(websocket.StatusNormalClosure, "")
		tr.CloseIdleConnections()
	}
	// Output:
	// alice: hello from alice
	// stranger: refused (401 Unauthorized)
}
