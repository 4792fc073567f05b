package testpki

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// CRL returns a PEM CRL signed by a that revokes the given leaves, valid
// from an hour ago for a day. number orders successive CRLs of a, as the
// CRL number extension does; a larger one supersedes a smaller one.
func (a *Authority) CRL(number int64, revoked ...*Leaf) ([]byte, error) {
	if a == nil {
		return nil, errNilAuthority
	}
	now := time.Now()
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(number),
		ThisUpdate: now.Add(-time.Hour),
		NextUpdate: now.Add(24 * time.Hour),
	}
	for _, l := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber: l.Cert.SerialNumber, RevocationTime: now.Add(-time.Minute),
		})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, a.Cert, a.Key)
	if err != nil {
		return nil, fmt.Errorf("testpki: signing CRL: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), nil
}
