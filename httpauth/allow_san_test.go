package httpauth_test

import (
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAllowSPIFFEIDNeedsExactlyOneURI(t *testing.T) {
	pki := testpki.MustSet(t)
	two, err := pki.Intermediate.Leaf(testpki.WithURI("spiffe://example.org/a", "spiffe://example.org/b"))
	require.NoError(t, err)
	notSpiffe, err := pki.Intermediate.Leaf(testpki.WithURI("https://example.org/a"))
	require.NoError(t, err)
	az := httpauth.AllowSPIFFEID("spiffe://example.org")
	assert.ErrorContains(t, az(t.Context(), identityOf(two)), "exactly one")
	assert.ErrorContains(t, az(t.Context(), identityOf(notSpiffe)), "not a SPIFFE ID")
}
