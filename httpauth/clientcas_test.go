package httpauth_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// perRoute is one listener's worth of trust: devices and administrators,
// each with their own CA and authorizer.
type perRoute struct {
	devicesCA, adminsCA *testpki.Authority
	devices, admins     *httpauth.Authenticator
	server              *testpki.Leaf
}

func newPerRoute(t *testing.T) *perRoute {
	t.Helper()
	var p perRoute
	var err error
	p.devicesCA, err = testpki.NewRoot(testpki.WithCN("devices CA"))
	require.NoError(t, err)
	p.adminsCA, err = testpki.NewRoot(testpki.WithCN("admins CA"))
	require.NoError(t, err)
	p.server, err = p.devicesCA.Server()
	require.NoError(t, err)
	p.devices = mustNew(t, httpauth.Config{Roots: p.devicesCA.Pool(), Authorize: httpauth.AllowSPIFFEID("spiffe://example.org/device/thermo-1")})
	p.admins = mustNew(t, httpauth.Config{Roots: p.adminsCA.Pool(), Authorize: httpauth.AllowOU("admins")})
	return &p
}

func (p *perRoute) leaf(t *testing.T, ca *testpki.Authority, opts ...testpki.Option) *testpki.Leaf {
	t.Helper()
	l, err := ca.Leaf(opts...)
	require.NoError(t, err)
	return l
}

// subjects returns the CA names a pool offers, as strings for comparison.
func subjects(pool *x509.CertPool) []string {
	var names []string
	for _, s := range pool.Subjects() { //nolint:staticcheck // not a system pool
		names = append(names, string(s))
	}
	return names
}

func rawSubject(a *testpki.Authority) string {
	return string(a.Cert.RawSubject)
}

func TestTLSConfigForRefusesWhatCannotWork(t *testing.T) {
	p := newPerRoute(t)
	server := []tls.Certificate{p.server.TLSCertificate()}
	noRoots := mustNew(t, httpauth.Config{})
	behindNginx := mustNew(t, httpauth.Config{Roots: p.devicesCA.Pool(), Source: httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: loopback}})
	tests := []struct {
		name  string
		certs []tls.Certificate
		auths []*httpauth.Authenticator
		want  string
	}{
		{"no server certificate", nil, []*httpauth.Authenticator{p.devices}, "server's certificate"},
		{"no Authenticator", server, nil, "needs the Authenticators"},
		{"nil Authenticator", server, []*httpauth.Authenticator{p.devices, nil}, "Authenticator 1 is nil"},
		{"Authenticator without roots", server, []*httpauth.Authenticator{p.devices, noRoots}, "Authenticator 1 has no Config.Roots"},
		{"header source", server, []*httpauth.Authenticator{behindNginx}, "reads certificates from header X-Ssl-Client-Cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := httpauth.TLSConfigFor(tt.certs, tt.auths...)
			assert.ErrorContains(t, err, tt.want)
			assert.Nil(t, cfg)
		})
	}
}

func TestTLSConfigForListsEveryRoutesCAs(t *testing.T) {
	p := newPerRoute(t)
	fallback := mustNew(t, httpauth.Config{Roots: p.adminsCA.Pool(), Source: httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: loopback, FallbackToTLS: true}})
	tests := []struct {
		name  string
		auths []*httpauth.Authenticator
		want  []string
	}{
		{"one", []*httpauth.Authenticator{p.devices}, []string{rawSubject(p.devicesCA)}},
		{"two", []*httpauth.Authenticator{p.devices, p.admins}, []string{rawSubject(p.devicesCA), rawSubject(p.adminsCA)}},
		{"same CA twice is named once", []*httpauth.Authenticator{p.devices, p.devices}, []string{rawSubject(p.devicesCA)}},
		{"header source falling back to TLS", []*httpauth.Authenticator{p.devices, fallback}, []string{rawSubject(p.devicesCA), rawSubject(p.adminsCA)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := httpauth.TLSConfigFor([]tls.Certificate{p.server.TLSCertificate()}, tt.auths...)
			require.NoError(t, err)
			assert.Equal(t, tls.RequestClientCert, cfg.ClientAuth)
			assert.Equal(t, uint16(tls.VersionTLS12), cfg.MinVersion)
			assert.ElementsMatch(t, tt.want, subjects(cfg.ClientCAs))
			per, err := cfg.GetConfigForClient(&tls.ClientHelloInfo{})
			require.NoError(t, err)
			assert.ElementsMatch(t, tt.want, subjects(per.ClientCAs))
			assert.Nil(t, per.GetConfigForClient)
		})
	}
}

