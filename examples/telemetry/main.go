// Telemetry shows devices streaming readings over github.com/coder/websocket,
// each identified by the SPIFFE ID in its certificate
// (spiffe://example.org/device/<id>) rather than by anything it says.
//
// The server admits only devices of the trust domain example.org
// ([httpauth.AllowSPIFFEID]) whose ID names a device, accepts them with
// [coder.Handler], and logs every reading with the device ID taken from the
// verified certificate. It answers each reading with an acknowledgement,
// so a device knows what arrived.
//
// Run, it starts the server on 127.0.0.1, lets two devices send a few
// readings each, shows that a device of another trust domain is refused
// with 403 although the same CA issued its certificate, and exits 0:
//
//	go run ./examples/telemetry
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
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/certgate/certgate/coder"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/demoserver"
	"github.com/certgate/certgate/internal/testpki"
)

// trustDomain is the SPIFFE trust domain the server accepts devices from.
const trustDomain = "spiffe://example.org"

// devicePrefix starts the path of every device's SPIFFE ID.
const devicePrefix = "/device/"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "telemetry:", err)
		os.Exit(1)
	}
}

// run is the whole program: main only maps its error to the exit status.
func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("telemetry", flag.ContinueOnError)
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
	return demo(ctx, &demoserver.LockedWriter{W: stdout})
}

// reading is what a device sends.
type reading struct {
	Seq     int     `json:"seq"`
	Celsius float64 `json:"celsius"`
}

// ack is the server's answer to a reading.
type ack struct {
	Seq int `json:"seq"`
}

// deviceAuthorizer admits devices of trustDomain only. AllowSPIFFEID
// checks the trust domain (and that the leaf has exactly one URI SAN, as
// the X509-SVID specification requires); the second check keeps other
// workloads of the domain, such as spiffe://example.org/service/billing,
// out of the device endpoint.
func deviceAuthorizer() httpauth.Authorizer {
	return httpauth.AllOf(
		httpauth.AllowSPIFFEID(trustDomain),
		func(_ context.Context, id *httpauth.Identity) error {
			if _, ok := deviceID(id.Certificate); !ok {
				return errors.New("telemetry: SPIFFE ID does not name a device")
			}
			return nil
		},
	)
}

// deviceID returns the device part of cert's SPIFFE ID, if it names one.
func deviceID(cert *x509.Certificate) (string, bool) {
	if len(cert.URIs) != 1 || cert.URIs[0].Scheme != "spiffe" {
		return "", false
	}
	id, ok := strings.CutPrefix(cert.URIs[0].Path, devicePrefix)
	return id, ok && id != "" && !strings.Contains(id, "/")
}

