package httpauth_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSRC01_HeaderFromUntrustedPeerIsNotDecoded(t *testing.T) {
	pki := testpki.MustSet(t)
	a, authz := headerAuth(t, pki, nginxSrc())
	for _, value := range []string{nginxEscape(pki.Alice.PEM()), strings.Repeat("%zz", 1<<20/3)} {
		id, err := a.Authenticate(headerRequest(strangerAddr, [2]string{"X-SSL-Client-Cert", value}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
		assert.Nil(t, id)
		assert.ErrorIs(t, err, httpauth.ErrUntrustedProxy)
		assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
		assert.NotErrorIs(t, err, httpauth.ErrHeaderMalformed, "the value must not even be decoded")
	}
	assert.Zero(t, authz.calls.Load())
}

func TestSRC02_DirectMTLSClientCannotClaimHeaderIdentity(t *testing.T) {
	pki := testpki.MustSet(t)
	a := fallbackAuth(t, pki)
	r := proxiedRequest(pki, strangerAddr)
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
			t.Parallel()
			_, err := a.Authenticate(headerRequest(strangerAddr, fwd, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Alice.ChainPEM())}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
			assert.ErrorIs(t, err, httpauth.ErrUntrustedProxy)
		})
	}
}

func TestTrustedProxiesMatchEveryAddressForm(t *testing.T) {
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
		{"10.1.2.3", false}, // no port: refused, see TestRemoteAddrWithoutPortRefused
		{"not an address", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			t.Parallel()
			_, err := a.Authenticate(headerRequest(tt.remote, [2]string{"X-Client-Cert", b64(pki.Alice.Cert)}))
			if tt.ok {
				assert.NotErrorIs(t, err, httpauth.ErrUntrustedProxy)
			} else {
				assert.ErrorIs(t, err, httpauth.ErrUntrustedProxy)
			}
		})
	}
}

func TestMappedTrustedPrefixesMatchIPv4Peers(t *testing.T) {
	pki := testpki.MustSet(t)
	for _, tt := range []struct {
		prefix, remote string
		trusted        bool
	}{
		{"::ffff:10.0.0.0/104", "10.1.2.3:1", true},
		{"::ffff:10.0.0.0/104", "11.1.2.3:1", false},
		{"::/1", "203.0.113.9:1", false}, // an IPv6 prefix never covers IPv4 peers
		{"::/1", "[::1]:1", true},
	} {
		a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetCaddy, TrustedProxies: []netip.Prefix{netip.MustParsePrefix(tt.prefix)}})
		_, err := a.Authenticate(headerRequest(tt.remote, [2]string{"X-Client-Cert", b64(pki.Alice.Cert)}))
		if tt.trusted {
			assert.NotErrorIs(t, err, httpauth.ErrUntrustedProxy, "%s %s", tt.prefix, tt.remote)
		} else {
			assert.ErrorIs(t, err, httpauth.ErrUntrustedProxy, "%s %s", tt.prefix, tt.remote)
		}
	}
}

// proxiedRequest carries alice's certificate in nginx's headers over a TLS
// connection authenticated as bob, from remote: a trusted proxy with its
// own mTLS identity forwarding alice or, from any other peer, bob claiming
// to be alice.
func proxiedRequest(pki *testpki.Set, remote string) *http.Request {
	r := tlsRequest(pki.Bob)
	r.RemoteAddr = remote
	r.Header.Set("X-SSL-Client-Cert", nginxEscape(pki.Alice.ChainPEM()))
	r.Header.Set("X-SSL-Client-Verify", "SUCCESS")
	return r
}

func TestRemoteAddrWithoutPortRefused(t *testing.T) {
	pki := testpki.MustSet(t)
	long := "203.0.113.9" + strings.Repeat("\r\nX-Evil: 1", 100)
	for _, fallback := range []bool{false, true} {
		src := nginxSrc()
		src.FallbackToTLS = fallback
		a, _ := headerAuth(t, pki, src, func(c *httpauth.Config) { c.Authorize = nil })
		for _, remote := range []string{
			"127.0.0.1",  // what chi's RealIP writes
			"::1",        // an IPv6 address without brackets or port
			"[::1]",      // brackets, no port
			"127.0.0.1:", // empty port
			"localhost:80",
			"garbage",
			"",
			long,
		} {
			name := remote
			switch remote {
			case long:
				name = "long hostile value"
			case "":
				name = "empty"
			}
			if fallback {
				name += " with FallbackToTLS"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				id, err := a.Authenticate(proxiedRequest(pki, remote))
				assert.Nil(t, id, "neither the header's alice nor the TLS peer's bob")
				require.ErrorIs(t, err, httpauth.ErrRemoteAddrMalformed)
				assert.ErrorIs(t, err, httpauth.ErrUntrustedProxy)
				assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
				assert.Less(t, len(err.Error()), 300, "client text is truncated")
				assert.NotContains(t, err.Error(), "\r\n")
			})
		}
	}

	t.Run("message", func(t *testing.T) {
		a, _ := headerAuth(t, pki, nginxSrc())
		_, err := a.Authenticate(proxiedRequest(pki, "127.0.0.1"))
		assert.EqualError(t, err, `httpauth: peer address malformed: r.RemoteAddr "127.0.0.1" is not host:port: a middleware such as chi's RealIP or gorilla/handlers.ProxyHeaders probably rewrote it from a client header; run certgate before it`)
	})
}

func TestRemoteAddrHostPortFormsAccepted(t *testing.T) {
	pki := testpki.MustSet(t)
	a := fallbackAuth(t, pki)
	tests := []struct {
		remote string
		want   string // CN of the identity
		header bool   // taken from the header rather than the TLS peer
	}{
		{"127.0.0.1:40000", "alice", true},
		{"[::1]:40000", "alice", true},
		{"[::1%lo]:40000", "alice", true},
		{"[::ffff:127.0.0.1]:40000", "alice", true},
		{"127.0.0.1:0", "alice", true},
		{"192.0.2.7:40000", "bob", false}, // untrusted peer: TLS fallback
		{"[2001:db8::7]:40000", "bob", false},
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			t.Parallel()
			id, err := a.Authenticate(proxiedRequest(pki, tt.remote))
			require.NoError(t, err)
			cn, _ := id.CommonName()
			assert.Equal(t, tt.want, cn)
			assert.Equal(t, tt.header, id.Header != "")
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

func TestXFCCTrustedHopsOutOfRangeRefusedByNew(t *testing.T) {
	pki := testpki.MustSet(t)
	_, err := httpauth.New(httpauth.Config{Roots: pki.Root.Pool(), Source: httpauth.Source{Preset: "envoy", TrustedProxies: loopback, XFCCTrustedHops: httpauth.MaxXFCCElements}})
	assert.NoError(t, err)
	_, err = httpauth.New(httpauth.Config{Roots: pki.Root.Pool(), Source: httpauth.Source{Preset: "envoy", TrustedProxies: loopback, XFCCTrustedHops: -1}})
	assert.ErrorContains(t, err, "XFCCTrustedHops")
}
