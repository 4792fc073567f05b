package httpauth_test

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
)

// The REST endpoint admits alice and refuses bob (denied) and a client
// without a certificate. TLSConfig makes the listener ask for certificates
// and lets the Authenticator answer refusals with a status.
func ExampleNew() {
	pki, err := testpki.NewSet()
	if err != nil {
		log.Fatal(err)
	}
	a, err := httpauth.New(httpauth.Config{
		Roots:     pki.Root.Pool(),
		Authorize: httpauth.AllowCN("alice"),
	})
	if err != nil {
		log.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := httpauth.FromContext(r.Context())
		cn, _ := id.CommonName()
		fmt.Fprintf(w, "hello %s", cn)
	})
	srv := httptest.NewUnstartedServer(a.Middleware(api))
	if srv.TLS, err = a.TLSConfig(pki.Server.TLSCertificate()); err != nil {
		log.Fatal(err)
	}
	srv.StartTLS()
	defer srv.Close()

	for _, c := range []struct {
		name string
		leaf *testpki.Leaf
	}{{"alice", pki.Alice}, {"bob", pki.Bob}, {"anonymous", nil}} {
		status, body := fetch(srv.URL, pki, c.leaf)
		fmt.Printf("%-9s %d %s\n", c.name, status, body)
	}
	// Output:
	// alice     200 hello alice
	// bob       403 access denied
	// anonymous 401 client certificate required
}

