package httpauth

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"

	"github.com/stretchr/testify/assert"
)

// An excluded-only email constraint distrusts the subject's emailAddress
// as a permitted one does. testpki mints only permitted subtrees, so the
// chain is built by hand.
func TestAllowEmailSubjectAttributeIgnoredUnderExcludedConstraint(t *testing.T) {
	leaf := &x509.Certificate{Subject: pkix.Name{Names: []pkix.AttributeTypeAndValue{{Type: oidEmailAddress, Value: "ceo@other.com"}}}}
	for _, tt := range []struct {
		name  string
		ca    *x509.Certificate
		allow bool
	}{
		{"no constraints", &x509.Certificate{}, true},
		{"excluded addresses", &x509.Certificate{ExcludedEmailAddresses: []string{"other.com"}}, false},
		{"permitted addresses", &x509.Certificate{PermittedEmailAddresses: []string{"example.com"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := &Identity{Certificate: leaf, Verified: true, verifiedChain: []*x509.Certificate{leaf, tt.ca}}
			err := AllowEmail("ceo@other.com")(t.Context(), id)
			if tt.allow {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, "email name constraints")
			}
		})
	}
}
