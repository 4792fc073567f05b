package httpauth_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPresetsAcceptTheirProxysShape(t *testing.T) {
	pki := testpki.MustSet(t)
	alice := pki.Alice
	inter := pki.Intermediate.Cert
	tests := []struct {
		preset   string
		headers  [][2]string
		leafOnly bool // the proxy forwards no chain: the intermediate must be a configured root
	}{
		{httpauth.PresetNginx, [][2]string{{"X-SSL-Client-Cert", nginxEscape(alice.ChainPEM())}, {"X-SSL-Client-Verify", "SUCCESS"}}, false},
		{httpauth.PresetAWSALB, [][2]string{{"X-Amzn-Mtls-Clientcert", awsEscape(alice.ChainPEM())}}, false},
		{httpauth.PresetEnvoy, [][2]string{{"X-Forwarded-Client-Cert", `By=spiffe://proxy;Hash=` + xfccHash(alice.Cert) + `;Chain="` + nginxEscape(alice.ChainPEM()) + `";Subject="CN=alice"`}}, false},
		{httpauth.PresetCloudflare, [][2]string{{"Cf-Client-Cert-Der-Base64", b64(alice.Cert)}}, true},
		{httpauth.PresetTraefik, [][2]string{{"X-Forwarded-Tls-Client-Cert", b64(alice.Cert) + "," + b64(inter)}}, false},
		{httpauth.PresetHAProxy, [][2]string{{"X-SSL-Client-Cert", b64(alice.Cert)}, {"X-SSL-Client-Chain", b64(inter)}, {"X-SSL-Client-Verify", "0"}}, false},
		{httpauth.PresetCaddy, [][2]string{{"X-Client-Cert", b64(alice.Cert)}}, true},
		{httpauth.PresetApache, [][2]string{{"X-SSL-Client-Cert", folded(alice.PEM())}, {"X-SSL-Client-Chain", folded(testpki.PEM(inter))}, {"X-SSL-Client-Verify", "SUCCESS"}}, false},
		{httpauth.PresetRFC9440, [][2]string{{"Client-Cert", sfBytes(alice.Cert)}, {"Client-Cert-Chain", sfBytes(inter) + ", " + sfBytes(pki.Root.Cert)}}, false},
		{httpauth.PresetGCP, [][2]string{{"Client-Cert", sfBytes(alice.Cert)}, {"Client-Cert-Chain", sfBytes(inter)}}, false},
	}
	require.Len(t, tests, len(httpauth.Presets()), "every preset has a case")
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			t.Parallel()
			wantChain := 3 // leaf, intermediate, root
			a, _ := headerAuth(t, pki, httpauth.Source{Preset: tt.preset}, func(c *httpauth.Config) {
				c.IncludeChain = true
				if tt.leafOnly {
					c.Roots = pki.Intermediate.Pool()
					wantChain = 2
				}
			})
			id, err := a.Authenticate(headerRequest(proxyAddr, tt.headers...))
			require.NoError(t, err)
			assert.Equal(t, "alice", id.Certificate.Subject.CommonName)
			assert.Equal(t, httpauth.Fingerprint(alice.Cert), id.Fingerprint)
			assert.Equal(t, http.CanonicalHeaderKey(tt.headers[0][0]), id.Header)
			assert.True(t, id.Verified)
			assert.Len(t, id.Chain, wantChain)
		})
	}
}

func TestUnknownPresetGivesOneMessage(t *testing.T) {
	pki := testpki.MustSet(t)
	const names = "apache, aws-alb, caddy, cloudflare, envoy, gcp, haproxy, nginx, rfc9440, traefik"
	tests := []struct {
		name, preset, want string
	}{
		{"transposed letters", "ngnix", `httpauth: invalid config: Source.Preset "ngnix" is unknown: did you mean "nginx"? Preset names are lowercase: ` + names},
		{"capitalised", "Nginx", `httpauth: invalid config: Source.Preset "Nginx" is unknown: did you mean "nginx"? Preset names are lowercase: ` + names},
		{"upper case", "AWS-ALB", `httpauth: invalid config: Source.Preset "AWS-ALB" is unknown: did you mean "aws-alb"? Preset names are lowercase: ` + names},
		{"underscore for hyphen", "aws_alb", `httpauth: invalid config: Source.Preset "aws_alb" is unknown: did you mean "aws-alb"? Preset names are lowercase: ` + names},
		{"nothing close", "squid", `httpauth: invalid config: Source.Preset "squid" is unknown: use one of ` + names},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Roots and TrustedProxies are fine, so the preset is the only
			// problem: no second error about what it failed to fill in.
			_, err := httpauth.New(httpauth.Config{Roots: pki.Root.Pool(), Source: httpauth.Source{Preset: tt.preset, TrustedProxies: loopback}})
			assert.EqualError(t, err, tt.want)
		})
	}
	for _, p := range httpauth.Presets() {
		assert.Equal(t, strings.ToLower(p), p, "documented names are lowercase")
	}
}

func TestSourceHeaderOverridesPresetHeader(t *testing.T) {
	pki := testpki.MustSet(t)
	// ALB lets operators rename the header; nginx users pick their own.
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetAWSALB, Header: "x-client-leaf"})
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(pki.Alice.ChainPEM())}))
	assert.ErrorIs(t, err, httpauth.ErrHeaderMissing)
	id, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Client-Leaf", awsEscape(pki.Alice.ChainPEM())}))
	require.NoError(t, err)
	assert.Equal(t, "X-Client-Leaf", id.Header)
}

// nginx's deprecated $ssl_client_cert is the PEM with a tab after every
// line break but the last: an obsolete line folding, which Go's server
// unfolds into spaces. The nginx preset's decoder reads what is left.
func TestNginxDeprecatedClientCertVariableAccepted(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, nginxSrc(), func(c *httpauth.Config) { c.Intermediates = pki.Intermediate.Pool() })
	tests := []struct {
		name string
		leaf *testpki.Leaf
		want error
	}{
		{"trusted leaf", pki.Alice, nil},
		{"leaf of an unknown CA", pki.Stranger, httpauth.ErrUnknownAuthority},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pemText := strings.TrimSuffix(string(tt.leaf.PEM()), "\n")
			sslClientCert := strings.ReplaceAll(pemText, "\n", "\n\t") // as nginx 1.22 writes it
			raw := "GET /hello HTTP/1.1\r\nHost: backend\r\nX-SSL-Client-Cert: " + sslClientCert + "\r\nX-SSL-Client-Verify: SUCCESS\r\n\r\n"
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
			require.NoError(t, err, "Go's server reads the folded header")
			r.RemoteAddr = proxyAddr
			id, err := a.Authenticate(r)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
				assert.NotErrorIs(t, err, httpauth.ErrHeaderMalformed, "decoded, then judged")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "alice", id.Certificate.Subject.CommonName)
		})
	}
}
