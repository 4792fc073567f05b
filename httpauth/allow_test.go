package httpauth_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func identityOf(l *testpki.Leaf) *httpauth.Identity {
	return &httpauth.Identity{Certificate: l.Cert, Fingerprint: httpauth.Fingerprint(l.Cert), Verified: true}
}

func TestAllowHelpers(t *testing.T) {
	pki := testpki.MustSet(t)
	rich, err := pki.Intermediate.Leaf(
		testpki.WithSubject(pkix.Name{
			CommonName:         "device-7",
			Organization:       []string{"Acme", "Acme Labs"},
			OrganizationalUnit: []string{"telemetry", "edge"},
			Country:            []string{"DE"},
			ExtraNames:         []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "Ops@Example.com"}},
		}),
		testpki.WithDNS("device-7.example.com"),
		testpki.WithEmail("device7@example.com"),
		testpki.WithURI("spiffe://example.org/device/7"),
		testpki.WithIP(net.ParseIP("10.0.0.7")),
		testpki.WithSerial(big.NewInt(0x0a1b)),
	)
	require.NoError(t, err)
	fp := httpauth.Fingerprint(rich.Cert)
	colon := func(s string) string {
		var parts []string
		for i := 0; i < len(s); i += 2 {
			parts = append(parts, s[i:i+2])
		}
		return strings.Join(parts, ":")
	}
	tests := []struct {
		name  string
		authz httpauth.Authorizer
		allow bool
	}{
		{"CN match", httpauth.AllowCN("x", "device-7"), true},
		{"CN is case-sensitive", httpauth.AllowCN("Device-7"), false},
		{"fingerprint plain", httpauth.AllowFingerprints(fp), true},
		{"fingerprint upper with colons and prefix", httpauth.AllowFingerprints("SHA256:" + strings.ToUpper(colon(fp))), true},
		{"fingerprint lower prefix", httpauth.AllowFingerprints("sha256:" + fp), true},
		{"fingerprint other", httpauth.AllowFingerprints(strings.Repeat("ab", 32)), false},
		{"issuer CN", httpauth.AllowIssuer(pkix.Name{CommonName: pki.Intermediate.Cert.Subject.CommonName}), true},
		{"issuer wrong CN", httpauth.AllowIssuer(pkix.Name{CommonName: "evil CA"}), false},
		{"subject all fields", httpauth.AllowSubject(pkix.Name{CommonName: "device-7", Organization: []string{"Acme Labs"}, Country: []string{"DE"}}), true},
		{"subject multi-valued O both", httpauth.AllowSubject(pkix.Name{Organization: []string{"Acme", "Acme Labs"}}), true},
		{"subject one field wrong", httpauth.AllowSubject(pkix.Name{CommonName: "device-7", Country: []string{"FR"}}), false},
		{"subject extra attribute", httpauth.AllowSubject(pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "Ops@Example.com"}}}), true},
		{"OU any", httpauth.AllowOU("edge"), true},
		{"OU none", httpauth.AllowOU("billing"), false},
		{"O any", httpauth.AllowOrganization("Acme"), true},
		{"O none", httpauth.AllowOrganization("Acme Inc"), false},
		{"serial colons leading zeros upper", httpauth.AllowSerial("00:0A:1B"), true},
		{"serial 0x", httpauth.AllowSerial("0xa1b"), true},
		{"serial 0X", httpauth.AllowSerial("0XA1B"), true},
		{"serial other", httpauth.AllowSerial("a1c"), false},
		{"SAN DNS prefixed any case", httpauth.AllowSAN("DNS:Device-7.example.com"), true},
		{"SAN email prefixed", httpauth.AllowSAN("email:device7@example.com"), true},
		{"SAN URI prefixed", httpauth.AllowSAN("URI:spiffe://example.org/device/7"), true},
		{"SAN IP Address prefixed", httpauth.AllowSAN("IP Address:10.0.0.7"), true},
		{"SAN IP mapped", httpauth.AllowSAN("IP:::ffff:10.0.0.7"), true},
		{"SAN bare DNS", httpauth.AllowSAN("device-7.example.com"), true},
		{"SAN bare email", httpauth.AllowSAN("device7@example.com"), true},
		{"SAN bare URI", httpauth.AllowSAN("spiffe://example.org/device/7"), true},
		{"SAN bare IP", httpauth.AllowSAN("10.0.0.7"), true},
		{"SAN DNS prefix does not match an email", httpauth.AllowSAN("DNS:device7@example.com"), false},
		{"SAN URI prefix does not match a DNS name", httpauth.AllowSAN("URI:device-7.example.com"), false},
		{"SAN IP prefix does not match a URI", httpauth.AllowSAN("IP:spiffe://example.org/device/7"), false},
		{"SAN email prefix does not match an IP", httpauth.AllowSAN("email:10.0.0.7"), false},
		{"SAN wrong kind", httpauth.AllowSAN("email:device-7.example.com"), false},
		{"SAN none", httpauth.AllowSAN("DNS:other.example.com", "URI:spiffe://example.org/device/8"), false},
		{"email SAN", httpauth.AllowEmail("DEVICE7@example.com"), true},
		{"email subject attribute needs a verified chain", httpauth.AllowEmail("ops@example.com"), false},
		{"email none", httpauth.AllowEmail("root@example.com"), false},
		{"SPIFFE exact", httpauth.AllowSPIFFEID("spiffe://example.org/device/7"), true},
		{"SPIFFE trust domain", httpauth.AllowSPIFFEID("spiffe://example.org"), true},
		{"SPIFFE other domain", httpauth.AllowSPIFFEID("spiffe://example.com"), false},
		{"SPIFFE other path", httpauth.AllowSPIFFEID("spiffe://example.org/device/70"), false},
		{"SPIFFE prefix is not a match", httpauth.AllowSPIFFEID("spiffe://example.org/device"), false},
		{"AllOf all", httpauth.AllOf(httpauth.AllowCN("device-7"), httpauth.AllowOU("edge")), true},
		{"AllOf one fails", httpauth.AllOf(httpauth.AllowCN("device-7"), httpauth.AllowOU("billing")), false},
		{"AnyOf one", httpauth.AnyOf(httpauth.AllowCN("nobody"), httpauth.AllowOU("edge")), true},
		{"AnyOf none", httpauth.AnyOf(httpauth.AllowCN("nobody"), httpauth.AllowOU("billing")), false},
	}
	id := identityOf(rich)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.authz(t.Context(), id)
			if tt.allow {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestAllowHelpersFailClosedOnBadArguments(t *testing.T) {
	pki := testpki.MustSet(t)
	id := identityOf(pki.Alice)
	for name, az := range map[string]httpauth.Authorizer{
		"AllowCN empty":                     httpauth.AllowCN(),
		"AllowCN empty entry":               httpauth.AllowCN("alice", ""),
		"AllowOU blank entry":               httpauth.AllowOU(" "),
		"AllowEmail empty entry":            httpauth.AllowEmail(""),
		"AllowSAN empty entry":              httpauth.AllowSAN(""),
		"AllowSAN prefix only":              httpauth.AllowSAN("DNS:"),
		"AllowFingerprints empty":           httpauth.AllowFingerprints(),
		"AllowFingerprints short":           httpauth.AllowFingerprints("abcd"),
		"AllowFingerprints non-hex":         httpauth.AllowFingerprints(strings.Repeat("zz", 32)),
		"AllowSerial empty":                 httpauth.AllowSerial(),
		"AllowSerial non-hex":               httpauth.AllowSerial("12:xy"),
		"AllowIssuerSerial nil issuer":      httpauth.AllowIssuerSerial(nil, "01"),
		"AllowIssuerSerial unparsed issuer": httpauth.AllowIssuerSerial(&x509.Certificate{}, "01"),
		"AllowIssuerSerial no serials":      httpauth.AllowIssuerSerial(pki.Intermediate.Cert),
		"AllowIssuerSerial non-hex":         httpauth.AllowIssuerSerial(pki.Intermediate.Cert, "01", "0x"),
		"AllowIssuer empty name":            httpauth.AllowIssuer(pkix.Name{}),
		"AllowSubject empty name":           httpauth.AllowSubject(pkix.Name{}),
		"AllowSubject two CNs":              httpauth.AllowSubject(pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidCN, Value: "a"}, {Type: oidCN, Value: "b"}}}),
		"AllowIssuer two CNs":               httpauth.AllowIssuer(pkix.Name{CommonName: "a", ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidCN, Value: "b"}, {Type: oidCN, Value: "c"}}}),
		"AllowOU empty":                     httpauth.AllowOU(),
		"AllowOrganization empty":           httpauth.AllowOrganization(),
		"AllowSAN empty":                    httpauth.AllowSAN(),
		"AllowEmail empty":                  httpauth.AllowEmail(),
		"AllowSPIFFEID empty":               httpauth.AllowSPIFFEID(),
		"AllowSPIFFEID not spiffe":          httpauth.AllowSPIFFEID("https://example.org"),
		"AllowSPIFFEID upper domain":        httpauth.AllowSPIFFEID("spiffe://Example.org"),
		"AllowSPIFFEID dot segment":         httpauth.AllowSPIFFEID("spiffe://example.org/a/../b"),
		"AllowSPIFFEID query":               httpauth.AllowSPIFFEID("spiffe://example.org/a?b"),
		"AllowSPIFFEID slash":               httpauth.AllowSPIFFEID("spiffe://example.org/"),
		"AllowSPIFFEID port":                httpauth.AllowSPIFFEID("spiffe://example.org:1/a"),
		"AllowSPIFFEID bad URI":             httpauth.AllowSPIFFEID("spiffe://%zz"),
		"AllOf empty":                       httpauth.AllOf(),
		"AnyOf empty":                       httpauth.AnyOf(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := az(t.Context(), id)
			var e *httpauth.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, http.StatusInternalServerError, e.ResponseStatus())
			assert.ErrorIs(t, err, httpauth.ErrAuthorizer)
			assert.Contains(t, err.Error(), "httpauth."+strings.Fields(name)[0])
		})
	}
}

