// Telemetry collects readings from devices over github.com/coder/websocket.
// Each device is known by the SPIFFE ID in its certificate
// (spiffe://example.org/device/<id>), never by anything it sends.
//
// The collector admits only devices of its trust domain
// ([httpauth.AllowSPIFFEID] plus a check that the ID names a device),
// accepts them with [coder.Handler], logs every reading under the device
// ID taken from the verified certificate, and acknowledges each reading
// so a device knows what arrived. A device sends JSON objects such as
// {"seq": 1, "celsius": 21.5} to /telemetry and reads {"seq": 1} back.
//
//	go run ./examples/telemetry -cert server.pem -key server-key.pem -client-ca ca.pem
//
// examples/README.md shows how to make these files and a device
// certificate.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/certgate/certgate/coder"
	"github.com/certgate/certgate/httpauth"
)

func main() {
	addr := flag.String("addr", "localhost:8443", "address to listen on")
	certFile := flag.String("cert", "server.pem", "the server's certificate, PEM")
	keyFile := flag.String("key", "server-key.pem", "the server's private key, PEM")
	caFile := flag.String("client-ca", "ca.pem", "the CAs that issue device certificates, PEM")
	trustDomain := flag.String("trust-domain", "spiffe://example.org", "the SPIFFE trust domain devices belong to")
	flag.Parse()

	srv, err := newServer(*addr, *certFile, *keyFile, *caFile, *trustDomain, slog.Default())
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("collecting at wss://%s/telemetry", *addr)
	log.Fatal(srv.ListenAndServeTLS("", ""))
}

// newServer loads the certificates and returns the collector.
func newServer(addr, certFile, keyFile, caFile, trustDomain string, logger *slog.Logger) (*http.Server, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no PEM certificate found", caFile)
	}
	a, err := httpauth.New(httpauth.Config{
		Roots: roots,
		// AllowSPIFFEID checks the trust domain, and that the leaf has
		// exactly one URI SAN as X509-SVIDs must. The second check keeps
		// other workloads of the domain, such as
		// spiffe://example.org/service/billing, away from devices' data.
		Authorize: httpauth.AllOf(httpauth.AllowSPIFFEID(trustDomain), isDevice),
		Logger:    logger,
	})
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	tlsConfig, err := a.TLSConfig(cert)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /telemetry", coder.Handler(a, nil, collect(logger)))
	return &http.Server{Addr: addr, Handler: mux, TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second}, nil
}

// isDevice refuses certificates whose SPIFFE ID names no device.
func isDevice(_ context.Context, id *httpauth.Identity) error {
	if _, ok := deviceID(id.Certificate); !ok {
		return errors.New("telemetry: SPIFFE ID does not name a device")
	}
	return nil
}

// deviceID returns the device part of cert's SPIFFE ID, if it names one.
func deviceID(cert *x509.Certificate) (string, bool) {
	if len(cert.URIs) != 1 || cert.URIs[0].Scheme != "spiffe" {
		return "", false
	}
	id, ok := strings.CutPrefix(cert.URIs[0].Path, "/device/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return id, true
}

// reading is what a device sends.
type reading struct {
	Seq     int     `json:"seq"`
	Celsius float64 `json:"celsius"`
}

// ack is the collector's answer to a reading.
type ack struct {
	Seq int `json:"seq"`
}

// collect returns the connection handler: it logs the device's readings
// and acknowledges each. ctx ends when the device's certificate expires,
// and coder/websocket then closes the connection.
func collect(logger *slog.Logger) func(context.Context, *websocket.Conn, *httpauth.Identity) {
	return func(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity) {
		defer conn.CloseNow()
		device, _ := deviceID(id.Certificate) // the authorizer made sure there is one
		for {
			var r reading
			if err := wsjson.Read(ctx, conn, &r); err != nil {
				if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
					logger.Warn("device connection ended", "device", device, "err", err)
				}
				return
			}
			logger.Info("reading", "device", device, "seq", r.Seq, "celsius", r.Celsius)
			if err := wsjson.Write(ctx, conn, ack{Seq: r.Seq}); err != nil {
				return
			}
		}
	}
}
