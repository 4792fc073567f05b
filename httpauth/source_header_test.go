package httpauth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSRC03_TrustedProxyWithoutHeaderIsRefused(t *testing.T) {
	pki := testpki.MustSet(t)
	a := fallbackAuth(t, pki)
	// The proxy itself authenticates to us with mTLS as alice.
	r := tlsRequest(pki.Alice)
	r.RemoteAddr = proxyAddr
	r.Header.Set("X-SSL-Client-Verify", "SUCCESS")
	id, err := a.Authenticate(r)
	assert.Nil(t, id)
	assert.ErrorIs(t, err, httpauth.ErrHeaderMissing)
	assert.ErrorIs(t, err, httpauth.ErrNoCertificate)
	assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
}

func TestSRC07_OnlyTheConfiguredHeaderIsRead(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, nginxSrc())
	_, err := a.Authenticate(headerRequest(proxyAddr,
		[2]string{"X-Forwarded-Client-Cert", `Cert="` + nginxEscape(pki.Alice.PEM()) + `"`},
		[2]string{"Client-Cert", sfBytes(pki.Alice.Cert)},
		[2]string{"X-SSL-Client-Verify", "SUCCESS"}))
	assert.ErrorIs(t, err, httpauth.ErrHeaderMissing)
	assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
}

func TestMissingXFCCHeaderRefused(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetEnvoy})
	_, err := a.Authenticate(headerRequest(proxyAddr))
	assert.ErrorIs(t, err, httpauth.ErrHeaderMissing)
}

// A proxy reports NONE when the client sent nothing; that stays "nothing
// offered", not "offered but not verified".
func TestNothingOfferedComesBeforeVerifyStatus(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, nginxSrc())
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Verify", "NONE"}))
	assert.ErrorIs(t, err, httpauth.ErrHeaderMissing)
	assert.NotErrorIs(t, err, httpauth.ErrVerifyHeader)
	var e *httpauth.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "client certificate required", e.PublicText())

	a, _ = headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetApache})
	_, err = a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", "(null)"}, [2]string{"X-SSL-Client-Verify", "NONE"}))
	assert.ErrorIs(t, err, httpauth.ErrNoCertificate)
	assert.NotErrorIs(t, err, httpauth.ErrVerifyHeader)
}

func TestVER01_VER02_VER03_VerificationStatusMustMatchExactly(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, nginxSrc())
	cert := [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Alice.ChainPEM())}
	tests := []struct {
		name   string
		verify []string
		ok     bool
	}{
		{"VER-01 missing", nil, false},
		{"VER-02 NONE", []string{"NONE"}, false},
		{"VER-02 FAILED with reason", []string{"FAILED:certificate has expired"}, false},
		{"VER-02 GENEROUS", []string{"GENEROUS"}, false},
		{"VER-02 empty", []string{""}, false},
		{"VER-03 lowercase", []string{"success"}, false},
		{"VER-03 title case", []string{"Success"}, false},
		{"VER-03 longer word", []string{"SUCCESSFUL"}, false},
		{"VER-03 suffix", []string{"SUCCESS-x"}, false},
		{"VER-03 padded", []string{" SUCCESS "}, true},
		{"twice", []string{"SUCCESS", "SUCCESS"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := [][2]string{cert}
			for _, v := range tt.verify {
				h = append(h, [2]string{"X-SSL-Client-Verify", v})
			}
			_, err := a.Authenticate(headerRequest(proxyAddr, h...))
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, httpauth.ErrVerifyHeader)
			assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
		})
	}
}

func TestVER05_SuccessNeverReplacesVerification(t *testing.T) {
	pki := testpki.MustSet(t)
	a, authz := headerAuth(t, pki, nginxSrc())
	for _, tt := range []struct {
		name  string
		value string
		want  error
	}{
		{"self-signed", nginxEscape(pki.Forged.PEM()), httpauth.ErrUnknownAuthority},
		{"expired", nginxEscape(pki.Expired.ChainPEM()), httpauth.ErrExpired},
		{"wrong EKU", nginxEscape(pki.ServerOnly.ChainPEM()), httpauth.ErrClientAuthUsage},
		{"empty certificate header", "", httpauth.ErrNoCertificate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", tt.value}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
			assert.ErrorIs(t, err, tt.want)
			assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
			assert.Zero(t, authz.calls.Load())
		})
	}
}

