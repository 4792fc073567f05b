package testpki

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// profile is what one kind of certificate gets when no option says
// otherwise.
type profile struct {
	cn       string
	isCA     bool
	lifetime time.Duration
	keyUsage x509.KeyUsage
	eku      []x509.ExtKeyUsage
	// serverSANs adds DNS localhost and IP 127.0.0.1 and ::1 when the
	// options name neither DNS nor IP SANs.
	serverSANs bool
}

var (
	rootProfile = profile{
		cn:       "certgate test root",
		isCA:     true,
		lifetime: 365 * 24 * time.Hour,
		keyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	intermediateProfile = profile{
		cn:       "certgate test intermediate",
		isCA:     true,
		lifetime: 365 * 24 * time.Hour,
		keyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	clientProfile = profile{
		cn:       "client",
		lifetime: 24 * time.Hour,
		keyUsage: x509.KeyUsageDigitalSignature,
		eku:      []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	serverProfile = profile{
		cn:         "localhost",
		lifetime:   24 * time.Hour,
		keyUsage:   x509.KeyUsageDigitalSignature,
		eku:        []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		serverSANs: true,
	}
)

// backdate is how far before the reference time a default validity starts,
// so that small clock differences between test processes do not matter.
const backdate = time.Hour

// mint generates a key and a certificate for it from p and opts, signed by
// issuer, or self-signed when issuer is nil.
func mint(p profile, issuer *Authority, opts []Option) (*x509.Certificate, crypto.Signer, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, nil, err
	}
	if issuer != nil && (issuer.Cert == nil || issuer.Key == nil) {
		return nil, nil, errors.New("testpki: authority has no certificate or key")
	}

	notBefore, notAfter := o.now.Add(-backdate), o.now.Add(p.lifetime)
	if o.validity != nil {
		notBefore, notAfter = o.validity(o.now)
	}
	if notAfter.Before(notBefore) {
		return nil, nil, errors.New("testpki: validity ends before it starts")
	}

	serial := o.serial
	if serial == nil {
		if serial, err = randomSerial(); err != nil {
			return nil, nil, err
		}
	}

	key, err := o.keyType.generate()
	if err != nil {
		return nil, nil, err
	}
	skid, err := keyID(key.Public())
	if err != nil {
		return nil, nil, err
	}

	subject := o.subject
	if !o.cnSet {
		subject.CommonName = p.cn
	}
	eku := p.eku
	if o.ekuSet {
		eku = o.eku
	}
	dns, ips := o.dns, o.ips
	if p.serverSANs && len(dns) == 0 && len(ips) == 0 {
		dns = []string{"localhost"}
		ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}

	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              p.keyUsage,
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
		IsCA:                  p.isCA,
		SubjectKeyId:          skid,
		DNSNames:              dns,
		EmailAddresses:        o.emails,
		URIs:                  o.uris,
		IPAddresses:           ips,
		// crypto/x509 writes the extension only when a list is non-empty.
		PermittedEmailAddresses: o.permittedEmails,
		OCSPServer:              o.ocsp,
		CRLDistributionPoints:   o.crlDPs,
	}
	if p.isCA {
		// -1 leaves out the path length constraint: any depth below.
		template.MaxPathLen = -1
	}

	parent, signer := template, key
	template.AuthorityKeyId = skid
	if issuer != nil {
		parent, signer = issuer.Cert, issuer.Key
		template.AuthorityKeyId = issuer.Cert.SubjectKeyId
	}

	der, err := x509.CreateCertificate(rand.Reader, template, parent, key.Public(), signer)
	if err != nil {
		return nil, nil, fmt.Errorf("testpki: sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("testpki: parse minted certificate: %w", err)
	}
	return cert, key, nil
}

// serialLimit is 2^127: serials get their top bit set below, so each is
// exactly 128 bits long and positive.
var serialLimit = new(big.Int).Lsh(big.NewInt(1), 127)

// randomSerial returns a random positive 128-bit serial number. RFC 5280,
// section 4.1.2.2 caps serials at 20 octets, which 128 bits stay under.
func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, serialLimit)
	if err != nil {
		return nil, fmt.Errorf("testpki: generate serial: %w", err)
	}
	return n.Or(n, serialLimit), nil
}

// keyID derives a key identifier from pub as in RFC 7093, section 2, method
// 1: the leftmost 160 bits of the SHA-256 hash of the subjectPublicKey bits.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("testpki: marshal public key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("testpki: parse public key: %w", err)
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20], nil
}
