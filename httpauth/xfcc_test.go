package httpauth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const xfccHeader = "X-Forwarded-Client-Cert"

// envoyAuth is an Authenticator behind Envoy whose roots accept alice with
// or without her intermediate, so every case below fails, if it fails, on
// the Hash alone.
func envoyAuth(t *testing.T, pki *testpki.Set, mod ...func(*httpauth.Config)) (*httpauth.Authenticator, *countingAuthorizer) {
	t.Helper()
	return headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetEnvoy}, append([]func(*httpauth.Config){func(c *httpauth.Config) {
		c.Roots = pki.Intermediate.Pool()
	}}, mod...)...)
}

func TestXFCC01_NearestTrustedElementIsUsed(t *testing.T) {
	pki := testpki.MustSet(t)
	forged, alice := xfccElem(pki.Forged), xfccElem(pki.Alice)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetEnvoy}, func(c *httpauth.Config) { c.Roots = pki.Intermediate.Pool() })
	tests := []struct {
		name  string
		lines []string
		hops  int
		want  string // CN, or "" for a refusal
	}{
		{"forged left of alice", []string{forged + "," + alice}, 1, "alice"},
		{"split over two header lines", []string{forged, alice}, 1, "alice"},
		{"alice left, forged appended by an untrusted hop", []string{alice + "," + forged}, 1, ""},
		{"two trusted hops select the edge's element", []string{forged + "," + alice + "," + xfccElem(pki.Bob)}, 2, "alice"},
		{"fewer elements than trusted hops", []string{alice}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := httpauth.Source{Preset: httpauth.PresetEnvoy, XFCCTrustedHops: tt.hops}
			a := a
			if tt.hops != 1 {
				a, _ = headerAuth(t, pki, src, func(c *httpauth.Config) { c.Roots = pki.Intermediate.Pool(); c.Authorize = nil })
			}
			h := make([][2]string, 0, len(tt.lines))
			for _, l := range tt.lines {
				h = append(h, [2]string{"X-Forwarded-Client-Cert", l})
			}
			id, err := a.Authenticate(headerRequest(proxyAddr, h...))
			if tt.want == "" {
				assert.ErrorIs(t, err, httpauth.ErrNotVerified)
				assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, id.Certificate.Subject.CommonName)
		})
	}
}

func TestXFCC02_QuotedValuesNeverBecomeKeys(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetEnvoy}, func(c *httpauth.Config) { c.Roots = pki.Intermediate.Pool() })
	values := []string{
		`Subject="CN=x;Cert=` + nginxEscape(pki.Forged.PEM()) + `";Cert="` + nginxEscape(pki.Alice.PEM()) + `"`,
		`Subject="CN=\"q\",O=a;b=c";URI=spiffe://td/a=b;Cert="` + nginxEscape(pki.Alice.PEM()) + `"`,
		`By=spiffe://p;Hash=` + xfccHash(pki.Alice.Cert) + `;Cert="` + nginxEscape(pki.Alice.PEM()) + `";Subject="";URI=;DNS=a;DNS=b`,
	}
	for _, v := range values {
		id, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Forwarded-Client-Cert", v}))
		require.NoError(t, err, v)
		assert.Equal(t, "alice", id.Certificate.Subject.CommonName)
	}
}

func TestXFCC04_TextOnlyElementIsNoIdentity(t *testing.T) {
	pki := testpki.MustSet(t)
	a, authz := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetEnvoy})
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Forwarded-Client-Cert",
		`By=spiffe://cluster.local/ns/default/sa/default;Hash=` + strings.Repeat("a", 64) + `;Subject="CN=alice";URI=spiffe://cluster.local/ns/default/sa/alice;DNS=alice.example.com`}))
	assert.ErrorIs(t, err, httpauth.ErrNoCertificate)
	assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
	assert.Zero(t, authz.calls.Load())
}

