package httpauth_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// headerAuth is the header-mode baseline: trusted loopback proxies, the test
// root, an authorizer allowing CN alice, and the given source.
func headerAuth(tb testing.TB, pki *testpki.Set, src httpauth.Source, mod ...func(*httpauth.Config)) (*httpauth.Authenticator, *countingAuthorizer) {
	tb.Helper()
	if src.TrustedProxies == nil {
		src.TrustedProxies = loopback
	}
	counter := &countingAuthorizer{}
	allow := httpauth.AllowCN("alice")
	cfg := httpauth.Config{
		Source: src,
		Roots:  pki.Root.Pool(),
		Authorize: func(ctx context.Context, id *httpauth.Identity) error {
			_ = counter.authorize(ctx, id)
			return allow(ctx, id)
		},
	}
	for _, m := range mod {
		m(&cfg)
	}
	return mustNew(tb, cfg), counter
}

func nginxSrc() httpauth.Source { return httpauth.Source{Preset: httpauth.PresetNginx} }

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

func TestPresetNamesAreCaseInsensitive(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: "AWS-ALB"})
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(pki.Alice.ChainPEM())}))
	assert.NoError(t, err)
}

func TestPresetHeaderOverride(t *testing.T) {
	pki := testpki.MustSet(t)
	// ALB lets operators rename the header; nginx users pick their own.
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetAWSALB, Header: "x-client-leaf"})
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(pki.Alice.ChainPEM())}))
	assert.ErrorIs(t, err, httpauth.ErrHeaderMissing)
	id, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Client-Leaf", awsEscape(pki.Alice.ChainPEM())}))
	require.NoError(t, err)
	assert.Equal(t, "X-Client-Leaf", id.Header)
}

func TestCustomEncodings(t *testing.T) {
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
		{"traefik list escaped before v2.9.2", httpauth.Base64DERList, queryEscape(b64(alice.Cert)) + "," + queryEscape(b64(pki.Intermediate.Cert))},
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

func TestChainHeaderEncodingDefaultsToEncoding(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Header: "X-Cert", Encoding: httpauth.URLPEM, ChainHeader: "X-Chain"})
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Cert", nginxEscape(pki.Alice.PEM())}))
	assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, "without the intermediate the leaf does not chain")
	_, err = a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Cert", nginxEscape(pki.Alice.PEM())}, [2]string{"X-Chain", nginxEscape(pki.Intermediate.PEM())}))
	assert.NoError(t, err)
}