// Behind nginx the certificate arrives in a header, which is believed only
// from the proxy's address; the same header sent by anyone else is refused.
func ExampleSource() {
	pki, err := testpki.NewSet()
	if err != nil {
		log.Fatal(err)
	}
	a, err := httpauth.New(httpauth.Config{
		Source: httpauth.Source{
			Preset:         httpauth.PresetNginx, // X-SSL-Client-Cert + X-SSL-Client-Verify
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32")},
		},
		Roots: pki.Root.Pool(),
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, peer := range []string{"10.0.0.5:41000", "203.0.113.9:41000"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-SSL-Client-Cert", url.PathEscape(string(pki.Alice.ChainPEM())))
		r.Header.Set("X-SSL-Client-Verify", "SUCCESS")
		r.Header.Set("X-Forwarded-For", "10.0.0.5") // ignored: only RemoteAddr counts
		id, err := a.Authenticate(r)
		var refusal *httpauth.Error
		if errors.As(err, &refusal) {
			fmt.Printf("%s: %d, untrusted proxy: %t\n", peer, refusal.ResponseStatus(), errors.Is(err, httpauth.ErrUntrustedProxy))
			continue
		}
		fmt.Printf("%s: %s\n", peer, id.Certificate.Subject.CommonName)
	}
	// Output:
	// 10.0.0.5:41000: alice
	// 203.0.113.9:41000: 401, untrusted proxy: true
}

// Helpers combine: here members of OU "edge" from the test intermediate,
// or one device pinned by fingerprint.
func ExampleAnyOf() {
	pki, err := testpki.NewSet()
	if err != nil {
		log.Fatal(err)
	}
	edge, err := pki.Intermediate.Leaf(testpki.WithCN("gw-1"), testpki.WithOU("edge"))
	if err != nil {
		log.Fatal(err)
	}
	authz := httpauth.AnyOf(
		httpauth.AllOf(
			httpauth.AllowIssuer(pkix.Name{CommonName: pki.Intermediate.Cert.Subject.CommonName}),
			httpauth.AllowOU("edge"),
		),
		httpauth.AllowFingerprints("SHA256:"+httpauth.Fingerprint(pki.Bob.Cert)),
	)
	for _, l := range []*testpki.Leaf{edge, pki.Bob, pki.Alice} {
		id := &httpauth.Identity{Certificate: l.Cert, Fingerprint: httpauth.Fingerprint(l.Cert)}
		fmt.Printf("%s allowed: %t\n", l.Cert.Subject.CommonName, authz(context.Background(), id) == nil)
	}
	// Output:
	// gw-1 allowed: true
	// bob allowed: true
	// alice allowed: false
}

// Serial numbers are unique per issuer only: two intermediates under one
// root may both issue serial 10:01. AllowIssuerSerial pins the serial to
// its issuer, so the partner CA's certificate with the same serial is
// refused.
func ExampleAllowIssuerSerial() {
	pki, err := testpki.NewSet()
	if err != nil {
		log.Fatal(err)
	}
	partners, err := pki.Root.Intermediate(testpki.WithCN("partners"))
	if err != nil {
		log.Fatal(err)
	}
	serial := testpki.WithSerial(big.NewInt(0x1001))
	sensor, err := pki.Intermediate.Leaf(testpki.WithCN("sensor-1"), serial)
	if err != nil {
		log.Fatal(err)
	}
	partner, err := partners.Leaf(testpki.WithCN("partner-1"), serial)
	if err != nil {
		log.Fatal(err)
	}
	a, err := httpauth.New(httpauth.Config{
		Roots:     pki.Root.Pool(),
		Authorize: httpauth.AllowIssuerSerial(pki.Intermediate.Cert, "10:01"),
	})
	if err != nil {
		log.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := httpauth.FromContext(r.Context())
		cn, _ := id.CommonName()
		fmt.Fprintf(w, "hello %s", cn)
	})
	srv := httptest.NewUnstartedServer(a.Middleware(api))
	if srv.TLS, err = a.TLSConfig(pki.Server.TLSCertificate()); err != nil {
		log.Fatal(err)
	}
	srv.StartTLS()
	defer srv.Close()

	for _, leaf := range []*testpki.Leaf{sensor, partner} {
		status, body := fetch(srv.URL, pki, leaf)
		fmt.Printf("%-9s serial %s: %d %s\n", leaf.Cert.Subject.CommonName, leaf.Cert.SerialNumber.Text(16), status, body)
	}
	// Output:
	// sensor-1  serial 1001: 200 hello sensor-1
	// partner-1 serial 1001: 403 access denied
}

// SPIFFE IDs: exact IDs or a whole trust domain.
func ExampleAllowSPIFFEID() {
	pki, err := testpki.NewSet()
	if err != nil {
		log.Fatal(err)
	}
	authz := httpauth.AllowSPIFFEID("spiffe://example.org/user/alice")
	for _, l := range []*testpki.Leaf{pki.Alice, pki.Bob} {
		err := authz(context.Background(), &httpauth.Identity{Certificate: l.Cert})
		fmt.Printf("%s: %v\n", l.Cert.URIs[0], err)
	}
	// Output:
	// spiffe://example.org/user/alice: <nil>
	// spiffe://example.org/user/bob: SPIFFE ID spiffe://example.org/user/bob not allowed
}

// An ErrorHandler answers API clients that ask for JSON itself and hands
// every other refusal to WritePlainError, the default writer. Either way
// the refusal is marked no-store and nosniff.
func ExampleWritePlainError() {
	a, err := httpauth.New(httpauth.Config{
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, e *httpauth.Error) {
			if r.Header.Get("Accept") != "application/json" {
				httpauth.WritePlainError(w, e)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(e.ResponseStatus())
			_ = json.NewEncoder(w).Encode(map[string]string{"error": e.PublicText()})
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	h := a.Middleware(http.NotFoundHandler())
	for _, accept := range []string{"text/html", "application/json"} {
		r := httptest.NewRequest(http.MethodGet, "/whoami", nil) // plain HTTP: no certificate
		r.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%d %s %s %q\n", w.Code, w.Header().Get("Cache-Control"), w.Header().Get("Content-Type"), w.Body.String())
	}
	// Output:
	// 401 no-store text/plain; charset=utf-8 "client certificate required\n"
	// 401 no-store application/json "{\"error\":\"client certificate required\"}\n"
}

// fetch sends one request with leaf as client certificate.
func fetch(url string, pki *testpki.Set, leaf *testpki.Leaf) (int, string) {
	cfg := &tls.Config{RootCAs: pki.Root.Pool(), MinVersion: tls.VersionTLS12}
	if leaf != nil {
		cfg.Certificates = []tls.Certificate{leaf.TLSCertificate()}
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(bytesTrim(body))
}

func bytesTrim(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
