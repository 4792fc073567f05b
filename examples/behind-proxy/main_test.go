package main

import (
	"bytes"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/demoserver"
)

// TestMain fails the run when goroutines outlive the tests: every server
// and connection the demo opens must be closed again.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRunEveryPreset(t *testing.T) {
	for _, preset := range simulated() {
		t.Run(preset, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			require.NoError(t, run([]string{"-preset", preset}, &out))
			printed := out.String()

			rows := []string{
				`alice via proxy: GET /hello\s+200\s+200 hello alice \(certificate from [\w-]+\)\s+ok`,
				`alice via proxy: WebSocket /ws\s+101\s+101 \+ echo "hello"\s+ok`,
				`mallory via proxy: GET /hello\s+403\s+403 access denied\s+ok`,
				`no certificate, spoofed header, via proxy\s+401\s+401 client certificate (required|not accepted)\s+ok`,
				`spoofed header straight to backend from 127\.0\.0\.2\s+401\s+401 client certificate required\s+ok`,
			}
			for _, row := range rows {
				assert.Regexp(t, "(?m)^"+row+"$", printed)
			}
			assert.NotContains(t, printed, "MISMATCH")
			// The direct request was refused for where it came from, not
			// for what it carried.
			assert.Regexp(t, `reason="httpauth: request not from a trusted proxy: peer .*127\.0\.0\.2:\d+.* remote_addr=127\.0\.0\.2:\d+`, printed)
		})
	}
}

func TestRunRefusesPresetWithoutSimulation(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"-preset", httpauth.PresetTraefik}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), strings.Join(simulated(), ", "))
}

// TestProxyReplacesClientHeaders checks the simulated proxies on their
// own: whatever a client sends under a proxy's header names, the upstream
// sees only what the proxy set from the TLS connection.
func TestProxyReplacesClientHeaders(t *testing.T) {
	p, err := newPKI()
	require.NoError(t, err)
	seen := make(chan http.Header, 1)
	upstream, err := demoserver.Start("127.0.0.1:0", nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
	}))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, upstream.Close()) })

	for _, preset := range simulated() {
		style := proxies[preset]
		proxy, err := newProxy(p, preset, "127.0.0.1:0", upstream.URL)
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, proxy.Close()) })

		for _, tc := range []struct {
			name  string
			certs []*x509.Certificate
		}{
			{"no certificate", nil},
			{"alice", []*x509.Certificate{p.alice.Cert}},
		} {
			t.Run(preset+"/"+tc.name, func(t *testing.T) {
				spoofed := http.Header{}
				for _, name := range style.owned {
					spoofed.Add(name, "spoofed")
					spoofed.Add(strings.ToLower(name), "spoofed again")
				}
				leaf := p.alice
				if tc.certs == nil {
					leaf = nil
				}
				tr := &http.Transport{TLSClientConfig: clientTLS(p.ca.Pool(), leaf)}
				res := get(t.Context(), tc.name, http.StatusOK, tr, proxy.URL, spoofed)
				require.NoError(t, res.err)
				require.Equal(t, http.StatusOK, res.status)
				got := <-seen

				want := http.Header{}
				style.set(want, tc.certs)
				for _, name := range style.owned {
					assert.Equal(t, want.Values(name), got.Values(name), name)
				}
			})
		}
	}
}

func TestPercentEscape(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "-----BEGIN%20CERTIFICATE-----%0AMIIB%2B%2F%3D%0A", percentEscape("-----BEGIN CERTIFICATE-----\nMIIB+/=\n", "-._~"))
	assert.Equal(t, "a*b~", percentEscape("a*b~", "*~"))
}

func TestSpaced(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "-----BEGIN CERTIFICATE----- MIIB -----END CERTIFICATE-----", spaced("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
}
