package httpauth_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRFC9440MalformedFieldRefused(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetRFC9440})
	leaf := [2]string{"Client-Cert", sfBytes(pki.Alice.Cert)}
	for name, h := range map[string][][2]string{
		"list in singleton":  {{"Client-Cert", sfBytes(pki.Alice.Cert) + ", " + sfBytes(pki.Intermediate.Cert)}},
		"token not bytes":    {{"Client-Cert", "abc"}},
		"unterminated":       {{"Client-Cert", ":" + b64(pki.Alice.Cert)}},
		"chain inner list":   {leaf, {"Client-Cert-Chain", "(" + sfBytes(pki.Intermediate.Cert) + ")"}},
		"chain string":       {leaf, {"Client-Cert-Chain", `"abc"`}},
		"chain garbage":      {leaf, {"Client-Cert-Chain", ":!!:"}},
		"twice":              {leaf, leaf},
		"empty byte seq":     {{"Client-Cert", "::"}},
		"garbage DER in seq": {{"Client-Cert", ":AAAA:"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := a.Authenticate(headerRequest(proxyAddr, h...))
			assert.ErrorIs(t, err, httpauth.ErrHeaderMalformed)
		})
	}
	// The chain may arrive split over several lines.
	id, err := a.Authenticate(headerRequest(proxyAddr, leaf, [2]string{"Client-Cert-Chain", sfBytes(pki.Intermediate.Cert)}, [2]string{"Client-Cert-Chain", sfBytes(pki.Root.Cert)}))
	require.NoError(t, err)
	assert.Equal(t, "alice", id.Certificate.Subject.CommonName)
}

// The example fields of RFC 9440, Appendix A, authenticate at a time when
// the example certificate was valid.
func TestRFC9440AppendixAExampleVerifiedAtItsDate(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "rfc9440", "headers.txt"))
	require.NoError(t, err)
	var headers [][2]string
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		require.True(t, ok)
		headers = append(headers, [2]string{k, v})
	}
	rootPEM, err := os.ReadFile(filepath.Join("..", "testdata", "rfc9440", "root.pem"))
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(rootPEM))
	at := time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC)
	a := mustNew(t, httpauth.Config{
		Source:       httpauth.Source{Preset: httpauth.PresetRFC9440, TrustedProxies: loopback},
		Roots:        roots,
		Now:          func() time.Time { return at },
		IncludeChain: true,
		Authorize:    httpauth.AllowEmail("bdc@example.com"),
	})
	id, err := a.Authenticate(headerRequest(proxyAddr, headers...))
	require.NoError(t, err)
	assert.Equal(t, "BC", id.Certificate.Subject.CommonName)
	assert.Len(t, id.Chain, 3)

	// Without the chain field the leaf does not reach the root.
	_, err = a.Authenticate(headerRequest(proxyAddr, headers[0]))
	assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
	// Today the example certificate has long expired.
	late := mustNew(t, httpauth.Config{Source: httpauth.Source{Preset: httpauth.PresetGCP, TrustedProxies: loopback}, Roots: roots})
	_, err = late.Authenticate(headerRequest(proxyAddr, headers...))
	assert.ErrorIs(t, err, httpauth.ErrExpired)
}
