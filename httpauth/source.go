package httpauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Source says where the client certificate comes from. The zero value is
// the request's own TLS connection. Setting Header (directly or through
// Preset) reads it from a header that a TLS-terminating proxy sets.
type Source struct {
	// Preset fills Header, Encoding, ChainHeader, VerifyHeader and
	// VerifyValue for a known proxy (see [Presets]); fields set here win
	// over the preset's. Empty: no preset. Names are exact and lowercase,
	// as the constants and [Presets] spell them; any other name fails
	// [New], which suggests the preset meant ("Nginx", "ngnix": did you
	// mean "nginx"?). One spelling per preset keeps configuration files
	// greppable and comparable with the documentation.
	Preset string

	// Header is the request header holding the client certificate. Empty:
	// the TLS connection (unless Preset is set).
	Header string

	// Encoding is how Header's value is encoded. Required with Header.
	Encoding Encoding

	// ChainHeader optionally holds intermediates the proxy forwards. Empty:
	// none (intermediates may still travel in Header, e.g. several PEM
	// blocks or an XFCC Chain).
	ChainHeader string

	// ChainEncoding is how ChainHeader is encoded. Empty: Encoding.
	ChainEncoding Encoding

	// VerifyHeader is the proxy's verification-status header, such as
	// nginx's $ssl_client_verify. Empty: not checked. When set, a request
	// is refused unless it holds exactly VerifyValue. It never replaces
	// our own verification.
	VerifyHeader string

	// VerifyValue is the value VerifyHeader must have, compared exactly
	// after trimming HTTP whitespace. Required with VerifyHeader.
	VerifyValue string

	// TrustedProxies are the immediate peers (r.RemoteAddr) whose headers
	// are believed. Required with a header source; forwarding headers such
	// as X-Forwarded-For are never consulted. A RemoteAddr that is not
	// ip:port, as net/http sets it, is refused outright (see
	// [ErrRemoteAddrMalformed]).
	TrustedProxies []netip.Prefix

	// XFCCTrustedHops selects the X-Forwarded-Client-Cert element to use,
	// counted from the right: 1 is the element added by the proxy nearest
	// this server. Zero: 1. A header with fewer elements is refused.
	XFCCTrustedHops int

	// FallbackToTLS authenticates peers that are not trusted proxies by
	// their own TLS client certificate (their headers are ignored). False:
	// such peers are refused. A trusted proxy without the header, and a
	// peer whose RemoteAddr is not ip:port, are always refused, so the
	// proxy's own certificate never becomes an identity.
	FallbackToTLS bool
}

func (s *Source) isHeader() bool { return s.Header != "" || s.Preset != "" }

// resolved returns s with the preset applied. It assumes validate passed.
func (s Source) resolved() Source {
	if p, ok := presets[s.Preset]; ok {
		if s.Header == "" {
			s.Header = p.Header
		}
		if s.Encoding == "" {
			s.Encoding = p.Encoding
		}
		if s.ChainHeader == "" {
			s.ChainHeader = p.ChainHeader
		}
		if s.ChainEncoding == "" {
			s.ChainEncoding = p.ChainEncoding
		}
		if s.VerifyHeader == "" && s.VerifyValue == "" {
			s.VerifyHeader, s.VerifyValue = p.VerifyHeader, p.VerifyValue
		}
	}
	if s.ChainEncoding == "" {
		s.ChainEncoding = s.Encoding
	}
	if s.XFCCTrustedHops == 0 {
		s.XFCCTrustedHops = 1
	}
	s.Header = http.CanonicalHeaderKey(s.Header)
	s.ChainHeader = http.CanonicalHeaderKey(s.ChainHeader)
	s.VerifyHeader = http.CanonicalHeaderKey(s.VerifyHeader)
	s.VerifyValue = strings.Trim(s.VerifyValue, " \t")
	s.TrustedProxies = append([]netip.Prefix(nil), s.TrustedProxies...)
	for i, p := range s.TrustedProxies {
		// Peers are compared unmapped, so ::ffff:10.0.0.0/104 must become
		// 10.0.0.0/8 to match them.
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		s.TrustedProxies[i] = p.Masked()
	}
	return s
}

