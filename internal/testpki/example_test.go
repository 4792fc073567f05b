package testpki_test

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/certgate/certgate/internal/testpki"
)

// Example verifies the fixture set the way a client-certificate
// authenticator should: against the test root only, with the sent
// intermediates untrusted, for client authentication.
func Example() {
	set, err := testpki.NewSet()
	if err != nil {
		fmt.Println(err)
		return
	}

	for _, c := range []struct {
		name string
		leaf *testpki.Leaf
	}{
		{"alice", set.Alice},
		{"forged", set.Forged},
		{"expired", set.Expired},
		{"server-only", set.ServerOnly},
		{"stranger", set.Stranger},
	} {
		intermediates := x509.NewCertPool()
		for _, cert := range c.leaf.Intermediates() {
			intermediates.AddCert(cert)
		}
		_, err := c.leaf.Cert.Verify(x509.VerifyOptions{
			Roots:         set.Root.Pool(),
			Intermediates: intermediates,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		fmt.Printf("%s: %s\n", c.name, reason(err))
	}
	// Output:
	// alice: accepted
	// forged: unknown authority
	// expired: expired or not yet valid
	// server-only: wrong key usage
	// stranger: unknown authority
}

// ExampleAuthority_Leaf mints a device certificate with a SPIFFE ID under a
// dedicated intermediate.
func ExampleAuthority_Leaf() {
	root, err := testpki.NewRoot()
	if err != nil {
		fmt.Println(err)
		return
	}
	devices, err := root.Intermediate(testpki.WithCN("devices"))
	if err != nil {
		fmt.Println(err)
		return
	}
	leaf, err := devices.Leaf(
		testpki.WithCN("device-1"),
		testpki.WithURI("spiffe://example.org/device/1"),
		testpki.WithKey(testpki.Ed25519),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(leaf.Cert.Subject.CommonName, leaf.Cert.URIs[0])
	fmt.Println("sent chain:", len(leaf.TLSCertificate().Certificate), "certificates")
	// Output:
	// device-1 spiffe://example.org/device/1
	// sent chain: 2 certificates
}

// reason names why verification failed.
func reason(err error) string {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case err == nil:
		return "accepted"
	case errors.As(err, &unknown):
		return "unknown authority"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "expired or not yet valid"
	case errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage:
		return "wrong key usage"
	default:
		return err.Error()
	}
}