func TestSRC01_HeaderFromUntrustedPeerIsNotDecoded(t *testing.T) {
	pki := testpki.MustSet(t)
	a, authz := headerAuth(t, pki, nginxSrc())
	for _, value := range []string{nginxEscape(pki.Alice.PEM()), strings.Repeat("%zz", 1<<20/3)} {
		start := time.Now()
		id, err := a.Authenticate(headerRequest(strangerAddr, [2]string{"X-SSL-Client-Cert", value}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
		elapsed := time.Since(start)
		assert.Nil(t, id)
		assert.ErrorIs(t, err, httpauth.ErrUntrustedProxy)
		assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
		assert.NotErrorIs(t, err, httpauth.ErrHeaderMalformed, "the value must not even be decoded")
		_ = elapsed // timing is not asserted; the reason proves no decode happened
	}
	assert.Zero(t, authz.calls.Load())
}

func TestSRC02_DirectMTLSClientCannotClaimHeaderIdentity(t *testing.T) {
	pki := testpki.MustSet(t)
	src := nginxSrc()
	src.FallbackToTLS = true
	a, _ := headerAuth(t, pki, src, func(c *httpauth.Config) { c.Authorize = nil })
	r := tlsRequest(pki.Bob)
	r.RemoteAddr = strangerAddr
	r.Header.Set("X-SSL-Client-Cert", nginxEscape(pki.Alice.ChainPEM()))
	r.Header.Set("X-SSL-Client-Verify", "SUCCESS")
	id, err := a.Authenticate(r)
	require.NoError(t, err)
	assert.Equal(t, "bob", id.Certificate.Subject.CommonName, "identity comes from the TLS connection, never the header")
	assert.Empty(t, id.Header)

	// TLS mode ignores headers altogether.
	tlsOnly := mustNew(t, httpauth.Config{Roots: pki.Root.Pool()})
	id, err = tlsOnly.Authenticate(r)
	require.NoError(t, err)
	assert.Equal(t, "bob", id.Certificate.Subject.CommonName)
}

func TestSRC03_TrustedProxyWithoutHeaderIsRefused(t *testing.T) {
	pki := testpki.MustSet(t)
	src := nginxSrc()
	src.FallbackToTLS = true
	a, _ := headerAuth(t, pki, src, func(c *httpauth.Config) { c.Authorize = nil })
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

func TestSRC04_ForwardingHeadersDoNotMakeAPeerTrusted(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, nginxSrc())
	for _, fwd := range [][2]string{
		{"X-Forwarded-For", "127.0.0.1"},
		{"X-Real-IP", "127.0.0.1"},
		{"Forwarded", "for=127.0.0.1"},
		{"True-Client-IP", "::1"},
	} {
		t.Run(fwd[0], func(t *testing.T) {
			_, err := a.Authenticate(headerRequest(strangerAddr, fwd, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Alice.ChainPEM())}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
			assert.ErrorIs(t, err, httpauth.ErrUntrustedProxy)
		})
	}
}

func TestTrustedProxyAddressForms(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetCaddy, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::ffff:192.168.1.1/128")}})
	tests := []struct {
		remote string
		ok     bool
	}{
		{"10.1.2.3:5555", true},
		{"[::ffff:10.1.2.3]:5555", true},
		{"192.168.1.1:80", true},
		{"[fe80::1%eth0]:80", false},
		{"11.0.0.1:80", false},
		{"10.1.2.3", false}, // no port: refused, see TestRemoteAddrWithoutPort
		{"not an address", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			_, err := a.Authenticate(headerRequest(tt.remote, [2]string{"X-Client-Cert", b64(pki.Alice.Cert)}))
			if tt.ok {
				assert.NotErrorIs(t, err, httpauth.ErrUntrustedProxy)
			} else {
				assert.ErrorIs(t, err, httpauth.ErrUntrustedProxy)
			}
		})
	}
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

func TestVER01_VER02_VER03_VerificationStatusHeader(t *testing.T) {
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
			_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", tt.value}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
			assert.ErrorIs(t, err, tt.want)
			assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
		})
	}
	assert.Zero(t, authz.calls.Load())
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

func TestXFCC01_NearestTrustedElementIsUsed(t *testing.T) {
	pki := testpki.MustSet(t)
	forged, alice := xfccElem(pki.Forged), xfccElem(pki.Alice)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetEnvoy}, func(c *httpauth.Config) { c.Roots = pki.Intermediate.Pool() })
	tests := []struct {
		name  string
		lines []string
		hops  int
		want  string // CN, or "" for a refusal
	}{
		{"forged left of alice", []string{forged + "," + alice}, 1, "alice"},
		{"split over two header lines", []string{forged, alice}, 1, "alice"},
		{"alice left, forged appended by an untrusted hop", []string{alice + "," + forged}, 1, ""},
		{"two trusted hops select the edge's element", []string{forged + "," + alice + "," + xfccElem(pki.Bob)}, 2, "alice"},
		{"fewer elements than trusted hops", []string{alice}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := httpauth.Source{Preset: httpauth.PresetEnvoy, XFCCTrustedHops: tt.hops}
			a := a
			if tt.hops != 1 {
				a, _ = headerAuth(t, pki, src, func(c *httpauth.Config) { c.Roots = pki.Intermediate.Pool(); c.Authorize = nil })
			}
			h := make([][2]string, 0, len(tt.lines))
			for _, l := range tt.lines {
				h = append(h, [2]string{"X-Forwarded-Client-Cert", l})
			}
			id, err := a.Authenticate(headerRequest(proxyAddr, h...))
			if tt.want == "" {
				assert.Error(t, err)
				assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, id.Certificate.Subject.CommonName)
		})
	}
}

func TestXFCC02_QuotedValuesNeverBecomeKeys(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetEnvoy}, func(c *httpauth.Config) { c.Roots = pki.Intermediate.Pool() })
	values := []string{
		`Subject="CN=x;Cert=` + nginxEscape(pki.Forged.PEM()) + `";Cert="` + nginxEscape(pki.Alice.PEM()) + `"`,
		`Subject="CN=\"q\",O=a;b=c";URI=spiffe://td/a=b;Cert="` + nginxEscape(pki.Alice.PEM()) + `"`,
		`By=spiffe://p;Hash=` + xfccHash(pki.Alice.Cert) + `;Cert="` + nginxEscape(pki.Alice.PEM()) + `";Subject="";URI=;DNS=a;DNS=b`,
	}
	for _, v := range values {
		id, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Forwarded-Client-Cert", v}))
		require.NoError(t, err, v)
		assert.Equal(t, "alice", id.Certificate.Subject.CommonName)
	}
}

