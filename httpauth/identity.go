package httpauth

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
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

	// verifiedChain is the chain the Authenticator verified, leaf first,
	// whatever Config.IncludeChain says: helpers that depend on the issuer
	// (AllowIssuerSerial) or on the chain's name constraints (AllowEmail)
	// read it. Nil when the certificate was not verified, and in
	// identities built outside this package.
	verifiedChain []*x509.Certificate

	// checkedBy and checkedAt say which Authenticator admitted it and at
	// which count of changes of trust its check began, so Hold can tell
	// an identity checked under trust that has changed since.
	checkedBy *Authenticator
	checkedAt uint64
}

// newIdentity builds the identity; fp is the leaf's fingerprint when the
// caller already knows it (cache hits), else empty.
func (a *Authenticator) newIdentity(leaf *x509.Certificate, fp string, chain []*x509.Certificate, header string, verified bool) *Identity {
	if fp == "" {
		fp = Fingerprint(leaf)
	}
	id := &Identity{Certificate: leaf, Header: header, Fingerprint: fp, NotAfter: leaf.NotAfter, Verified: verified}
	for _, c := range chain {
		if c.NotAfter.Before(id.NotAfter) {
			id.NotAfter = c.NotAfter
		}
	}
	if a.chain {
		id.Chain = chain
	}
	if verified {
		id.verifiedChain = chain
	}
	return id
}

// CommonName returns the leaf's subject common name (CN) and true when the
// subject has exactly one CN attribute and it is not empty. With none, an
// empty one or several it returns "" and false. Several CNs are ambiguous:
// crypto/x509's Subject.CommonName reads the last, OpenSSL and most CAs'
// vetting the first, so the one a CA checked may not be the one a program
// shows. Prefer it to Certificate.Subject.CommonName wherever the name
// stands for the client.
func (id *Identity) CommonName() (string, bool) {
	if id == nil || id.Certificate == nil {
		return "", false
	}
	cn, n := commonNames(id.Certificate.Subject)
	return cn, n == 1 && cn != ""
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// commonNames counts the CN attributes of name and returns the value of
// the only one. It counts in name.Names, which holds every attribute of
// every RDN as parsed, since the CommonName field keeps only the last. A
// name built by hand rather than parsed has no Names; its CommonName field
// is then all there is.
func commonNames(name pkix.Name) (cn string, n int) {
	if len(name.Names) == 0 {
		if name.CommonName == "" {
			return "", 0
		}
		return name.CommonName, 1
	}
	for _, atv := range name.Names {
		if atv.Type.Equal(oidCommonName) {
			n++
			cn, _ = atv.Value.(string)
		}
	}
	if n != 1 {
		return "", n
	}
	return cn, n
}

// Fingerprint returns the lowercase hex SHA-256 of cert's DER bytes, the
// format [AllowFingerprints] and [Identity.Fingerprint] use.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}
