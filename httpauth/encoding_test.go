package httpauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncodingsAcceptEachProxysVariant(t *testing.T) {
	pki := testpki.MustSet(t)
	alice := pki.Alice
	tests := []struct {
		name  string
		enc   httpauth.Encoding
		value string
	}{
		{"url-pem nginx escaping", httpauth.URLPEM, nginxEscape(alice.ChainPEM())},
		{"url-pem apache lowercase hex, + literal", httpauth.URLPEM, lowerHex(awsEscape(alice.ChainPEM()))},
		{"url-pem-aws", httpauth.URLPEMAWS, awsEscape(alice.ChainPEM())},
		{"xfcc cert", httpauth.XFCC, `Cert="` + nginxEscape(alice.PEM()) + `";Chain="` + nginxEscape(alice.ChainPEM()) + `"`},
		// A leaf header holds the leaf alone; the intermediate is known.
		{"base64 der quoted by haproxy %{+Q}", httpauth.Base64DER, `"` + encodeDER(alice.Cert.Raw) + `"`},
		{"traefik list escaped before v2.9.2", httpauth.Base64DERList, url.QueryEscape(b64(alice.Cert)) + "," + url.QueryEscape(b64(pki.Intermediate.Cert))},
		{"pem folded into spaces", httpauth.PEM, folded(alice.ChainPEM())},
		{"pem nginx $ssl_client_cert unfolded with tabs", httpauth.PEM, strings.ReplaceAll(strings.TrimSuffix(string(alice.ChainPEM()), "\n"), "\n", " \t")},
		{"pem with real newlines", httpauth.PEM, string(alice.ChainPEM())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, _ := headerAuth(t, pki, httpauth.Source{Header: "X-Cert", Encoding: tt.enc}, func(c *httpauth.Config) {
				if tt.enc == httpauth.Base64DER {
					c.Intermediates = pki.Intermediate.Pool()
				}
			})
			id, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Cert", tt.value}))
			require.NoError(t, err)
			assert.Equal(t, "alice", id.Certificate.Subject.CommonName)
		})
	}
}

func TestENC01_BadPercentEncoding(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, nginxSrc())
	good := nginxEscape(pki.Alice.ChainPEM())
	for name, v := range map[string]string{
		"%00":         strings.Replace(good, "%0A", "%00", 1),
		"%zz":         good[:40] + "%zz" + good[40:],
		"%4":          good[:40] + "%4",
		"trailing %":  good + "%",
		"only armor":  nginxEscape([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")),
		"no armor":    b64(pki.Alice.Cert),
		"junk before": "junk" + good,
		"junk after":  good + "junk",
		"no END line": nginxEscape([]byte("-----BEGIN CERTIFICATE-----\n" + b64(pki.Alice.Cert))),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", v}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
			assert.ErrorIs(t, err, httpauth.ErrHeaderMalformed)
			assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
		})
	}
}

func TestENC03_PlusIsNeverASpace(t *testing.T) {
	// Find a certificate whose base64 contains '+', so the case is real.
	var leaf *testpki.Leaf
	pki := testpki.MustSet(t)
	for i := 0; leaf == nil; i++ {
		require.Less(t, i, 100, "no certificate with '+' in 100 tries")
		l, err := pki.Intermediate.Leaf(testpki.WithCN("alice"))
		require.NoError(t, err)
		if strings.Contains(b64(l.Cert), "+") {
			leaf = l
		}
	}
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetAWSALB})
	for name, v := range map[string]string{
		"nginx %2B":   nginxEscape(leaf.ChainPEM()),
		"alb literal": awsEscape(leaf.ChainPEM()),
	} {
		id, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", v}))
		require.NoError(t, err, name)
		assert.Equal(t, httpauth.Fingerprint(leaf.Cert), id.Fingerprint, name)
	}
	spaced := strings.ReplaceAll(awsEscape(leaf.ChainPEM()), "+", " ")
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", spaced}))
	assert.ErrorIs(t, err, httpauth.ErrNotVerified, "a '+' turned into a space must not decode")
	assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
}

func TestB64_01_StrictBase64(t *testing.T) {
	pki := testpki.MustSet(t)
	good := b64(pki.Alice.Cert)
	for _, preset := range []string{httpauth.PresetCloudflare, httpauth.PresetTraefik} {
		a, _ := headerAuth(t, pki, httpauth.Source{Preset: preset})
		header := map[string]string{httpauth.PresetCloudflare: "Cf-Client-Cert-Der-Base64", httpauth.PresetTraefik: "X-Forwarded-Tls-Client-Cert"}[preset]
		for name, v := range map[string]string{
			"url-safe":       strings.NewReplacer("+", "-", "/", "_").Replace(good) + "-_",
			"embedded space": good[:20] + " " + good[20:],
			"percent":        good[:20] + "%" + good[20:],
			"bang":           good[:20] + "!" + good[20:],
			"star":           good[:20] + "*" + good[20:],
			"bad padding":    strings.TrimRight(good, "=") + "===",
			"truncated DER":  encodeDER(pki.Alice.Cert.Raw[:len(pki.Alice.Cert.Raw)/2]),
			"bit-flipped":    encodeDER(flip(pki.Alice.Cert.Raw, 10)),
			"not a cert":     encodeDER([]byte{0x30, 0x03, 0x02, 0x01, 0x01}),
			"empty entry":    good + ",",
		} {
			t.Run(preset+"/"+name, func(t *testing.T) {
				t.Parallel()
				_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{header, v}))
				assert.ErrorIs(t, err, httpauth.ErrNotVerified)
				assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
			})
		}
	}
}