func TestXFCC04_TextOnlyElementIsNoIdentity(t *testing.T) {
	pki := testpki.MustSet(t)
	a, authz := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetEnvoy})
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Forwarded-Client-Cert",
		`By=spiffe://cluster.local/ns/default/sa/default;Hash=` + strings.Repeat("a", 64) + `;Subject="CN=alice";URI=spiffe://cluster.local/ns/default/sa/alice;DNS=alice.example.com`}))
	assert.ErrorIs(t, err, httpauth.ErrNoCertificate)
	assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
	assert.Zero(t, authz.calls.Load())
}

func TestXFCCMalformed(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetEnvoy})
	cert := nginxEscape(pki.Alice.PEM())
	for _, v := range []string{
		b64(pki.Alice.Cert), // Cloud Foundry's bare base64, not XFCC
		`Cert="` + cert,     // unterminated quote
		`Cert="` + cert + `"x;Hash=1`,
		`Cert="` + cert + `";Cert="` + cert + `"`,
		`Chain="` + cert + `";Chain="` + cert + `"`,
		`Cert="` + cert + `";Chain="` + nginxEscape(pki.Bob.ChainPEM()) + `"`,
		`Cert="` + nginxEscape(pki.Alice.ChainPEM()) + `"`, // Cert holds one certificate only
		`=x;Cert="` + cert + `"`,
		`Cert="` + cert + `",`,
		`Hash;Cert="` + cert + `"`,
		strings.Repeat("Hash=1,", httpauth.MaxXFCCElements) + `Cert="` + cert + `"`,
	} {
		_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Forwarded-Client-Cert", v}))
		assert.ErrorIs(t, err, httpauth.ErrHeaderMalformed, truncateForMsg(v))
		assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
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
	assert.Error(t, err, "a '+' turned into a space must not decode")
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
			"truncated DER":  base64Of(pki.Alice.Cert.Raw[:len(pki.Alice.Cert.Raw)/2]),
			"bit-flipped":    base64Of(flip(pki.Alice.Cert.Raw, 10)),
			"not a cert":     base64Of([]byte{0x30, 0x03, 0x02, 0x01, 0x01}),
			"empty entry":    good + ",",
		} {
			t.Run(preset+"/"+name, func(t *testing.T) {
				_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{header, v}))
				assert.Error(t, err)
				assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
			})
		}
	}
}

func TestPEM01_FirstBlockIsTheLeaf(t *testing.T) {
	pki := testpki.MustSet(t)
	a, authz := headerAuth(t, pki, nginxSrc(), func(c *httpauth.Config) { c.Authorize = httpauth.AllowCN("alice", "admin") })
	verify := [2]string{"X-SSL-Client-Verify", "SUCCESS"}
	forgedThenAlice := append(append([]byte{}, pki.Forged.PEM()...), pki.Alice.ChainPEM()...)
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(forgedThenAlice)}, verify))
	assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
	id, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Alice.ChainPEM())}, verify))
	require.NoError(t, err)
	assert.Equal(t, "alice", id.Certificate.Subject.CommonName)
	assert.Zero(t, authz.calls.Load())
}

func TestCHN01_UnknownCAInHeaderMode(t *testing.T) {
	pki := testpki.MustSet(t)
	a, authz := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetCaddy}, func(c *httpauth.Config) { c.Authorize = httpauth.AllowCN("admin", "alice") })
	tlsA := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: authz.authorize})
	srv := tlsServer(t, pki, tls.RequestClientCert, tlsA)
	for _, l := range []*testpki.Leaf{pki.Forged, pki.Stranger} {
		_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Client-Cert", b64(l.Cert)}))
		assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, "header mode")
		status, _ := get(t, tlsClient(t, pki, l), srv.URL)
		assert.Equal(t, http.StatusUnauthorized, status, "TLS mode")
	}
	assert.Zero(t, authz.calls.Load(), "the authorizer would have allowed CN=admin")
}

