package certgate_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
)

// Gate runs before the upgrade: alice passes, a certificate from an unknown
// CA is refused on the raw connection.
func ExampleGate() {
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

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := certgate.Gate(w, r, auth)
		if !ok {
			return // refused, answered and closed
		}
		// Upgrade here; this example just greets.
		cn, _ := id.CommonName()
		fmt.Fprintf(w, "hello %s", cn)
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{pki.Server.TLSCertificate()},
		ClientAuth:   tls.RequestClientCert,
		ClientCAs:    pki.Root.Pool(),
	}
	srv.StartTLS()
	defer srv.Close()

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
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err != nil {
			log.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s %q\n", client.name, resp.Status, body)
	}
	// Output:
	// alice: 200 OK "hello alice"
	// stranger: 401 Unauthorized "client certificate signed by unknown authority\n"
}

// Reject answers on a raw connection, here one end of a pipe.
func ExampleReject() {
	server, client := net.Pipe()
	go func() {
		denied := &httpauth.Error{Status: http.StatusForbidden, Public: "not\r\nSet-Cookie: on the list"}
		if err := certgate.Reject(server, denied); err != nil {
			log.Print(err)
		}
	}()
	raw, err := io.ReadAll(client)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", raw)
	// Output:
	// "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 27\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\nnotSet-Cookie: on the list\n"
}
