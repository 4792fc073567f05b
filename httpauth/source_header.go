package httpauth

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
)

// MaxHeaderBytes caps the certificate header and the chain header, each
// summed over all its lines, checked before any decoding. A real
// certificate header is a few KiB; this leaves room for long chains while
// bounding work per request.
const MaxHeaderBytes = 64 << 10

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

// headerSize sums the bytes of all lines of a header, so the cap can be
// checked before joining or decoding anything.
func headerSize(h http.Header, name string) int {
	n := 0
	for _, v := range h[name] {
		n += len(v)
	}
	return n
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

// singleValue returns the one value of a single-valued header. Several
// lines are refused rather than picking the first or the last, because a
// proxy that appends instead of replacing leaves the client's copy beside
// its own (MUL-01).
func singleValue(h http.Header, name string, reason error) (string, bool, error) {
	vs := h[name]
	switch len(vs) {
	case 0:
		return "", false, nil
	case 1:
		return vs[0], true, nil
	default:
		return "", true, fmt.Errorf("%w: header %s sent %d times", reason, name, len(vs))
	}
}

// listValue joins the lines of a list-valued header (XFCC, RFC 8941 lists)
// with commas, as RFC 9110 section 5.3 allows.
func listValue(h http.Header, name string) (string, bool) {
	vs := h[name]
	return strings.Join(vs, ","), len(vs) > 0
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