func TestDuplicateCNRefusedByAllowCN(t *testing.T) {
	pki := testpki.MustSet(t)
	// A CA that vetted the first CN (eve) let the requester add a second
	// one; crypto/x509's Subject.CommonName reads alice.
	leaf, err := pki.Intermediate.Leaf(withCNs("eve", "alice"))
	require.NoError(t, err)
	id := identityOf(leaf)
	tests := []struct {
		name  string
		names []string
	}{
		{"last CN listed", []string{"alice"}},
		{"first CN listed", []string{"eve"}},
		{"both CNs listed", []string{"eve", "alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := httpauth.AllowCN(tt.names...)(t.Context(), id)
			assert.EqualError(t, err, "subject has 2 CN attributes; the common name is ambiguous")
		})
	}

	t.Run("through Authenticate", func(t *testing.T) {
		t.Parallel()
		a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: httpauth.AllowCN("alice")})
		got, err := a.Authenticate(tlsRequest(leaf))
		assert.ErrorIs(t, err, httpauth.ErrDenied)
		assert.Equal(t, http.StatusForbidden, statusOf(t, err))
		require.NotNil(t, got, "who was refused stays visible")
		_, ok := got.CommonName()
		assert.False(t, ok)
	})
}

func TestDuplicateCNRefusedByAllowSubject(t *testing.T) {
	pki := testpki.MustSet(t)
	leaf, err := pki.Intermediate.Leaf(withCNs("eve", "alice"))
	require.NoError(t, err)
	// An intermediate whose own subject has two CNs issues a leaf with
	// one: the leaf's issuer name is the ambiguous one.
	twoCNCA, err := pki.Root.Intermediate(withCNs("certgate test intermediate", "other CA"))
	require.NoError(t, err)
	underTwoCNCA, err := twoCNCA.Leaf(testpki.WithCN("alice"))
	require.NoError(t, err)
	tests := []struct {
		name  string
		authz httpauth.Authorizer
		leaf  *testpki.Leaf
		want  string
	}{
		{"subject asks for the last CN", httpauth.AllowSubject(pkix.Name{CommonName: "alice"}), leaf, "subject"},
		{"subject asks for the first CN", httpauth.AllowSubject(pkix.Name{CommonName: "eve"}), leaf, "subject"},
		{"subject asks for no CN", httpauth.AllowSubject(pkix.Name{Organization: []string{"Acme"}}), leaf, "subject"},
		{"issuer asks for the first CN", httpauth.AllowIssuer(pkix.Name{CommonName: "certgate test intermediate"}), underTwoCNCA, "issuer"},
		{"issuer asks for no CN", httpauth.AllowIssuer(pkix.Name{Organization: []string{"Acme"}}), underTwoCNCA, "issuer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.authz(t.Context(), identityOf(tt.leaf))
			assert.EqualError(t, err, tt.want+" has 2 CN attributes; the common name is ambiguous")
		})
	}

	// Control: one CN and the same O pass, so the refusals above are due
	// to the second CN alone.
	single, err := pki.Intermediate.Leaf(withCNs("alice"))
	require.NoError(t, err)
	assert.NoError(t, httpauth.AllowSubject(pkix.Name{CommonName: "alice", Organization: []string{"Acme"}})(t.Context(), identityOf(single)))
	assert.NoError(t, httpauth.AllowIssuer(pkix.Name{CommonName: "certgate test intermediate"})(t.Context(), identityOf(single)))
}

