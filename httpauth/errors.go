package httpauth

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// reason is a refusal cause. Reasons form a small tree (for instance
// [ErrExpired] is a kind of [ErrNotVerified]) so callers can branch at the
// level they care about with errors.Is.
type reason struct {
	msg    string
	public string // what the client may read; never carries request data
	code   string // stable, for metrics and dashboards: see Error.Code
	parent error
}

func (r *reason) Error() string { return r.msg }
func (r *reason) Unwrap() error { return r.parent }

func newReason(code, msg, public string, parent error) error {
	return &reason{msg: "httpauth: " + msg, public: public, code: code, parent: parent}
}

// Sentinel reasons. Use errors.Is on an error returned by
// [Authenticator.Authenticate]; the returned *[Error] wraps one of these.
var (
	// ErrNoCertificate: nothing was offered (plain HTTP, a TLS connection
	// without a client certificate, or no certificate in the header).
	ErrNoCertificate = newReason("no_certificate", "no client certificate", "client certificate required", nil)

	// ErrNotVerified: a certificate was offered but is not acceptable. The
	// reasons below refine it.
	ErrNotVerified = newReason("not_verified", "client certificate not verified", "client certificate not accepted", nil)
	// ErrUnknownAuthority: the certificate does not chain to a configured root.
	ErrUnknownAuthority = newReason("unknown_authority", "certificate signed by unknown authority", "client certificate signed by unknown authority", ErrNotVerified)
	// ErrExpired: the leaf or a certificate of its chain is past NotAfter.
	ErrExpired = newReason("expired", "certificate expired", "client certificate expired", ErrNotVerified)
	// ErrNotYetValid: the leaf or a certificate of its chain is before NotBefore.
	ErrNotYetValid = newReason("not_yet_valid", "certificate not yet valid", "client certificate not yet valid", ErrNotVerified)
	// ErrClientAuthUsage: the certificate may not be used for client
	// authentication (its extended key usage lacks clientAuth).
	ErrClientAuthUsage = newReason("client_auth_usage", "certificate lacks client-auth usage", "client certificate not valid for client authentication", ErrNotVerified)
	// ErrChainTooLong: more certificates than [Config.MaxChainLength].
	ErrChainTooLong = newReason("chain_too_long", "certificate chain too long", "client certificate chain too long", ErrNotVerified)
	// ErrUnsupportedKey: a presented certificate's public key is of a type,
	// curve, size or exponent that is not accepted (RSA over 8,192 bits or
	// with an exponent over 65,537, a curve Go's verifier lacks). Checked
	// before any signature, so such keys cost nothing to refuse.
	ErrUnsupportedKey = newReason("unsupported_key", "certificate key not accepted", "client certificate not accepted", ErrNotVerified)
	// ErrAmbiguousChain: the presented certificates offer more than one
	// issuer for a certificate of the chain, which only a hostile or broken
	// client sends; see [Config.MaxChainLength] for the other chain limits.
	ErrAmbiguousChain = newReason("ambiguous_chain", "presented chain is ambiguous", "client certificate chain not accepted", ErrNotVerified)
	// ErrLeafIsCA: the client certificate is a CA certificate (basic
	// constraints CA:TRUE or key usage keyCertSign) and is not itself one of
	// the configured roots.
	ErrLeafIsCA = newReason("leaf_is_ca", "client certificate is a CA certificate", "client certificate not valid for client authentication", ErrNotVerified)
	// ErrLeafKeyUsage: the client certificate has a key usage extension
	// that allows neither digitalSignature nor keyAgreement.
	ErrLeafKeyUsage = newReason("leaf_key_usage", "certificate key usage forbids client authentication", "client certificate not valid for client authentication", ErrNotVerified)
	// ErrRevoked: a certificate of the verified chain is revoked, by a
	// [RevocationChecker] of [Config.Revocation].
	ErrRevoked = newReason("revoked", "certificate revoked", "client certificate revoked", ErrNotVerified)
	// ErrRevocationUnknown: a [RevocationChecker] could not tell whether
	// the chain is revoked and is not wrapped in [FailOpen].
	ErrRevocationUnknown = newReason("revocation_unknown", "certificate revocation status unknown", "client certificate not accepted", ErrNotVerified)
	// ErrNoRoots: the certificate needs verification but no roots are
	// configured (see [Config.Roots]).
	ErrNoRoots = newReason("no_roots", "no roots configured to verify the certificate", "client certificate not accepted", ErrNotVerified)

	// ErrUntrustedProxy: a header source is configured but the request's
	// immediate peer is not in [Source.TrustedProxies].
	ErrUntrustedProxy = newReason("untrusted_proxy", "request not from a trusted proxy", "client certificate required", nil)
	// ErrRemoteAddrMalformed: a header source is configured but
	// r.RemoteAddr is not ip:port, as net/http always sets it. A
	// middleware rewrote it, likely from a client's forwarding header, so
	// the request is refused without the TLS fallback. A kind of
	// [ErrUntrustedProxy].
	ErrRemoteAddrMalformed = newReason("remote_addr_malformed", "peer address malformed", "client certificate required", ErrUntrustedProxy)
	// ErrHeaderMissing: the request came from a trusted proxy without the
	// certificate header.
	ErrHeaderMissing = newReason("header_missing", "certificate header missing", "client certificate required", ErrNoCertificate)
	// ErrHeaderMalformed: the certificate header could not be decoded, was
	// sent more than once, or exceeds the size caps.
	ErrHeaderMalformed = newReason("header_malformed", "certificate header malformed", "client certificate not accepted", ErrNotVerified)
	// ErrVerifyHeader: the proxy's verification-status header is missing or
	// does not hold [Source.VerifyValue].
	ErrVerifyHeader = newReason("verify_header", "verification-status header mismatch", "client certificate not accepted", ErrNotVerified)

	// ErrDenied: the certificate is valid but the [Authorizer] refused it.
	ErrDenied = newReason("denied", "access denied", "access denied", nil)
	// ErrAuthorizer: the authorizer panicked, did not answer within
	// [Config.AuthorizeTimeout], returned a nil *[Error] as its error, or
	// chose a 5xx status.
	ErrAuthorizer = newReason("authorizer_failed", "authorizer failed", "authorization unavailable", nil)
)