func (s *Source) validate() []error {
	var errs []error
	if _, ok := presets[s.Preset]; s.Preset != "" && !ok {
		// Alone: the checks below would only report what the preset
		// failed to fill in, such as an empty Encoding.
		return []error{unknownPreset(s.Preset)}
	}
	if !s.isHeader() {
		if s.Encoding != "" || s.ChainHeader != "" || s.VerifyHeader != "" || s.VerifyValue != "" || len(s.TrustedProxies) > 0 || s.FallbackToTLS {
			errs = append(errs, errors.New("Source has header settings but no Source.Header or Source.Preset: name the header the proxy sets"))
		}
		return errs
	}
	r := s.resolved()
	if r.Encoding == "" {
		errs = append(errs, fmt.Errorf("Source.Encoding is empty for header %q: use one of %s", r.Header, encodingNames()))
	} else if !r.Encoding.known() {
		errs = append(errs, fmt.Errorf("Source.Encoding %q is unknown: use one of %s", r.Encoding, encodingNames()))
	}
	if r.ChainHeader != "" && !r.ChainEncoding.known() {
		errs = append(errs, fmt.Errorf("Source.ChainEncoding %q is unknown: use one of %s", r.ChainEncoding, encodingNames()))
	}
	if r.ChainHeader != "" && r.ChainEncoding == XFCC {
		errs = append(errs, fmt.Errorf("Source.ChainEncoding is %q for chain header %q: XFCC carries its chain in the Chain key of the same header; leave ChainHeader empty or set ChainEncoding", XFCC, r.ChainHeader))
	}
	for field, name := range map[string]string{"Header": r.Header, "ChainHeader": r.ChainHeader, "VerifyHeader": r.VerifyHeader} {
		if name != "" && !validHeaderName(name) {
			errs = append(errs, fmt.Errorf("Source.%s %q is not a valid header name: write the bare name, without ':' or spaces", field, name))
		}
	}
	if r.ChainHeader != "" && r.ChainHeader == r.Header {
		errs = append(errs, errors.New("Source.ChainHeader equals Source.Header: leave ChainHeader empty when the chain travels in the same header"))
	}
	if (r.VerifyHeader == "") != (r.VerifyValue == "") {
		errs = append(errs, errors.New("Source.VerifyHeader and Source.VerifyValue must be set together (e.g. X-SSL-Client-Verify and SUCCESS)"))
	}
	if len(r.TrustedProxies) == 0 {
		errs = append(errs, errors.New("header source without Source.TrustedProxies: list the proxy addresses (e.g. netip.MustParsePrefix(\"10.0.0.5/32\")); headers from any other peer are refused"))
	}
	for _, p := range s.TrustedProxies {
		switch {
		case !p.IsValid():
			errs = append(errs, fmt.Errorf("Source.TrustedProxies holds an invalid prefix %v", p))
		case p.Bits() == 0 || (p.Addr().Is4In6() && p.Bits() <= 96):
			errs = append(errs, fmt.Errorf("Source.TrustedProxies holds %v, which trusts every peer: list the proxies' addresses", p))
		}
	}
	if s.XFCCTrustedHops < 0 || s.XFCCTrustedHops > MaxXFCCElements {
		errs = append(errs, fmt.Errorf("Source.XFCCTrustedHops is %d: use 1..%d, or zero for 1", s.XFCCTrustedHops, MaxXFCCElements))
	}
	return errs
}

// validHeaderName reports whether name is an RFC 9110 token, as field
// names must be.
func validHeaderName(name string) bool {
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return name != ""
}

// identify runs Source, Decode and Verify: the steps that end in 401.
func (a *Authenticator) identify(r *http.Request) (*Identity, error) {
	if !a.src.isHeader() {
		return a.fromTLS(r)
	}
	trusted, err := a.src.trusted(r)
	if err != nil {
		// Not even FallbackToTLS: behind the rewrite the real peer may be
		// the proxy, whose own certificate must not become the identity
		// (SRC-03).
		return nil, unauthorized(err)
	}
	if !trusted {
		if a.src.FallbackToTLS {
			// A direct client is judged by its own connection; what it wrote
			// in proxy headers is ignored (SRC-02).
			return a.fromTLS(r)
		}
		// Decoding nothing: a header from an untrusted peer proves nothing
		// and must not cost anything (SRC-01).
		return nil, unauthorized(fmt.Errorf("%w: peer %q is not in Source.TrustedProxies (list the proxy's address there; forwarding headers are never consulted)", ErrUntrustedProxy, truncate(r.RemoteAddr)))
	}
	return a.fromHeader(r)
}

// trusted reports whether the request's immediate peer is a trusted proxy.
// Only r.RemoteAddr counts: anything a client can write (X-Forwarded-For,
// Forwarded, X-Real-IP) is ignored. A RemoteAddr that is not ip:port, as
// net/http always sets it, was most likely rewritten from such a header
// by a middleware (chi's RealIP, say); it is an error rather than an
// address to judge: the peer cannot be known, and it may well be the proxy
// itself.
func (s *Source) trusted(r *http.Request) (bool, error) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false, fmt.Errorf("%w: r.RemoteAddr %q is not host:port: a middleware such as chi's RealIP or gorilla/handlers.ProxyHeaders probably rewrote it from a client header; run certgate before it", ErrRemoteAddrMalformed, truncate(r.RemoteAddr))
	}
	addr := ap.Addr().Unmap().WithZone("")
	for _, p := range s.TrustedProxies {
		if p.Contains(addr) {
			return true, nil
		}
	}
	return false, nil
}
