package httpauth

import (
	"fmt"
	"sort"
	"strings"
)

// Preset names for [Source.Preset]. Each names a proxy's customary header
// and encoding; the README's preset table lists them with the proxy
// configuration that sets and sanitises the header. Where a proxy lets the
// operator choose the header name (nginx, HAProxy, Caddy, Apache, Google
// Cloud), the preset uses the common name and Source.Header overrides it.
const (
	PresetAWSALB     = "aws-alb"    // X-Amzn-Mtls-Clientcert, URLPEMAWS, chain in the same header
	PresetEnvoy      = "envoy"      // X-Forwarded-Client-Cert, XFCC (also Istio gateways)
	PresetCloudflare = "cloudflare" // Cf-Client-Cert-Der-Base64, Base64DER
	PresetTraefik    = "traefik"    // X-Forwarded-Tls-Client-Cert, Base64DERList
	PresetNginx      = "nginx"      // X-SSL-Client-Cert ($ssl_client_escaped_cert), URLPEM, X-SSL-Client-Verify: SUCCESS
	PresetHAProxy    = "haproxy"    // X-SSL-Client-Cert (ssl_c_der,base64), X-SSL-Client-Chain, X-SSL-Client-Verify: 0
	PresetCaddy      = "caddy"      // X-Client-Cert (certificate_der_base64), Base64DER
	PresetApache     = "apache"     // X-SSL-Client-Cert (%{SSL_CLIENT_CERT}s), PEM, X-SSL-Client-Chain, X-SSL-Client-Verify: SUCCESS
	PresetRFC9440    = "rfc9440"    // Client-Cert and Client-Cert-Chain, RFC9440
	PresetGCP        = "gcp"        // same as rfc9440: Google Cloud's {client_cert_leaf} and {client_cert_chain}
)

type preset struct {
	Header, ChainHeader       string
	Encoding, ChainEncoding   Encoding
	VerifyHeader, VerifyValue string
}

var presets = map[string]preset{
	PresetAWSALB:     {Header: "X-Amzn-Mtls-Clientcert", Encoding: URLPEMAWS},
	PresetEnvoy:      {Header: "X-Forwarded-Client-Cert", Encoding: XFCC},
	PresetCloudflare: {Header: "Cf-Client-Cert-Der-Base64", Encoding: Base64DER},
	PresetTraefik:    {Header: "X-Forwarded-Tls-Client-Cert", Encoding: Base64DERList},
	PresetNginx:      {Header: "X-SSL-Client-Cert", Encoding: URLPEM, VerifyHeader: "X-SSL-Client-Verify", VerifyValue: "SUCCESS"},
	PresetHAProxy:    {Header: "X-SSL-Client-Cert", Encoding: Base64DER, ChainHeader: "X-SSL-Client-Chain", VerifyHeader: "X-SSL-Client-Verify", VerifyValue: "0"},
	PresetCaddy:      {Header: "X-Client-Cert", Encoding: Base64DER},
	PresetApache:     {Header: "X-SSL-Client-Cert", Encoding: PEM, ChainHeader: "X-SSL-Client-Chain", VerifyHeader: "X-SSL-Client-Verify", VerifyValue: "SUCCESS"},
	PresetRFC9440:    {Header: "Client-Cert", Encoding: RFC9440, ChainHeader: "Client-Cert-Chain"},
	PresetGCP:        {Header: "Client-Cert", Encoding: RFC9440, ChainHeader: "Client-Cert-Chain"},
}

// Presets returns the known preset names, sorted.
func Presets() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func presetNames() string { return strings.Join(Presets(), ", ") }

// unknownPreset is New's error for a preset name that is not one of
// Presets, suggesting the likely one: the same name in another case, or a
// name at most two edits away ("ngnix", "aws_alb").
func unknownPreset(name string) error {
	best, bestDist := "", 3
	for _, p := range Presets() {
		if strings.EqualFold(p, name) {
			best = p
			break
		}
		if d := editDistance(strings.ToLower(name), p); d < bestDist {
			best, bestDist = p, d
		}
	}
	if best != "" {
		return fmt.Errorf("Source.Preset %q is unknown: did you mean %q? Preset names are lowercase: %s", name, best, presetNames())
	}
	return fmt.Errorf("Source.Preset %q is unknown: use one of %s", name, presetNames())
}

// editDistance is the Levenshtein distance between two short ASCII names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