// Error is the refusal returned by [Authenticator.Authenticate]. It carries
// the HTTP status and wraps the reason, so both errors.As (for the status)
// and errors.Is (for the reason) work.
//
// An [Authorizer] may return an *Error to choose the status and the text the
// client sees. To allow, it returns a plain nil: a nil *Error returned as an error is not nil, and is
// answered as a 500 misconfiguration. The methods are safe on a nil *Error.
type Error struct {
	// Status is the HTTP status asked for: 401 when no acceptable
	// certificate was offered, 403 when the authorizer denied it, or what
	// an authorizer set. Errors from Authenticate always hold one in
	// 400–599; one built elsewhere may hold anything, so answer with
	// [Error.ResponseStatus].
	Status int
	// Reason is the cause; it may contain details meant for logs only.
	Reason error
	// Public is the short text safe to send to the client. Empty means the
	// status text. Set it only to text without secrets.
	Public string
}

// Error returns the reason's text, meant for logs.
func (e *Error) Error() string {
	if e == nil {
		return "httpauth: nil *httpauth.Error"
	}
	if e.Reason == nil {
		return "httpauth: " + http.StatusText(e.ResponseStatus())
	}
	return e.Reason.Error()
}

// Unwrap returns the reason.
func (e *Error) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Reason
}

// PublicText returns the text to show the client: [Error.Public], or the
// public text of a library reason, or the status text. It never contains
// authorizer details that were not explicitly made public, and it is
// sanitized: control characters removed, invalid UTF-8 replaced, at most
// MaxPublicText bytes. It is safe in a response body, never in a header.
func (e *Error) PublicText() string {
	if e == nil {
		return http.StatusText(http.StatusInternalServerError)
	}
	if e.Public != "" {
		return sanitize(e.Public)
	}
	var r *reason
	if errors.As(e.Reason, &r) {
		return r.public
	}
	return http.StatusText(e.ResponseStatus())
}

