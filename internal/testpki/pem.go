package testpki

import (
	"crypto/x509"
	"encoding/pem"
)

// PEM returns certs as concatenated PEM CERTIFICATE blocks, in order. Nil
// certificates are skipped; with none left it returns nil.
func PEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		if c == nil {
			continue
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}
