package httpauth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxiedRequest is what a trusted proxy that itself authenticates with
// mTLS (as bob) sends for alice, from remote.
func proxiedRequest(pki *testpki.Set, remote string) *http.Request {
	r := tlsRequest(pki.Bob)
	r.RemoteAddr = remote
	r.Header.Set("X-SSL-Client-Cert", nginxEscape(pki.Alice.ChainPEM()))
	r.Header.Set("X-SSL-Client-Verify", "SUCCESS")
	return r
}

func TestRemoteAddrWithoutPort(t *testing.T) {
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

func TestRemoteAddrHostPortForms(t *testing.T) {
	pki := testpki.MustSet(t)
	src := nginxSrc()
	src.FallbackToTLS = true
	a, _ := headerAuth(t, pki, src, func(c *httpauth.Config) { c.Authorize = nil })
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