// Code returns the refusal's stable, machine-readable code, for metric
// labels, dashboards and alerts: the code of its most specific reason
// (for instance "expired", "unknown_authority", "untrusted_proxy",
// "denied"; [ReasonCodes] lists them all), or, for an error without a
// library reason, "internal" when its status is 500 and "other" for any
// other status. Codes never change between versions; new reasons add new
// codes.
func (e *Error) Code() string {
	if e == nil {
		return CodeInternal
	}
	var r *reason
	if errors.As(e.Reason, &r) {
		return r.code
	}
	if e.ResponseStatus() == http.StatusInternalServerError {
		return CodeInternal
	}
	return CodeOther
}

// The codes of errors that wrap no library reason; see [Error.Code].
const (
	CodeInternal = "internal"
	CodeOther    = "other"
)

// ReasonCodes returns every code [Error.Code] can return, each with the
// reason it stands for (nil for [CodeInternal] and [CodeOther]), in a
// fixed order: the README's table of codes, and a golden list in the
// tests, are made from it.
func ReasonCodes() []ReasonCode {
	out := make([]ReasonCode, 0, len(allReasons)+2)
	for _, err := range allReasons {
		out = append(out, ReasonCode{Code: err.(*reason).code, Reason: err})
	}
	return append(out, ReasonCode{Code: CodeInternal}, ReasonCode{Code: CodeOther})
}

// ReasonCode pairs a code with its sentinel reason.
type ReasonCode struct {
	// Code is what [Error.Code] returns for the reason.
	Code string
	// Reason is the sentinel to use with errors.Is; nil for CodeInternal
	// and CodeOther, which stand for no library reason.
	Reason error
}

var allReasons = []error{
	ErrNoCertificate, ErrHeaderMissing, ErrUntrustedProxy, ErrRemoteAddrMalformed,
	ErrNotVerified, ErrUnknownAuthority, ErrExpired, ErrNotYetValid, ErrClientAuthUsage,
	ErrChainTooLong, ErrUnsupportedKey, ErrAmbiguousChain, ErrLeafIsCA, ErrLeafKeyUsage,
	ErrRevoked, ErrRevocationUnknown, ErrNoRoots, ErrHeaderMalformed, ErrVerifyHeader,
	ErrDenied, ErrAuthorizer,
}

// MaxPublicText caps [Error.PublicText].
const MaxPublicText = 200

// sanitize drops control characters (C0, DEL, C1, which would let text
// break out of a line), replaces invalid UTF-8 and truncates on a rune
// boundary.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > MaxPublicText {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ResponseStatus returns the status the refusal is answered with:
// [Error.Status] when it is in 400–599, otherwise 500 (also for a nil
// *Error). The middleware, [Authenticator.WriteError] and certgate's raw
// refusal all answer with it.
func (e *Error) ResponseStatus() int {
	if e == nil || e.Status < 400 || e.Status > 599 {
		return http.StatusInternalServerError
	}
	return e.Status
}

// unauthorized builds the 401 error used for everything that is not an
// authorization decision.
func unauthorized(err error) *Error {
	return &Error{Status: http.StatusUnauthorized, Reason: err}
}

// asError converts any error into an *Error with a sane status. It never
// returns nil, also not for an error that holds a nil *Error.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e
	}
	if holdsNilError(err) {
		return &Error{Status: http.StatusInternalServerError, Reason: errors.New("httpauth: a nil *httpauth.Error was given as an error")}
	}
	return &Error{Status: http.StatusInternalServerError, Reason: err}
}

// holdsNilError reports whether err's tree holds a nil *Error: a non-nil
// error interface around a nil pointer, as `var e *Error; return e`
// produces. errors.As finds such a value like any other, so each use
// would dereference nil.
func holdsNilError(err error) bool {
	if e, ok := err.(*Error); ok && e == nil {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return holdsNilError(u.Unwrap())
	case interface{ Unwrap() []error }:
		return slices.ContainsFunc(u.Unwrap(), holdsNilError)
	}
	return false
}