// newServer starts the collector on addr over TLS. logger receives the
// readings and certgate's refusals.
func newServer(ca *testpki.Authority, addr string, logger *slog.Logger) (*demoserver.Server, error) {
	serverCert, err := ca.Server()
	if err != nil {
		return nil, err
	}
	a, err := httpauth.New(httpauth.Config{
		Roots:     ca.Pool(),
		Authorize: deviceAuthorizer(),
		Logger:    logger,
	})
	if err != nil {
		return nil, err
	}
	tlsConfig, err := a.TLSConfig(serverCert.TLSCertificate())
	if err != nil {
		return nil, err
	}
	collect := func(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity) {
		defer conn.CloseNow()
		// The authorizer made sure there is a device ID.
		device, _ := deviceID(id.Certificate)
		for {
			// ctx ends when the device's certificate expires or the server
			// shuts down; coder/websocket then closes the connection.
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
	mux := http.NewServeMux()
	mux.Handle("GET /telemetry", coder.Handler(a, nil, collect))
	return demoserver.Start(addr, tlsConfig, mux)
}

// device is a demo device with its certificate.
type device struct {
	leaf     *testpki.Leaf
	readings []float64
}

func (d *device) spiffeID() string { return d.leaf.Cert.URIs[0].String() }

// demo starts the server, runs the devices against it and stops it.
func demo(ctx context.Context, out io.Writer) error {
	ca, err := testpki.NewRoot(testpki.WithCN("telemetry CA"))
	if err != nil {
		return err
	}
	// Keep the logs stable from run to run: no timestamps.
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
	s, err := newServer(ca, "127.0.0.1:0", logger)
	if err != nil {
		return err
	}
	err = runDevices(ctx, ca, s.URL, out)
	return errors.Join(err, s.Close())
}

func runDevices(ctx context.Context, ca *testpki.Authority, baseURL string, out io.Writer) error {
	mint := func(spiffeID string) (*testpki.Leaf, error) {
		return ca.Leaf(testpki.WithCN(""), testpki.WithURI(spiffeID))
	}
	var devices []*device
	for _, d := range []struct {
		id       string
		readings []float64
	}{
		{trustDomain + "/device/thermo-1", []float64{21.5, 21.7, 22.0}},
		{trustDomain + "/device/thermo-2", []float64{19.0, 18.8}},
	} {
		leaf, err := mint(d.id)
		if err != nil {
			return err
		}
		devices = append(devices, &device{leaf: leaf, readings: d.readings})
	}
	for _, d := range devices {
		if err := d.report(ctx, ca.Pool(), baseURL, out); err != nil {
			return fmt.Errorf("%s: %w", d.spiffeID(), err)
		}
	}

	// Same CA, same path, but another trust domain: the certificate is
	// valid, the authorizer says no.
	foreign, err := mint("spiffe://evil.example/device/thermo-1")
	if err != nil {
		return err
	}
	fd := &device{leaf: foreign}
	status, body, err := fd.refused(ctx, ca.Pool(), baseURL)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "device %s: refused, %d %s\n", fd.spiffeID(), status, body)
	if status != http.StatusForbidden {
		return fmt.Errorf("device %s got %d, want 403", fd.spiffeID(), status)
	}
	return nil
}

// dial connects as d. The transport is closed when the dial is over:
// after the upgrade the connection no longer belongs to it.
func (d *device) dial(ctx context.Context, roots *x509.CertPool, baseURL string) (*websocket.Conn, *http.Response, error) {
	cert := d.leaf.TLSCertificate()
	tr := &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: roots,
		// Send the certificate whatever CAs the server names; Go's
		// default would silently send none on a mismatch.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		},
	}}
	defer tr.CloseIdleConnections()
	u, err := url.Parse(baseURL + "/telemetry")
	if err != nil {
		return nil, nil, err
	}
	u.Scheme = "wss"
	return websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
}

// report connects, sends every reading, waits for each acknowledgement and
// disconnects cleanly.
func (d *device) report(ctx context.Context, roots *x509.CertPool, baseURL string, out io.Writer) error {
	conn, _, err := d.dial(ctx, roots, baseURL)
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	fmt.Fprintf(out, "device %s: connected\n", d.spiffeID())
	for i, c := range d.readings {
		seq := i + 1
		if err := wsjson.Write(ctx, conn, reading{Seq: seq, Celsius: c}); err != nil {
			return err
		}
		var a ack
		if err := wsjson.Read(ctx, conn, &a); err != nil {
			return err
		}
		if a.Seq != seq {
			return fmt.Errorf("acknowledgement for %d, want %d", a.Seq, seq)
		}
	}
	fmt.Fprintf(out, "device %s: %d readings acknowledged\n", d.spiffeID(), len(d.readings))
	return conn.Close(websocket.StatusNormalClosure, "done")
}

// refused tries to connect as d and returns the refusal.
func (d *device) refused(ctx context.Context, roots *x509.CertPool, baseURL string) (int, string, error) {
	conn, resp, err := d.dial(ctx, roots, baseURL)
	if err == nil {
		conn.CloseNow()
		return 0, "", errors.New("connected, but should have been refused")
	}
	if resp == nil {
		return 0, "", err
	}
	// coder/websocket keeps the first KiB of a refusal's body.
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body)), err
}