// The CA list follows a RootsProvider, and is built again only when some
// route's roots changed.
func TestTLSConfigForFollowsRotation(t *testing.T) {
	p := newPerRoute(t)
	path := filepath.Join(t.TempDir(), "devices.pem")
	require.NoError(t, os.WriteFile(path, p.devicesCA.PEM(), 0o600))
	roots, err := httpauth.NewFileRoots(path, time.Nanosecond)
	require.NoError(t, err)
	devices := mustNew(t, httpauth.Config{RootsProvider: roots})
	cfg, err := httpauth.TLSConfigFor([]tls.Certificate{p.server.TLSCertificate()}, devices, p.admins)
	require.NoError(t, err)

	first, err := cfg.GetConfigForClient(&tls.ClientHelloInfo{})
	require.NoError(t, err)
	again, err := cfg.GetConfigForClient(&tls.ClientHelloInfo{})
	require.NoError(t, err)
	assert.Same(t, first.ClientCAs, again.ClientCAs, "unchanged roots reuse the list")

	rotated, err := testpki.NewRoot(testpki.WithCN("devices CA 2"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, rotated.PEM(), 0o600))
	bump(t, path)
	after, err := cfg.GetConfigForClient(&tls.ClientHelloInfo{})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{rawSubject(rotated), rawSubject(p.adminsCA)}, subjects(after.ClientCAs))
}

// The CA list names CAs and cannot verify, so a listener told to verify
// with it fails every handshake with a reason rather than every
// certificate with a signature error.
func TestTLSConfigForKeepsVerificationInTheRoutes(t *testing.T) {
	p := newPerRoute(t)
	for _, tt := range []struct {
		mode tls.ClientAuthType
		ok   bool
	}{
		{tls.RequestClientCert, true},
		{tls.RequireAnyClientCert, true},
		{tls.NoClientCert, false},
		{tls.VerifyClientCertIfGiven, false},
		{tls.RequireAndVerifyClientCert, false},
	} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			t.Parallel()
			cfg, err := httpauth.TLSConfigFor([]tls.Certificate{p.server.TLSCertificate()}, p.devices, p.admins)
			require.NoError(t, err)
			cfg.ClientAuth = tt.mode
			per, err := cfg.GetConfigForClient(&tls.ClientHelloInfo{})
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, tt.mode, per.ClientAuth)
				return
			}
			assert.ErrorContains(t, err, "TLSConfigFor")
			assert.Nil(t, per)
		})
	}
}