func TestXFCCMalformedElementRefused(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetEnvoy})
	cert := nginxEscape(pki.Alice.PEM())
	for _, v := range []string{
		b64(pki.Alice.Cert), // Cloud Foundry's bare base64, not XFCC
		`Cert="` + cert,     // unterminated quote
		`Cert="` + cert + `"x;Hash=1`,
		`Cert="` + cert + `";Cert="` + cert + `"`,
		`Chain="` + cert + `";Chain="` + cert + `"`,
		`Cert="` + cert + `";Chain="` + nginxEscape(pki.Bob.ChainPEM()) + `"`,
		`Cert="` + nginxEscape(pki.Alice.ChainPEM()) + `"`, // Cert holds one certificate only
		`=x;Cert="` + cert + `"`,
		`Cert="` + cert + `",`,
		`Hash;Cert="` + cert + `"`,
		strings.Repeat("Hash=1,", httpauth.MaxXFCCElements) + `Cert="` + cert + `"`,
	} {
		_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Forwarded-Client-Cert", v}))
		assert.ErrorIs(t, err, httpauth.ErrHeaderMalformed, truncateForMsg(v))
		assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
	}
}

func truncateForMsg(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// assertHashRefused checks that an element whose Hash does not vouch for
// its certificate is refused as malformed, for the given reason, before
// the authorizer sees it.
func assertHashRefused(t *testing.T, pki *testpki.Set, value, reason string) {
	t.Helper()
	a, authz := envoyAuth(t, pki)
	id, err := a.Authenticate(headerRequest(proxyAddr, [2]string{xfccHeader, value}))
	assert.Nil(t, id)
	assert.ErrorIs(t, err, httpauth.ErrHeaderMalformed)
	assert.ErrorContains(t, err, reason)
	assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
	assert.Zero(t, authz.calls.Load(), "the authorizer saw an inconsistent element")
}

func TestXFCCHashMismatch(t *testing.T) {
	pki := testpki.MustSet(t)
	cert := `Cert="` + nginxEscape(pki.Alice.PEM()) + `"`
	chain := `Chain="` + nginxEscape(pki.Alice.ChainPEM()) + `"`
	pemSum := sha256.Sum256(pki.Alice.PEM())
	aliceHash := xfccHash(pki.Alice.Cert)
	offByOne := aliceHash[:63] + "0"
	if aliceHash[63] == '0' {
		offByOne = aliceHash[:63] + "1"
	}
	tests := []struct {
		name, value string
		from        string // which certificate the reason names
	}{
		{"another client's hash beside Cert", `Hash=` + xfccHash(pki.Bob.Cert) + `;` + cert, "Cert"},
		{"another client's hash beside Cert and Chain", `Hash=` + xfccHash(pki.Bob.Cert) + `;` + cert + `;` + chain, "Cert"},
		{"another client's hash beside Chain only", `Hash=` + xfccHash(pki.Bob.Cert) + `;` + chain, "the first certificate of Chain"},
		// Chain is leaf first: the intermediate's hash is not the client's.
		{"intermediate's hash beside Chain only", `Hash=` + xfccHash(pki.Intermediate.Cert) + `;` + chain, "the first certificate of Chain"},
		// The digest is over the DER, not over the PEM text.
		{"hash of the PEM text", `Hash=` + hex.EncodeToString(pemSum[:]) + `;` + cert, "Cert"},
		{"last digit changed", `Hash=` + offByOne + `;` + cert, "Cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assertHashRefused(t, pki, tt.value, "does not match "+tt.from)
		})
	}
}