func TestMUL01_RepeatedSingleValuedHeader(t *testing.T) {
	pki := testpki.MustSet(t)
	good, forged := pki.Alice, pki.Forged
	tests := []struct {
		preset, header string
		enc            func(*testpki.Leaf) string
	}{
		{httpauth.PresetNginx, "X-SSL-Client-Cert", func(l *testpki.Leaf) string { return nginxEscape(l.ChainPEM()) }},
		{httpauth.PresetTraefik, "X-Forwarded-Tls-Client-Cert", func(l *testpki.Leaf) string { return b64(l.Cert) + "," + b64(pki.Intermediate.Cert) }},
		{httpauth.PresetCloudflare, "Cf-Client-Cert-Der-Base64", func(l *testpki.Leaf) string { return encodeDER(l.Cert.Raw, pki.Intermediate.Cert.Raw) }},
		{httpauth.PresetAWSALB, "X-Amzn-Mtls-Clientcert", func(l *testpki.Leaf) string { return awsEscape(l.ChainPEM()) }},
		{httpauth.PresetRFC9440, "Client-Cert", func(l *testpki.Leaf) string { return sfBytes(l.Cert) }},
	}
	for _, tt := range tests {
		for _, order := range []string{"forged first", "valid first"} {
			t.Run(tt.header+"/"+order, func(t *testing.T) {
				t.Parallel()
				a, authz := headerAuth(t, pki, httpauth.Source{Preset: tt.preset, VerifyHeader: "X-V", VerifyValue: "ok"})
				first, second := tt.enc(forged), tt.enc(good)
				if order == "valid first" {
					first, second = second, first
				}
				_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{tt.header, first}, [2]string{tt.header, second}, [2]string{"X-V", "ok"}))
				assert.ErrorIs(t, err, httpauth.ErrHeaderMalformed)
				assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
				assert.Zero(t, authz.calls.Load())
			})
		}
	}
}

func TestPEM04_OversizedValuesRejectedBeforeDecoding(t *testing.T) {
	pki := testpki.MustSet(t)
	huge := strings.Repeat("-----BEGIN CERTIFICATE-----", (1<<20)/27)
	cases := []struct {
		preset, header, value string
	}{
		{httpauth.PresetNginx, "X-SSL-Client-Cert", huge},
		{httpauth.PresetApache, "X-SSL-Client-Cert", huge},
		{httpauth.PresetEnvoy, "X-Forwarded-Client-Cert", strings.Repeat("Hash=1,", 5000) + "Hash=1"},
		{httpauth.PresetCloudflare, "Cf-Client-Cert-Der-Base64", strings.Repeat("A", httpauth.MaxHeaderBytes+4)},
	}
	for _, tt := range cases {
		t.Run(tt.preset, func(t *testing.T) {
			t.Parallel()
			a, _ := headerAuth(t, pki, httpauth.Source{Preset: tt.preset, VerifyHeader: "X-V", VerifyValue: "1"})
			_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{tt.header, tt.value}, [2]string{"X-V", "1"}))
			assert.ErrorIs(t, err, httpauth.ErrHeaderMalformed)
		})
	}
	// Under the byte cap, too many PEM blocks and XFCC elements are still refused.
	small := strings.Repeat(string(pki.Alice.PEM()), httpauth.DefaultMaxChainLength+1)
	a, _ := headerAuth(t, pki, httpauth.Source{Header: "X-Cert", Encoding: httpauth.PEM})
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Cert", small}))
	assert.ErrorIs(t, err, httpauth.ErrChainTooLong)
	a, _ = headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetEnvoy})
	_, err = a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Forwarded-Client-Cert", strings.Repeat("H=1,", 40) + "H=1"}))
	assert.ErrorIs(t, err, httpauth.ErrHeaderMalformed)
	assert.Contains(t, err.Error(), "XFCC elements")

	chainHeader := strings.Repeat("A", httpauth.MaxHeaderBytes+1)
	a, _ = headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetHAProxy})
	_, err = a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", b64(pki.Alice.Cert)}, [2]string{"X-SSL-Client-Chain", chainHeader}, [2]string{"X-SSL-Client-Verify", "0"}))
	assert.ErrorIs(t, err, httpauth.ErrHeaderMalformed)
}

