package httpauth_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTLSConfigAnswersBadCertificatesOverHTTP(t *testing.T) {
	pki := testpki.MustSet(t)
	_, err := mustNew(t, httpauth.Config{}).TLSConfig(pki.Server.TLSCertificate())
	assert.ErrorContains(t, err, "needs Config.Roots")
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: httpauth.AllowCN("alice")})
	_, err = a.TLSConfig()
	assert.ErrorContains(t, err, "server's certificate")

	cfg, err := a.TLSConfig(pki.Server.TLSCertificate())
	require.NoError(t, err)
	assert.Equal(t, tls.RequestClientCert, cfg.ClientAuth)
	assert.Equal(t, uint16(tls.VersionTLS12), cfg.MinVersion)
	assert.NotNil(t, cfg.ClientCAs)

	srv := httptest.NewUnstartedServer(a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})))
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		name string
		leaf *testpki.Leaf
		want int
	}{
		{"trusted", pki.Alice, 200},
		{"denied", pki.Bob, 403},
		{"unknown CA gets an HTTP answer", pki.Stranger, 401},
		{"no certificate gets an HTTP answer", nil, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _ := get(t, tlsClient(t, pki, tt.leaf), srv.URL)
			assert.Equal(t, tt.want, status)
		})
	}
}

func TestTLSConfigFollowsRootsProvider(t *testing.T) {
	pki := testpki.MustSet(t)
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, pki.Root.PEM(), 0o600))
	roots, err := httpauth.NewFileRoots(path, time.Nanosecond)
	require.NoError(t, err)
	a := mustNew(t, httpauth.Config{RootsProvider: roots})
	cfg, err := a.TLSConfig(pki.Server.TLSCertificate())
	require.NoError(t, err)
	require.NotNil(t, cfg.GetConfigForClient)
	first, err := cfg.GetConfigForClient(&tls.ClientHelloInfo{})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, pki.OtherRoot.PEM(), 0o600))
	bump(t, path)
	second, err := cfg.GetConfigForClient(&tls.ClientHelloInfo{})
	require.NoError(t, err)
	assert.NotSame(t, first.ClientCAs, second.ClientCAs, "a rotated CA is offered on the next handshake")
}

func TestTLSConfigChangesApplyWithProvider(t *testing.T) {
	pki := testpki.MustSet(t)
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, pki.Root.PEM(), 0o600))
	roots, err := httpauth.NewFileRoots(path, 0)
	require.NoError(t, err)
	cfg, err := mustNew(t, httpauth.Config{RootsProvider: roots}).TLSConfig(pki.Server.TLSCertificate())
	require.NoError(t, err)
	cfg.MinVersion = tls.VersionTLS13 // adjusted after the call
	per, err := cfg.GetConfigForClient(&tls.ClientHelloInfo{})
	require.NoError(t, err)
	assert.Equal(t, uint16(tls.VersionTLS13), per.MinVersion)
	assert.Nil(t, per.GetConfigForClient)
}

func TestTLSConfigRefusedForHeaderSource(t *testing.T) {
	pki := testpki.MustSet(t)
	tests := []struct {
		name    string
		src     httpauth.Source
		wantErr string
	}{
		{"preset", httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: loopback}, "httpauth: TLSConfig is for an Authenticator that reads the TLS connection, but Config.Source reads the proxy's header X-Ssl-Client-Cert"},
		{"custom header", httpauth.Source{Header: "X-Client-Cert", Encoding: httpauth.Base64DER, TrustedProxies: loopback}, "set Source.FallbackToTLS if clients also connect directly"},
		{"header with fallback to TLS", httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: loopback, FallbackToTLS: true}, ""},
		{"TLS source", httpauth.Source{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Source: tt.src})
			cfg, err := a.TLSConfig(pki.Server.TLSCertificate())
			if tt.wantErr != "" {
				assert.Nil(t, cfg)
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tls.RequestClientCert, cfg.ClientAuth)
		})
	}
}