func TestHelperMisconfigurationAtStartup(t *testing.T) {
	pki := testpki.MustSet(t)
	sha1Line := "SHA1 Fingerprint=" + opensslHex(strings.Repeat("ab", 20))
	tests := []struct {
		name  string
		authz httpauth.Authorizer
		want  string // after "Config.Authorize: ": the helper and what is wrong
	}{
		{"AllowCN with no names", httpauth.AllowCN(), "httpauth.AllowCN: no values given"},
		{"AllowCN from an unset variable", httpauth.AllowCN(strings.Split("", ",")...), `httpauth.AllowCN: entry 0 "" is empty`},
		{"AllowOU with a blank entry", httpauth.AllowOU("edge", " "), `httpauth.AllowOU: entry 1 " " is empty`},
		{"AllowOrganization with no names", httpauth.AllowOrganization(), "httpauth.AllowOrganization: no values given"},
		{"AllowFingerprints with no values", httpauth.AllowFingerprints(), "httpauth.AllowFingerprints: no fingerprints given"},
		{"AllowFingerprints too short", httpauth.AllowFingerprints("10:BF:AA"), `httpauth.AllowFingerprints: entry 0 "10:BF:AA" is not a SHA-256 fingerprint`},
		{"AllowFingerprints with SHA-1 line", httpauth.AllowFingerprints(sha1Line), `httpauth.AllowFingerprints: entry 0 "` + sha1Line + `" is a SHA1 fingerprint, and only SHA-256 ones are compared`},
		{"AllowFingerprints with bare SHA-1", httpauth.AllowFingerprints(strings.Repeat("ab", 20)), `httpauth.AllowFingerprints: entry 0 "` + strings.Repeat("ab", 20) + `" has 40 hex digits, a SHA-1 fingerprint`},
		{"AllowSerial non-hex", httpauth.AllowSerial("01", "12:xy"), `httpauth.AllowSerial: entry 1 "12:xy" is not a hexadecimal serial`},
		{"AllowIssuerSerial nil issuer", httpauth.AllowIssuerSerial(nil, "01"), "httpauth.AllowIssuerSerial: issuer is nil"},
		{"AllowIssuerSerial unparsed issuer", httpauth.AllowIssuerSerial(&x509.Certificate{}, "01"), "httpauth.AllowIssuerSerial: issuer has no raw subject"},
		{"AllowIssuerSerial no serials", httpauth.AllowIssuerSerial(pki.Intermediate.Cert), "httpauth.AllowIssuerSerial: no serials given"},
		{"AllowIssuer empty name", httpauth.AllowIssuer(pkix.Name{}), "httpauth.AllowIssuer: empty name would match everything"},
		{"AllowSubject two CNs", httpauth.AllowSubject(pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidCN, Value: "a"}, {Type: oidCN, Value: "b"}}}), "httpauth.AllowSubject: name asks for 2 CN attributes"},
		{"AllowSAN prefix only", httpauth.AllowSAN("DNS:"), `httpauth.AllowSAN: entry "DNS:" names no value`},
		{"AllowEmail with no addresses", httpauth.AllowEmail(), "httpauth.AllowEmail: no values given"},
		{"AllowSPIFFEID wrong scheme", httpauth.AllowSPIFFEID("https://example.org"), `httpauth.AllowSPIFFEID: entry 0 "https://example.org": scheme is not spiffe`},
		{"AllOf empty", httpauth.AllOf(), "httpauth.AllOf: no authorizers given"},
		{"AnyOf with a nil authorizer", httpauth.AnyOf(httpauth.AllowCN("alice"), nil), "httpauth.AnyOf: authorizer 1 is nil"},
		{"AllOf around a bad helper", httpauth.AllOf(httpauth.AllowOU("edge"), httpauth.AllowCN()), "httpauth.AllOf: authorizer 1: httpauth.AllowCN: no values given"},
		{"AnyOf around a bad helper beside a good one", httpauth.AnyOf(httpauth.AllowCN("alice"), httpauth.AllowFingerprints("abcd")), `httpauth.AnyOf: authorizer 1: httpauth.AllowFingerprints: entry 0 "abcd"`},
		{"nested combinators", httpauth.AnyOf(httpauth.AllowCN("alice"), httpauth.AllOf(httpauth.AllowOU("edge"), httpauth.AllowSerial())), "httpauth.AnyOf: authorizer 1: httpauth.AllOf: authorizer 1: httpauth.AllowSerial: no serials given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := httpauth.New(httpauth.Config{Roots: pki.Root.Pool(), Authorize: tt.authz})
			assert.Nil(t, a, "no Authenticator that would answer 500 to everyone")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "httpauth: invalid config: Config.Authorize: "+tt.want)
		})
	}

	// Controls: well-formed helpers pass, and New recognises bad helpers
	// without calling anyone's Authorizer.
	var calls atomic.Int32
	own := func(context.Context, *httpauth.Identity) error { calls.Add(1); return nil }
	for name, az := range map[string]httpauth.Authorizer{
		"own authorizer":      own,
		"own inside AnyOf":    httpauth.AnyOf(own, httpauth.AllowCN("alice")),
		"every helper":        httpauth.AnyOf(httpauth.AllowCN("alice"), httpauth.AllowFingerprints(httpauth.Fingerprint(pki.Alice.Cert)), httpauth.AllowSerial("01"), httpauth.AllowIssuerSerial(pki.Intermediate.Cert, "01"), httpauth.AllowIssuer(pkix.Name{CommonName: "x"}), httpauth.AllowSubject(pkix.Name{CommonName: "x"}), httpauth.AllowOU("a"), httpauth.AllowOrganization("a"), httpauth.AllowSAN("DNS:a"), httpauth.AllowEmail("a@b"), httpauth.AllowSPIFFEID("spiffe://example.org")),
		"nested combinators":  httpauth.AllOf(httpauth.AnyOf(own), httpauth.AllowCN("alice")),
		"nil means allow all": nil,
	} {
		_, err := httpauth.New(httpauth.Config{Roots: pki.Root.Pool(), Authorize: az})
		assert.NoError(t, err, name)
	}
	assert.Zero(t, calls.Load(), "New never calls an Authorizer of the user's")
}

