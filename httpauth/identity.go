package httpauth

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"time"
)

// Identity is an authenticated client: a verified certificate and where it
// came from. Treat it as read-only; it may be shared with a cache.
type Identity struct {
	// Certificate is the client's leaf certificate.
	Certificate *x509.Certificate
	// Chain is the verified chain from the leaf to a root, leaf first (with
	// [Config.InsecureSkipHeaderVerification], the unverified certificates
	// the proxy forwarded). It is set only when [Config.IncludeChain] is
	// true.
	Chain []*x509.Certificate
	// Header names the proxy header the certificate came from, in Go's
	// canonical form (X-Ssl-Client-Cert); empty when it came from the
	// request's own TLS connection.
	Header string
	// Fingerprint is the lowercase hex SHA-256 of the leaf's DER bytes, the
	// stable way to refer to a certificate in logs.
	Fingerprint string
	// NotAfter is the earliest NotAfter of the leaf and the certificates of
	// its chain: when this identity stops being valid. certgate's Handler
	// ends connections then.
	NotAfter time.Time
	// Verified is false only when the certificate was taken from a header
	// without verification because [Config.InsecureSkipHeaderVerification]
	// is set.
	Verified bool
}

// Fingerprint returns the lowercase hex SHA-256 of cert's DER bytes, the
// format [AllowFingerprints] and [Identity.Fingerprint] use.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}
