//go:build e2e

package e2e

import (
	"crypto/elliptic"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/testpki"
)

// hostileChain is one of testpki's hostile chains, named for the logs of
// TestHostileKeepAliveClients. Each comes with the leaf's private key, so
// that a TLS client can present it in a real handshake.
type hostileChain struct {
	name string
	testpki.HostileChain
}

// hostileChains returns one chain of each shape that was expensive before
// certgate screened presented certificates, every one within the default
// MaxChainLength, so that it reaches the path proof.
func hostileChains(tb testing.TB, pki *testpki.Set) []hostileChain {
	tb.Helper()
	return []hostileChain{
		{"shared-key-p521", testpki.SharedKeyChain(tb, pki, testpki.ECKey(tb, elliptic.P521()), 4)},
		{"distinct-intermediates", testpki.DistinctIntermediates(tb, pki, 4)},
		{"forged-under-real-intermediate", testpki.ForgedUnderRealIntermediate(tb, pki, 3)},
		{"shared-key-rsa-e2^31-1", testpki.SharedKeyChain(tb, pki, testpki.RSAKeyWithExponent(tb, 1<<31-1), 4)},
	}
}

// awsEscaped is the chain as AWS ALB forwards it in X-Amzn-Mtls-Clientcert:
// percent-escaped PEM, leaf first, with '+', '=' and '/' left literal.
func awsEscaped(certs ...*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		b.WriteString(nginxEscaped(c))
	}
	return strings.NewReplacer("%2B", "+", "%3D", "=", "%2F", "/").Replace(b.String())
}