func TestHeaderByteCapIsInclusive(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetHAProxy})
	atCap := strings.Repeat("A", httpauth.MaxHeaderBytes)
	over := atCap + "A"
	leaf := [2]string{"X-SSL-Client-Cert", b64(pki.Alice.Cert)}
	ok := [2]string{"X-SSL-Client-Verify", "0"}
	for _, tt := range []struct {
		name    string
		headers [][2]string
		capped  bool
	}{
		{"certificate at cap", [][2]string{{"X-SSL-Client-Cert", atCap}, ok}, false},
		{"certificate over cap", [][2]string{{"X-SSL-Client-Cert", over}, ok}, true},
		{"certificate over cap split over two lines", [][2]string{{"X-SSL-Client-Cert", atCap[:10]}, {"X-SSL-Client-Cert", atCap}, ok}, true},
		{"chain at cap", [][2]string{leaf, {"X-SSL-Client-Chain", atCap}, ok}, false},
		{"chain over cap", [][2]string{leaf, {"X-SSL-Client-Chain", over}, ok}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := a.Authenticate(headerRequest(proxyAddr, tt.headers...))
			require.Error(t, err)
			assert.Equal(t, tt.capped, strings.Contains(err.Error(), "at most"), err.Error())
		})
	}
}

func TestInsecureSkipHeaderVerificationMarksIdentityUnverified(t *testing.T) {
	pki := testpki.MustSet(t)
	a := mustNew(t, httpauth.Config{
		Source:                         httpauth.Source{Preset: httpauth.PresetCaddy, TrustedProxies: loopback},
		InsecureSkipHeaderVerification: true,
	})
	id, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Client-Cert", b64(pki.Forged.Cert)}))
	require.NoError(t, err)
	assert.False(t, id.Verified, "an unverified identity must say so")
	id, err = a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Client-Cert", b64(pki.Forged.Cert)}))
	require.NoError(t, err)
	assert.False(t, id.Verified, "also from the cache")
	_, err = a.Authenticate(headerRequest(strangerAddr, [2]string{"X-Client-Cert", b64(pki.Forged.Cert)}))
	assert.ErrorIs(t, err, httpauth.ErrUntrustedProxy, "the opt-out never extends trust to other peers")
}

func TestHeaderErrorMessagesPinned(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, nginxSrc())
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", b64(pki.Alice.Cert)}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
	assert.EqualError(t, err, `httpauth: certificate header malformed: expected "-----BEGIN CERTIFICATE-----" at PEM block 0 (header X-Ssl-Client-Cert, Source.Encoding "url-pem")`)

	_, err = a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Alice.PEM())}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
	assert.EqualError(t, err, "httpauth: verification-status header mismatch: header X-Ssl-Client-Verify sent 2 times")
	assert.NotErrorIs(t, err, httpauth.ErrHeaderMalformed, "the certificate header was fine")

	_, err = a.Authenticate(headerRequest(strangerAddr))
	assert.EqualError(t, err, `httpauth: request not from a trusted proxy: peer "192.0.2.7:40000" is not in Source.TrustedProxies (list the proxy's address there; forwarding headers are never consulted)`)

	// A helper New cannot see, inside an Authorizer of the user's own.
	empty := httpauth.AllowCN()
	misconfigured := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: func(ctx context.Context, id *httpauth.Identity) error { return empty(ctx, id) }})
	_, err = misconfigured.Authenticate(tlsRequest(pki.Alice))
	assert.EqualError(t, err, "httpauth: authorizer failed: httpauth.AllowCN: no values given")
}
