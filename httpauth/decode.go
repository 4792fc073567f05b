package httpauth

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"
)

// decode turns header values into parsed certificates: the leaf, then the
// untrusted intermediates from the same header and the chain header.
func (a *Authenticator) decode(value, chainValue string) (*x509.Certificate, []*x509.Certificate, error) {
	s := &a.src
	ders, err := s.Encoding.decodeLeaf(value, s.XFCCTrustedHops)
	if err != nil {
		return nil, nil, inHeader(err, s.Header, s.Encoding)
	}
	nLeaf := len(ders) // blobs from the certificate header
	if s.ChainHeader != "" && chainValue != "" {
		more, err := s.ChainEncoding.decodeChain(chainValue)
		if err != nil {
			return nil, nil, inHeader(err, s.ChainHeader, s.ChainEncoding)
		}
		ders = append(ders, more...)
	}
	if len(ders) > a.maxChain {
		return nil, nil, fmt.Errorf("%w: %d certificates forwarded, at most %d allowed (Config.MaxChainLength)", ErrChainTooLong, len(ders), a.maxChain)
	}
	certs := make([]*x509.Certificate, 0, len(ders))
	for i, der := range ders {
		// A blob is one certificate, trailing bytes refused, so nothing
		// hides behind a leaf; only a Base64DER chain header may
		// concatenate several (HAProxy's ssl_c_chain_der).
		var cs []*x509.Certificate
		if i >= nLeaf && s.ChainEncoding == Base64DER {
			cs, err = x509.ParseCertificates(der)
		} else {
			var c *x509.Certificate
			c, err = x509.ParseCertificate(der)
			cs = []*x509.Certificate{c}
		}
		if err != nil || len(cs) == 0 {
			return nil, nil, fmt.Errorf("%w: forwarded certificate %d is not one valid DER certificate%s", ErrHeaderMalformed, i, trailingHint(der))
		}
		certs = append(certs, cs...)
		if len(certs) > a.maxChain {
			return nil, nil, fmt.Errorf("%w: more than %d certificates forwarded (Config.MaxChainLength)", ErrChainTooLong, a.maxChain)
		}
	}
	return certs[0], certs[1:], nil
}

// trailingHint names the case a proxy configuration most likely caused: a
// whole chain in a header meant for the leaf alone. It runs only on a
// refusal, so parsing once more costs nothing that matters.
func trailingHint(der []byte) string {
	var first asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &first); err != nil || len(rest) == 0 {
		return ""
	}
	if cs, err := x509.ParseCertificates(der); err == nil {
		return fmt.Sprintf(" (it holds %d certificates: a header for the leaf alone must hold exactly one)", len(cs))
	}
	return " (bytes follow the certificate: a header for the leaf alone must hold exactly one)"
}

// decodeLeaf decodes the value of the certificate header into DER blobs,
// leaf first. hops only matters for XFCC.
func (e Encoding) decodeLeaf(value string, hops int) ([][]byte, error) {
	if absent(value) {
		return nil, fmt.Errorf("%w: header is empty", ErrNoCertificate)
	}
	switch e {
	case URLPEM, URLPEMAWS:
		return decodeURLPEM(value)
	case XFCC:
		return decodeXFCC(value, hops)
	case Base64DER:
		return decodeBase64DER(value)
	case Base64DERList:
		return decodeBase64DERList(value)
	case RFC9440:
		return decodeRFC9440Item(value)
	case PEM:
		return decodePEMBlocks(value)
	}
	return nil, fmt.Errorf("%w: unknown encoding %q", ErrHeaderMalformed, e)
}

// decodeChain decodes the value of the chain header into DER blobs.
func (e Encoding) decodeChain(value string) ([][]byte, error) {
	if absent(value) {
		return nil, nil
	}
	switch e {
	case RFC9440:
		return decodeRFC9440List(value)
	case XFCC:
		return nil, fmt.Errorf("%w: XFCC cannot be a chain header encoding", ErrHeaderMalformed)
	}
	return e.decodeLeaf(value, 1)
}

// absent reports the "no certificate" sentinels proxies send in place of a
// missing header: empty, Apache mod_headers' "(null)", and a placeholder
// Caddy leaves unexpanded on a request without TLS.
func absent(v string) bool {
	v = strings.TrimSpace(v)
	return v == "" || v == "(null)" || (strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}"))
}

// headerContext appends which header and encoding a decoding error is
// about, after the reason, so messages keep starting with "httpauth:".
type headerContext struct {
	err    error
	header string
	enc    Encoding
}

func (e *headerContext) Error() string {
	return fmt.Sprintf("%v (header %s, Source.Encoding %q)", e.err, e.header, e.enc)
}

func (e *headerContext) Unwrap() error { return e.err }

func inHeader(err error, header string, enc Encoding) error {
	return &headerContext{err: err, header: header, enc: enc}
}