func TestCHN04_ForwardedRootIsNotAnAnchor(t *testing.T) {
	pki := testpki.MustSet(t)
	// The proxy forwards the stranger's full chain, root included.
	chain := testpki.PEM(append([]*x509Cert{pki.Stranger.Cert}, pki.Stranger.Chain...)...)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetAWSALB})
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(chain)}))
	assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
	_, err = a.Authenticate(tlsRequest(pki.Stranger))
	assert.ErrorIs(t, err, httpauth.ErrUntrustedProxy)
	tlsA := mustNew(t, httpauth.Config{Roots: pki.Root.Pool()})
	r := tlsRequest(pki.Stranger)
	r.TLS.PeerCertificates = append(r.TLS.PeerCertificates, pki.OtherRoot.Cert)
	_, err = tlsA.Authenticate(r)
	assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
}

func TestVAL01_ExpiredInHeaderMode(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetRFC9440})
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"Client-Cert", sfBytes(pki.Expired.Cert)}, [2]string{"Client-Cert-Chain", sfBytes(pki.Intermediate.Cert)}))
	assert.ErrorIs(t, err, httpauth.ErrExpired)
	_, err = a.Authenticate(headerRequest(proxyAddr, [2]string{"Client-Cert", sfBytes(pki.NotYetValid.Cert)}, [2]string{"Client-Cert-Chain", sfBytes(pki.Intermediate.Cert)}))
	assert.ErrorIs(t, err, httpauth.ErrNotYetValid)
}

func TestRFC9440Malformed(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetRFC9440})
	leaf := [2]string{"Client-Cert", sfBytes(pki.Alice.Cert)}
	for name, h := range map[string][][2]string{
		"list in singleton":  {{"Client-Cert", sfBytes(pki.Alice.Cert) + ", " + sfBytes(pki.Intermediate.Cert)}},
		"token not bytes":    {{"Client-Cert", "abc"}},
		"unterminated":       {{"Client-Cert", ":" + b64(pki.Alice.Cert)}},
		"chain inner list":   {leaf, {"Client-Cert-Chain", "(" + sfBytes(pki.Intermediate.Cert) + ")"}},
		"chain string":       {leaf, {"Client-Cert-Chain", `"abc"`}},
		"chain garbage":      {leaf, {"Client-Cert-Chain", ":!!:"}},
		"twice":              {leaf, leaf},
		"empty byte seq":     {{"Client-Cert", "::"}},
		"garbage DER in seq": {{"Client-Cert", ":AAAA:"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := a.Authenticate(headerRequest(proxyAddr, h...))
			assert.ErrorIs(t, err, httpauth.ErrHeaderMalformed)
		})
	}
	// The chain may arrive split over several lines.
	id, err := a.Authenticate(headerRequest(proxyAddr, leaf, [2]string{"Client-Cert-Chain", sfBytes(pki.Intermediate.Cert)}, [2]string{"Client-Cert-Chain", sfBytes(pki.Root.Cert)}))
	require.NoError(t, err)
	assert.Equal(t, "alice", id.Certificate.Subject.CommonName)
}

func TestNoCertificateSentinels(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetApache})
	for _, v := range []string{"", "  ", "(null)", "{http.request.tls.client.certificate_der_base64}"} {
		_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", v}, [2]string{"X-SSL-Client-Chain", "(null)"}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
		assert.ErrorIs(t, err, httpauth.ErrNoCertificate, "%q", v)
		assert.NotErrorIs(t, err, httpauth.ErrNotVerified, "%q", v)
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

func TestDER01_BrokenCertificates(t *testing.T) {
	pki := testpki.MustSet(t)
	a, authz := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetCaddy})
	raw := pki.Alice.Cert.Raw
	for name, der := range map[string][]byte{
		"truncated":   raw[:len(raw)-10],
		"bit-flipped": flip(raw, len(raw)/2),
		"random":      bytes.Repeat([]byte{0x5a, 0xa5, 0x33}, 200),
		"a public key": func() []byte {
			return pki.Alice.Cert.RawSubjectPublicKeyInfo
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Client-Cert", base64Of(der)}))
			assert.Error(t, err)
			assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
		})
	}
	assert.Zero(t, authz.calls.Load())
}

func TestInsecureSkipHeaderVerification(t *testing.T) {
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

	misconfigured := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: httpauth.AllowCN()})
	_, err = misconfigured.Authenticate(tlsRequest(pki.Alice))
	assert.EqualError(t, err, "httpauth: authorizer failed: httpauth.AllowCN: no values given")
}