func TestAllowFingerprintsTakesOpenSSLOutput(t *testing.T) {
	pki := testpki.MustSet(t)
	colons := opensslHex(httpauth.Fingerprint(pki.Alice.Cert))
	tests := []struct {
		name, entry string
	}{
		{"OpenSSL 3 line", "sha256 Fingerprint=" + colons},
		{"OpenSSL 1.1 line", "SHA256 Fingerprint=" + colons},
		{"line pasted with its newline", "sha256 Fingerprint=" + colons + "\n"},
		{"SHA256: prefix", "SHA256:" + colons},
		{"colons alone", colons},
		{"bare lowercase hex", httpauth.Fingerprint(pki.Alice.Cert)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			az := httpauth.AllowFingerprints(tt.entry)
			_, err := httpauth.New(httpauth.Config{Roots: pki.Root.Pool(), Authorize: az})
			require.NoError(t, err)
			assert.NoError(t, az(t.Context(), identityOf(pki.Alice)))
			assert.Error(t, az(t.Context(), identityOf(pki.Bob)), "only the listed certificate")
		})
	}

	refused := []struct {
		name, entry, want string
	}{
		{"OpenSSL SHA-1 line", "SHA1 Fingerprint=" + opensslHex(strings.Repeat("0a", 20)), "is a SHA1 fingerprint, and only SHA-256 ones are compared: print it with openssl x509 -noout -fingerprint -sha256"},
		{"OpenSSL 3 SHA-1 line", "sha1 Fingerprint=" + opensslHex(strings.Repeat("0a", 20)), "is a sha1 fingerprint"},
		{"MD5 line", "md5 Fingerprint=" + opensslHex(strings.Repeat("0a", 16)), "is a md5 fingerprint"},
		{"other label", "Hash=" + colons, `not openssl's "sha256 Fingerprint="`},
		{"SHA-256 line cut short", "sha256 Fingerprint=" + colons[:50], "is not a SHA-256 fingerprint"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := httpauth.New(httpauth.Config{Roots: pki.Root.Pool(), Authorize: httpauth.AllowFingerprints(tt.entry)})
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

// opensslHex writes hex digits as openssl prints a fingerprint:
// upper case, a colon between bytes.
func opensslHex(hexDigits string) string {
	var pairs []string
	for i := 0; i+1 < len(hexDigits); i += 2 {
		pairs = append(pairs, strings.ToUpper(hexDigits[i:i+2]))
	}
	return strings.Join(pairs, ":")
}
