package httpauth_test

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goldenTime lies inside the captured certificates' 2026–2126 validity.
var goldenTime = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// TestCapturedProxyHeaders feeds the header values real nginx, HAProxy,
// Caddy and Apache sent (testdata/proxies, see its README) through the
// matching presets.
func TestCapturedProxyHeaders(t *testing.T) {
	roots := x509.NewCertPool()
	for _, c := range readPEMFile(t, "ca.pem") {
		roots.AddCert(c)
	}
	leaf := readPEMFile(t, "leaf.pem")[0]
	for _, proxy := range []string{"nginx", "haproxy", "caddy", "apache"} {
		preset := proxy
		pool := roots
		if proxy == "nginx" || proxy == "caddy" {
			// These forward the leaf only (nginx OSS has no chain variable,
			// Caddy no chain placeholder): their users configure the
			// issuing intermediate as a root.
			pool = roots.Clone()
			pool.AddCert(readPEMFile(t, "intermediate.pem")[0])
		}
		a := mustNew(t, httpauth.Config{
			Source: httpauth.Source{Preset: preset, TrustedProxies: loopback},
			Roots:  pool,
			Now:    func() time.Time { return goldenTime },
		})
		t.Run(proxy+"/verified client", func(t *testing.T) {
			t.Parallel()
			id, err := a.Authenticate(goldenRequest(t, proxy+".txt"))
			require.NoError(t, err)
			assert.Equal(t, httpauth.Fingerprint(leaf), id.Fingerprint)
		})
		for _, variant := range []string{"nocert", "spoofed", "untrusted"} {
			t.Run(proxy+"/"+variant, func(t *testing.T) {
				t.Parallel()
				id, err := a.Authenticate(goldenRequest(t, proxy+"-"+variant+".txt"))
				assert.Nil(t, id)
				assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
			})
		}
	}
}

func goldenRequest(t *testing.T, name string) *http.Request {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "proxies", name))
	require.NoError(t, err)
	var headers [][2]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		require.True(t, ok, "line %q", sc.Text())
		// As net/http does on receipt: canonical name, value without
		// surrounding whitespace.
		headers = append(headers, [2]string{k, strings.Trim(v, " \t")})
	}
	return headerRequest(proxyAddr, headers...)
}

func readPEMFile(t *testing.T, name string) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "proxies", name))
	require.NoError(t, err)
	var out []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		require.NoError(t, err)
		out = append(out, c)
	}
	require.NotEmpty(t, out)
	return out
}
