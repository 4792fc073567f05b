package httpauth_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
)

func TestNoCertificatePlaceholdersMeanNothingOffered(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetApache})
	for _, v := range []string{"", "  ", "(null)", "{http.request.tls.client.certificate_der_base64}"} {
		_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", v}, [2]string{"X-SSL-Client-Chain", "(null)"}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
		assert.ErrorIs(t, err, httpauth.ErrNoCertificate, "%q", v)
		assert.NotErrorIs(t, err, httpauth.ErrNotVerified, "%q", v)
	}
}

func TestDER01_BrokenCertificates(t *testing.T) {
	pki := testpki.MustSet(t)
	a, authz := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetCaddy})
	raw := pki.Alice.Cert.Raw
	for name, der := range map[string][]byte{
		"truncated":    raw[:len(raw)-10],
		"bit-flipped":  flip(raw, len(raw)/2),
		"random":       bytes.Repeat([]byte{0x5a, 0xa5, 0x33}, 200),
		"a public key": pki.Alice.Cert.RawSubjectPublicKeyInfo,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Client-Cert", encodeDER(der)}))
			assert.ErrorIs(t, err, httpauth.ErrNotVerified)
			assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
			assert.Zero(t, authz.calls.Load())
		})
	}
}

func TestLeafHeaderHoldsExactlyOneCertificate(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	alice, inter := pki.Alice.Cert.Raw, pki.Intermediate.Cert.Raw
	known := func(c *httpauth.Config) { c.Intermediates = pki.Intermediate.Pool() }
	tests := []struct {
		name   string
		src    httpauth.Source
		header [][2]string
		ok     bool
	}{
		{"base64 leaf alone", httpauth.Source{Preset: httpauth.PresetCaddy}, [][2]string{{"X-Client-Cert", encodeDER(alice)}}, true},
		{"base64 leaf and intermediate", httpauth.Source{Preset: httpauth.PresetCaddy}, [][2]string{{"X-Client-Cert", encodeDER(alice, inter)}}, false},
		{"base64 leaf and trailing bytes", httpauth.Source{Preset: httpauth.PresetCaddy}, [][2]string{{"X-Client-Cert", encodeDER(alice, []byte{0x30, 0x00})}}, false},
		{"rfc9440 leaf and intermediate in Client-Cert", httpauth.Source{Preset: httpauth.PresetRFC9440}, [][2]string{{"Client-Cert", ":" + encodeDER(alice, inter) + ":"}}, false},
		{"haproxy chain header concatenated", httpauth.Source{Preset: httpauth.PresetHAProxy}, [][2]string{
			{"X-SSL-Client-Cert", encodeDER(alice)}, {"X-SSL-Client-Chain", encodeDER(inter, pki.Root.Cert.Raw)}, {"X-SSL-Client-Verify", "0"}}, true},
		{"haproxy leaf header concatenated", httpauth.Source{Preset: httpauth.PresetHAProxy}, [][2]string{
			{"X-SSL-Client-Cert", encodeDER(alice, inter)}, {"X-SSL-Client-Verify", "0"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, _ := headerAuth(t, pki, tt.src, known)
			_, err := a.Authenticate(headerRequest(proxyAddr, tt.header...))
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, httpauth.ErrHeaderMalformed)
			assert.ErrorContains(t, err, "exactly one")
		})
	}
}
