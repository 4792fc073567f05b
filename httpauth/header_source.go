package httpauth

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
)

// fromHeader authenticates by the certificate a trusted proxy forwarded.
// The caller has checked that the peer is a trusted proxy.
func (a *Authenticator) fromHeader(r *http.Request) (*Identity, error) {
	s := &a.src
	// Caps come first so that a hostile size costs nothing (PEM-04).
	if n := headerSize(r.Header, s.Header); n > MaxHeaderBytes {
		return nil, unauthorized(fmt.Errorf("%w: header %s has %d bytes, at most %d allowed", ErrHeaderMalformed, s.Header, n, MaxHeaderBytes))
	}
	if n := headerSize(r.Header, s.ChainHeader); n > MaxHeaderBytes {
		return nil, unauthorized(fmt.Errorf("%w: header %s has %d bytes, at most %d allowed", ErrHeaderMalformed, s.ChainHeader, n, MaxHeaderBytes))
	}
	value, ok, err := a.certValue(r.Header)
	if err != nil {
		return nil, unauthorized(err)
	}
	if !ok {
		// Also for a proxy that reached us over mTLS: its own certificate
		// is never the client's identity (SRC-03).
		return nil, unauthorized(fmt.Errorf("%w: trusted proxy sent no %s header", ErrHeaderMissing, s.Header))
	}
	if absent(value) {
		return nil, unauthorized(fmt.Errorf("%w: header %s is empty", ErrNoCertificate, s.Header))
	}
	// "Nothing offered" is decided above, before the proxy's status, which
	// says NONE in that case; from here on a certificate was offered.
	if s.VerifyHeader != "" {
		if err := checkVerifyHeader(r.Header, s.VerifyHeader, s.VerifyValue); err != nil {
			return nil, unauthorized(err)
		}
	}
	chainValue := ""
	if s.ChainHeader != "" {
		if s.ChainEncoding == RFC9440 {
			chainValue, _ = listValue(r.Header, s.ChainHeader)
		} else if chainValue, _, err = singleValue(r.Header, s.ChainHeader, ErrHeaderMalformed); err != nil {
			return nil, unauthorized(err)
		}
	}

	roots := a.currentRoots()
	key := cacheKey{value: value, chain: chainValue}
	if id, ok := a.cache.get(key, roots); ok {
		if err := a.checkChain(id.chain); err == nil {
			return a.newIdentity(id.leaf, id.fingerprint, id.chain, s.Header, id.verified), nil
		}
		// Expired since it was cached: fall through for the precise reason.
	}
	if e, ok := a.cache.failed(key, roots); ok {
		return nil, e
	}
	id, err := a.verifyHeader(key, roots)
	if err != nil {
		e := unauthorized(err)
		a.cache.fail(key, roots, e)
		return nil, e
	}
	return id, nil
}

// verifyHeader decodes and verifies header values that no cache knew.
func (a *Authenticator) verifyHeader(key cacheKey, roots *x509.CertPool) (*Identity, error) {
	leaf, intermediates, err := a.decode(key.value, key.chain)
	if err != nil {
		return nil, err
	}
	if a.insecure {
		chain := append([]*x509.Certificate{leaf}, intermediates...)
		return a.remember(key, roots, leaf, chain, a.src.Header, false), nil
	}
	chain, err := a.verifyLeaf(leaf, intermediates, roots)
	if err != nil {
		return nil, err
	}
	return a.remember(key, roots, leaf, chain, a.src.Header, true), nil
}

// remember caches a verified certificate and returns its identity.
func (a *Authenticator) remember(key cacheKey, roots *x509.CertPool, leaf *x509.Certificate, chain []*x509.Certificate, header string, verified bool) *Identity {
	id := a.newIdentity(leaf, "", chain, header, verified)
	a.cache.add(key, roots, cacheEntry{leaf: leaf, fingerprint: id.Fingerprint, chain: chain, verified: verified})
	return id
}

// certValue returns the certificate header's value. XFCC is a list (one
// element per hop) whose lines are joined; every other certificate header
// is single-valued and refused when repeated (MUL-01).
func (a *Authenticator) certValue(h http.Header) (string, bool, error) {
	if a.src.Encoding == XFCC {
		v, ok := listValue(h, a.src.Header)
		return v, ok, nil
	}
	return singleValue(h, a.src.Header, ErrHeaderMalformed)
}

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
			return nil, nil, fmt.Errorf("%w: forwarded certificate %d is not one valid DER certificate%s", ErrHeaderMalformed, i, trailingHint(err))
		}
		certs = append(certs, cs...)
		if len(certs) > a.maxChain {
			return nil, nil, fmt.Errorf("%w: more than %d certificates forwarded (Config.MaxChainLength)", ErrChainTooLong, a.maxChain)
		}
	}
	return certs[0], certs[1:], nil
}

// trailingHint names the case a proxy configuration most likely caused: a
// whole chain in a header meant for the leaf alone.
func trailingHint(err error) string {
	if err != nil && strings.Contains(err.Error(), "trailing data") {
		return " (bytes follow the certificate: a header for the leaf alone must hold exactly one)"
	}
	return ""
}

// checkVerifyHeader compares the proxy's verification status exactly, after
// trimming HTTP whitespace (VER-01..03). Its value is client-derived in
// part ("FAILED:<reason>"), so it is quoted and cut short in the reason.
func checkVerifyHeader(h http.Header, name, want string) error {
	got, ok, err := singleValue(h, name, ErrVerifyHeader)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s header missing", ErrVerifyHeader, name)
	}
	if strings.Trim(got, " \t") != want {
		return fmt.Errorf("%w: %s is %q, want %q", ErrVerifyHeader, name, truncate(got), want)
	}
	return nil
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