func TestXFCCHashMalformed(t *testing.T) {
	pki := testpki.MustSet(t)
	cert := `;Cert="` + nginxEscape(pki.Alice.PEM()) + `"`
	good := xfccHash(pki.Alice.Cert)
	sum := sha256.Sum256(pki.Alice.Cert.Raw)
	tests := []struct {
		name, value string
		reason      string
	}{
		{"empty", `Hash=` + cert, "Hash is empty"},
		{"empty and quoted", `Hash=""` + cert, "Hash is empty"},
		{"placeholder", `Hash=1` + cert, "has 1 characters"},
		{"one digit short", `Hash=` + good[:63] + cert, "has 63 characters"},
		{"one digit long", `Hash=` + good + `0` + cert, "has 65 characters"},
		// Other proxies' fingerprint shapes (PROXY_FORMATS.md §0).
		{"SHA-1 like nginx", `Hash=` + good[:40] + cert, "has 40 characters"},
		{"base64 SHA-256 like GCP", `Hash="` + base64.StdEncoding.EncodeToString(sum[:]) + `"` + cert, "has 44 characters"},
		{"colon-separated", `Hash=` + strings.Join(pairs(good), ":") + cert, "has 95 characters"},
		{"right length, not hex", `Hash=` + good[:63] + `g` + cert, "not hexadecimal"},
		{"two Hash keys", `Hash=` + good + `;Hash=` + good + cert, "two Hash keys"},
		{"two Hash keys, other case", `Hash=` + good + `;hash=` + good + cert, "two Hash keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assertHashRefused(t, pki, tt.value, tt.reason)
		})
	}

	// Without Cert or Chain there is nothing for Hash to vouch for: the
	// element stays "nothing offered" (XFCC-04), whatever its Hash says.
	a, _ := envoyAuth(t, pki)
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{xfccHeader, `By=spiffe://p;Hash=1;Subject="";URI=spiffe://td/alice`}))
	assert.ErrorIs(t, err, httpauth.ErrNoCertificate)
	assert.NotErrorIs(t, err, httpauth.ErrHeaderMalformed)
}

func TestXFCCHashMatchesAnyCase(t *testing.T) {
	pki := testpki.MustSet(t)
	cert := `Cert="` + nginxEscape(pki.Alice.PEM()) + `"`
	chain := `Chain="` + nginxEscape(pki.Alice.ChainPEM()) + `"`
	lowerHash := xfccHash(pki.Alice.Cert)
	upperHash := strings.ToUpper(lowerHash)
	mixedHash := upperHash[:32] + lowerHash[32:]
	require.NotEqual(t, lowerHash, upperHash, "the hash has letters, so case is tested")
	tests := []struct{ name, value string }{
		{"lowercase as Envoy writes it", `By=spiffe://p;Hash=` + lowerHash + `;` + cert + `;Subject="CN=alice";URI=;DNS=alice.example.com`},
		{"uppercase", `Hash=` + upperHash + `;` + cert},
		{"mixed case", `Hash=` + mixedHash + `;` + cert},
		{"quoted", `Hash="` + lowerHash + `";` + cert},
		{"key in other case", `HASH=` + lowerHash + `;` + cert},
		{"spaces around the value", `Hash= ` + lowerHash + ` ;` + cert},
		{"Hash after Cert", cert + `;Hash=` + lowerHash},
		{"beside Chain only, names its first certificate", `Hash=` + lowerHash + `;` + chain},
		{"beside Cert and Chain", `Hash=` + upperHash + `;` + cert + `;` + chain},
		{"no Hash at all", cert},
		// Elements left of the trusted hop are the client's to write under
		// APPEND_FORWARD; only the chosen element's Hash is checked.
		{"bad Hash in an untrusted element", `Hash=1;Cert="x",Hash=` + lowerHash + `;` + cert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, authz := envoyAuth(t, pki)
			id, err := a.Authenticate(headerRequest(proxyAddr, [2]string{xfccHeader, tt.value}))
			require.NoError(t, err)
			assert.Equal(t, httpauth.Fingerprint(pki.Alice.Cert), id.Fingerprint)
			assert.Equal(t, int32(1), authz.calls.Load())
		})
	}
}

// pairs splits s into two-character groups, as colon-separated
// fingerprints are written.
func pairs(s string) []string {
	var out []string
	for len(s) >= 2 {
		out = append(out, s[:2])
		s = s[2:]
	}
	return out
}
