package httpauth

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Encoding names how a header carries certificates. The names are stable
// strings so they can come from configuration files.
type Encoding string

// Encodings. Every decoder refuses what it does not understand rather than
// skipping it and never turns '+' into a space (a form decoder would
// corrupt base64); headers over [MaxHeaderBytes] are refused before any
// decoder runs.
const (
	// URLPEM is percent-escaped PEM, one or more CERTIFICATE blocks, leaf
	// first: nginx's $ssl_client_escaped_cert, Envoy's Cert, Apache's
	// escape() (lowercase hex). Literal '+', '/', '=' are accepted.
	URLPEM Encoding = "url-pem"
	// URLPEMAWS is AWS ALB's X-Amzn-Mtls-Clientcert: percent-escaped PEM
	// with '+', '=', '/' left literal, the client's whole chain leaf first.
	// It decodes exactly like URLPEM; the name documents the intent.
	URLPEMAWS Encoding = "url-pem-aws"
	// XFCC is Envoy's X-Forwarded-Client-Cert: elements of key=value pairs
	// whose Cert or Chain holds URL-escaped PEM. A Hash beside them must be
	// the hex SHA-256 of the leaf's DER, as Envoy writes it, or the header
	// is malformed. See [Source.XFCCTrustedHops].
	XFCC Encoding = "xfcc"
	// Base64DER is standard, padded base64 of DER with no armor or line
	// breaks: Cloudflare, HAProxy's ssl_c_der,base64 (and ssl_c_chain_der,
	// several certificates concatenated), Caddy's certificate_der_base64.
	Base64DER Encoding = "base64-der"
	// Base64DERList is Traefik's X-Forwarded-Tls-Client-Cert: base64 DER
	// entries joined by ',', leaf first; entries percent-escaped by Traefik
	// before v2.9.2 are unescaped first.
	Base64DERList Encoding = "base64-der-list"
	// RFC9440 is an RFC 8941 byte sequence (:base64:) for the leaf, and a
	// list of them for the chain header (RFC 9440, Google Cloud, Cloudflare).
	RFC9440 Encoding = "rfc9440"
	// PEM is armored PEM whose line breaks became spaces or tabs: Apache's
	// %{SSL_CLIENT_CERT}s, nginx's deprecated $ssl_client_cert after
	// unfolding. Apache's "(null)" means no certificate.
	PEM Encoding = "pem"
)

var encodings = map[Encoding]bool{URLPEM: true, URLPEMAWS: true, XFCC: true, Base64DER: true, Base64DERList: true, RFC9440: true, PEM: true}

func (e Encoding) known() bool { return encodings[e] }

func encodingNames() string {
	names := make([]string, 0, len(encodings))
	for e := range encodings {
		names = append(names, string(e))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// strictBase64 refuses URL-safe characters, embedded whitespace and bad
// padding (B-01): a lenient decoder would accept values no proxy produces.
var strictBase64 = base64.StdEncoding.Strict()

func decodeURLPEM(value string) ([][]byte, error) {
	// PathUnescape keeps '+' literal (ENC-03) and rejects %zz, %4 and a
	// trailing % (ENC-01).
	pemText, err := url.PathUnescape(strings.TrimSpace(value))
	if err != nil {
		return nil, fmt.Errorf("%w: bad percent-encoding", ErrHeaderMalformed)
	}
	return decodePEMBlocks(pemText)
}

func decodeBase64DER(value string) ([][]byte, error) {
	v := strings.TrimSpace(value)
	// HAProxy's %{+Q} log-format flag wraps the value in one pair of quotes.
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = strings.TrimSpace(v[1 : len(v)-1])
	}
	if v == "" {
		// `""`: HAProxy's quoted form of an empty value (found by FuzzBase64DER).
		return nil, fmt.Errorf("%w: header is empty", ErrNoCertificate)
	}
	der, err := strictBase64.DecodeString(v)
	if err != nil || len(der) == 0 {
		// encoding/base64 skips CR and LF, so a value of line breaks
		// alone decodes to nothing (found by FuzzBase64DER).
		return nil, fmt.Errorf("%w: bad base64", ErrHeaderMalformed)
	}
	return [][]byte{der}, nil
}

func decodeBase64DERList(value string) ([][]byte, error) {
	var out [][]byte
	for entry := range strings.SplitSeq(value, ",") {
		entry = strings.TrimSpace(entry)
		if strings.Contains(entry, "%") {
			// Traefik v1.7 to v2.9.1 query-escaped each entry. Base64 has no
			// spaces, so form and path unescaping agree here.
			u, err := url.PathUnescape(entry)
			if err != nil {
				return nil, fmt.Errorf("%w: bad percent-encoding", ErrHeaderMalformed)
			}
			entry = u
		}
		der, err := strictBase64.DecodeString(entry)
		if err != nil || len(der) == 0 {
			return nil, fmt.Errorf("%w: bad base64 in list entry %d", ErrHeaderMalformed, len(out))
		}
		out = append(out, der)
	}
	return out, nil
}