// TestPerRouteTrustOnOneListener serves /ws/devices and /api/admin, gated
// by Authenticators with different roots and authorizers, on one TLS
// listener: each certificate passes only where its own CA is trusted, even
// when it carries exactly what the other route's authorizer asks for.
func TestPerRouteTrustOnOneListener(t *testing.T) {
	p := newPerRoute(t)
	thermo := p.leaf(t, p.devicesCA, testpki.WithCN("thermo-1"), testpki.WithURI("spiffe://example.org/device/thermo-1"))
	admin := p.leaf(t, p.adminsCA, testpki.WithCN("alice"), testpki.WithOU("admins"))
	// Each route's authorizer would let these in: only the roots stop them.
	deviceAsAdmin := p.leaf(t, p.devicesCA, testpki.WithCN("mallory"), testpki.WithOU("admins"))
	adminAsDevice := p.leaf(t, p.adminsCA, testpki.WithCN("mallory"), testpki.WithURI("spiffe://example.org/device/thermo-1"))
	otherDevice := p.leaf(t, p.devicesCA, testpki.WithCN("pump-3"), testpki.WithURI("spiffe://example.org/device/pump-3"))

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := httpauth.FromContext(r.Context())
		_, _ = w.Write([]byte("hello " + id.Certificate.Subject.CommonName))
	})
	mux := http.NewServeMux()
	mux.Handle("/ws/devices", p.devices.Middleware(ok))
	mux.Handle("/api/admin", p.admins.Middleware(ok))
	srv := httptest.NewUnstartedServer(mux)
	cfg, err := httpauth.TLSConfigFor([]tls.Certificate{p.server.TLSCertificate()}, p.devices, p.admins)
	require.NoError(t, err)
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)

	tests := []struct {
		name   string
		leaf   *testpki.Leaf
		path   string
		status int
		body   string
	}{
		{"device on its route", thermo, "/ws/devices", 200, "hello thermo-1"},
		{"admin on its route", admin, "/api/admin", 200, "hello alice"},
		{"device on the admin route", thermo, "/api/admin", 401, "unknown authority"},
		{"admin on the devices route", admin, "/ws/devices", 401, "unknown authority"},
		{"devices CA certificate with the admin OU", deviceAsAdmin, "/api/admin", 401, "unknown authority"},
		{"admins CA certificate with the device ID", adminAsDevice, "/ws/devices", 401, "unknown authority"},
		{"device the authorizer does not list", otherDevice, "/ws/devices", 403, "access denied"},
		{"no certificate on the devices route", nil, "/ws/devices", 401, "certificate required"},
		{"no certificate on the admin route", nil, "/api/admin", 401, "certificate required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := get(t, routeClient(t, p, tt.leaf, nil), srv.URL+tt.path)
			assert.Equal(t, tt.status, status)
			assert.Contains(t, body, tt.body)
		})
	}

	t.Run("handshake names both CAs", func(t *testing.T) {
		t.Parallel()
		var offered [][]byte
		status, _ := get(t, routeClient(t, p, admin, &offered), srv.URL+"/api/admin")
		assert.Equal(t, 200, status)
		var got []string
		for _, s := range offered {
			got = append(got, string(s))
		}
		assert.ElementsMatch(t, []string{rawSubject(p.devicesCA), rawSubject(p.adminsCA)}, got)
	})
}

// routeClient trusts the per-route server and always sends leaf (nil: no
// certificate). offered, when not nil, receives the CA names the server
// asked for.
func routeClient(tb testing.TB, p *perRoute, leaf *testpki.Leaf, offered *[][]byte) *http.Client {
	tb.Helper()
	cfg := &tls.Config{RootCAs: p.devicesCA.Pool(), MinVersion: tls.VersionTLS12}
	cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if offered != nil {
			*offered = cri.AcceptableCAs
		}
		if leaf == nil {
			return &tls.Certificate{}, nil
		}
		cert := leaf.TLSCertificate()
		return &cert, nil
	}
	tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// Many CAs across routes: the CertificateRequest's CA list has a 2-byte
// length, and beyond 64 KiB of names crypto/tls fails every handshake; the
// list is then left out, and handshakes and verification go on.
func TestTLSConfigForLongCAList(t *testing.T) {
	t.Parallel()
	p := newPerRoute(t)
	pool := p.devicesCA.Pool()
	for i := 0; i < 600; i++ {
		ca, err := testpki.NewRoot(testpki.WithCN(fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 110))))
		require.NoError(t, err)
		pool.AddCert(ca.Cert)
	}
	big := mustNew(t, httpauth.Config{Roots: pool})
	thermo := p.leaf(t, p.devicesCA, testpki.WithCN("thermo-1"), testpki.WithURI("spiffe://example.org/device/thermo-1"))
	srv := httptest.NewUnstartedServer(p.devices.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	cfg, err := httpauth.TLSConfigFor([]tls.Certificate{p.server.TLSCertificate()}, p.devices, big)
	require.NoError(t, err)
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	status, body := get(t, routeClient(t, p, thermo, nil), srv.URL+"/ws/devices")
	assert.Equal(t, 200, status, body)
	assert.Nil(t, cfg.ClientCAs, "no list rather than one that cannot be sent")
}
