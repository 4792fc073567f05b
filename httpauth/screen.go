package httpauth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"slices"
)

// Key limits for presented certificates. crypto/tls applies the RSA size
// cap only inside a handshake and x509.Verify applies none, yet the cost of
// one RSA signature check grows with the square of the modulus and linearly
// with the exponent's bit length: a 16,384-bit key or an exponent of 2³¹−1
// turns each check into milliseconds.
const (
	maxRSABits     = 8192
	maxRSAExponent = 65537
)

// screen runs the checks that need no signature on what a client or proxy
// presented: the count, every key, then the leaf's own policy. It returns
// the presented intermediates without duplicates, in their order.
//
// Duplicates are what makes Go's chain builder explode: five certificates
// sharing one subject and key are each a valid parent of the others, and
// the builder tries their permutations up to its cap of 100 signature
// checks. A certificate whose DER, or whose subject and public key, repeat
// an earlier one's adds no path, so it is dropped.
func (a *Authenticator) screen(leaf *x509.Certificate, presented []*x509.Certificate) ([]*x509.Certificate, error) {
	if n := 1 + len(presented); n > a.maxChain {
		return nil, fmt.Errorf("%w: %d certificates presented, at most %d allowed (Config.MaxChainLength)", ErrChainTooLong, n, a.maxChain)
	}
	if err := checkKey(leaf, 0); err != nil {
		return nil, err
	}
	kept := make([]*x509.Certificate, 0, len(presented))
	for i, c := range presented {
		if err := checkKey(c, i+1); err != nil {
			return nil, err
		}
		if sameKeyAndName(c, leaf) || slices.ContainsFunc(kept, func(k *x509.Certificate) bool { return sameKeyAndName(c, k) }) {
			continue
		}
		kept = append(kept, c)
	}
	return kept, nil
}

// sameKeyAndName reports whether a and b are the same certificate or name
// the same subject with the same key (a cross-signed or re-issued copy).
func sameKeyAndName(a, b *x509.Certificate) bool {
	return bytes.Equal(a.Raw, b.Raw) ||
		bytes.Equal(a.RawSubject, b.RawSubject) && bytes.Equal(a.RawSubjectPublicKeyInfo, b.RawSubjectPublicKeyInfo)
}

// checkKey refuses keys that Go's verifier does not support or that make
// a signature check expensive. i is the certificate's position as
// presented, 0 for the leaf.
func checkKey(c *x509.Certificate, i int) error {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits > maxRSABits {
			return fmt.Errorf("%w: certificate %d (%s) has a %d-bit RSA key, at most %d bits allowed", ErrUnsupportedKey, i, shortFP(c), bits, maxRSABits)
		}
		if k.E > maxRSAExponent {
			return fmt.Errorf("%w: certificate %d (%s) has RSA exponent %d, at most %d allowed", ErrUnsupportedKey, i, shortFP(c), k.E, maxRSAExponent)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return fmt.Errorf("%w: certificate %d (%s) uses curve %s; use P-256, P-384 or P-521", ErrUnsupportedKey, i, shortFP(c), k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("%w: certificate %d (%s) has a %v key, which crypto/x509 cannot verify; use RSA, ECDSA or Ed25519", ErrUnsupportedKey, i, shortFP(c), c.PublicKeyAlgorithm)
	}
	return nil
}

// checkLeafPolicy checks what the leaf itself must be to name a client:
// not a CA (unless pinned, see verifyLeaf) and, when it restricts its key
// usage, usable for signing or key agreement, as OpenSSL's SSL-client
// purpose requires. isCA reports the first condition for the caller.
func checkLeafPolicy(leaf *x509.Certificate) (isCA bool, err error) {
	if hasExtension(leaf, oidKeyUsage) && leaf.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageKeyAgreement) == 0 {
		return false, fmt.Errorf("%w: certificate %s (serial %s) has a key usage extension without digitalSignature or keyAgreement; issue it with digitalSignature", ErrLeafKeyUsage, shortFP(leaf), serialHex(leaf))
	}
	return leaf.BasicConstraintsValid && leaf.IsCA || leaf.KeyUsage&x509.KeyUsageCertSign != 0, nil
}

// checkVerifiedLeaf applies the leaf policy of verifyLeaf to a chain the
// TLS layer built: a CA certificate passes only as the whole chain, that
// is, as one of the listener's ClientCAs itself.
func checkVerifiedLeaf(leaf *x509.Certificate, chain []*x509.Certificate) error {
	isCA, err := checkLeafPolicy(leaf)
	if err != nil {
		return err
	}
	if isCA && len(chain) != 1 {
		return fmt.Errorf("%w: certificate %s (serial %s) has CA:TRUE or keyCertSign and is not itself one of the listener's ClientCAs; issue client certificates with CA:FALSE", ErrLeafIsCA, shortFP(leaf), serialHex(leaf))
	}
	return nil
}

var oidKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

func hasExtension(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	return slices.ContainsFunc(c.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oid) })
}
