package httpauth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Defaults applied by [New] when the matching [Config] field is zero.
const (
	DefaultMaxChainLength   = 5
	DefaultAuthorizeTimeout = 5 * time.Second
	DefaultCacheSize        = 1024
	DefaultFailureCacheTTL  = 30 * time.Second
)

// MaxFailureCacheTTL caps [Config.FailureCacheTTL]: a refusal is remembered
// to make a hostile client's retries cheap, not to outlast a fix.
const MaxFailureCacheTTL = 10 * time.Minute

// Config configures an [Authenticator]. The zero value authenticates by the
// request's own TLS connection, accepts only chains the TLS layer verified,
// and allows every verified certificate.
//
// [New] copies what it needs; the Config may be reused or changed
// afterwards without affecting the Authenticator. The pool Roots points to
// is used as it is, though: do not add to it afterwards (use RootsProvider
// to change roots at run time).
type Config struct {
	// Source says where the certificate comes from. Zero value: the
	// request's TLS connection (r.TLS). Set Source.Header (or
	// Source.Preset) to read it from a TLS-terminating proxy's header.
	Source Source

	// Roots are the CAs client certificates must chain to; when set, the
	// library verifies every certificate against them, also ones the TLS
	// layer verified. Nil: certificates are accepted only when the TLS
	// layer already verified them (r.TLS.VerifiedChains, built from the
	// listener's ClientCAs; crypto/tls uses the system roots when ClientCAs
	// is nil, so set it), and header sources fail [New]. The library itself
	// never falls back to the system roots. A pool holding no certificate
	// fails New: it is nearly always an unchecked AppendCertsFromPEM.
	Roots *x509.CertPool

	// RootsProvider supplies the roots per request instead of Roots, so a CA
	// rotation needs no restart; see [FileRoots]. Nil: use Roots. Setting
	// both is an error.
	RootsProvider RootsProvider

	// Revocation are asked, in order, whether the verified chain is
	// revoked, after verification and before Authorize. Any revoked answer
	// refuses with ErrRevoked; an unknown one refuses with
	// ErrRevocationUnknown unless that checker is wrapped in FailOpen.
	// Nil: no revocation check (rotate the CA, or deny in Authorize).
	Revocation []RevocationChecker

	// Authorize decides whether a verified identity may pass. Nil: every
	// verified certificate is allowed. One a helper built from unusable
	// arguments fails [New] (see [Authorizer]).
	Authorize Authorizer

	// AuthorizeTimeout bounds one Authorize call; its context is the
	// request's plus this deadline. Zero: DefaultAuthorizeTimeout.
	AuthorizeTimeout time.Duration

	// IncludeChain fills Identity.Chain with the verified chain. False:
	// only the leaf is kept.
	IncludeChain bool

	// Intermediates are CA certificates used only to build paths from a
	// client certificate to Roots, never as trust anchors: the issuing
	// intermediate of clients whose proxy forwards only the leaf (nginx,
	// Caddy, Cloudflare). Putting such an intermediate into Roots instead
	// would make it an anchor and drop the root's constraints. Nil: only
	// what the client or proxy presents. Like Roots, do not add to the
	// pool afterwards.
	Intermediates *x509.CertPool

	// MaxChainLength caps the certificates a client or proxy may present
	// (leaf included) and the length of the verified chain; longer chains
	// are refused before any signature is checked. Zero:
	// DefaultMaxChainLength, 5: a leaf, up to three intermediates and a
	// root, more than real client PKIs use, while each extra certificate
	// costs a parse.
	MaxChainLength int

	// ClockSkew tolerates a leaf whose NotBefore is up to this far in the
	// future (clocks of issuer and server disagree). Zero: no tolerance.
	// NotAfter is never stretched.
	ClockSkew time.Duration

	// Now returns the current time for validity checks, and for how long
	// certgate's Handler keeps a connection open (until the leaf's
	// NotAfter by this clock). Nil: time.Now.
	Now func() time.Time

	// CacheSize bounds the cache of verified certificates, keyed by the
	// exact header bytes, or by the DER a TLS client presented when the
	// library verifies it (RequestClientCert), so a reconnecting client is
	// not parsed and verified again. Validity is still checked on every
	// hit, and a change of roots empties it. Refusals are remembered apart
	// (see FailureCacheTTL), in at most min(CacheSize, 256) entries, so
	// that no client can push a good entry out by sending bad ones. Zero:
	// DefaultCacheSize; negative: neither cache.
	CacheSize int

	// FailureCacheTTL is how long a refused certificate (with the exact
	// chain it came with, under the same roots) is remembered, so that a
	// client repeating a bad or hostile chain costs a lookup instead of a
	// verification. At most MaxFailureCacheTTL; a roots change forgets
	// every refusal, and "not yet valid" is never remembered. Zero:
	// DefaultFailureCacheTTL; negative: refusals are not remembered. A
	// negative CacheSize disables this cache too.
	FailureCacheTTL time.Duration

	// RecheckInterval is how often the connections held with
	// [Authenticator.Hold] (every connection a WebSocket adapter's Handler
	// serves) are checked again although nothing signalled a change. They
	// are checked at once when the roots change or a [Notifier] among the
	// roots and revocation checkers signals; this interval is for what no
	// notifier reports, such as OCSP answers and distribution points' CRLs,
	// which each re-check may fetch. Zero: DefaultRecheckInterval;
	// negative: only on change.
	RecheckInterval time.Duration

	// RecheckAuthorizer runs Authorize again at each re-check of a held
	// connection, with the request that opened it, so that an authorizer
	// reading a changing policy (a database, an allow-list file) can end
	// connections it no longer allows. False: the authorizer's answer at
	// the upgrade stands for the connection's life.
	RecheckAuthorizer bool

	// Observers are told of every acceptance and refusal, and of the
	// start and end of every held connection (see [Observer]): for
	// metrics and traces. Nil: nobody, at no cost.
	Observers []Observer

	// InsecureSkipHeaderVerification takes header certificates as the proxy
	// sent them, without checking roots, validity or key usage. Only for a
	// proxy that verified the client itself and is the sole way to reach
	// this server. False: header certificates are verified like TLS ones.
	InsecureSkipHeaderVerification bool

	// Logger receives one record per refusal (reason, fingerprint, serial,
	// remote address; never a PEM block). Nil: silent.
	Logger *slog.Logger

	// ErrorHandler writes refusals through the ResponseWriter, e.g. as
	// JSON: the middleware's, and certgate's where it cannot hijack (HTTP/2).
	// A refused upgrade on HTTP/1.x always gets certgate's fixed raw answer.
	// Cache-Control: no-store and X-Content-Type-Options: nosniff are set
	// before it runs (it may change them); it may call [WritePlainError]
	// for what it does not render itself. Nil: WritePlainError, a
	// plain-text body with the error's public text.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err *Error)
}

// RootsProvider returns the current root pool. It is called once per
// verification, so it must be fast and safe for concurrent use; returning a
// different pointer tells the Authenticator the roots changed.
type RootsProvider interface {
	Roots() *x509.CertPool
}

type staticRoots struct{ pool *x509.CertPool }

func (s staticRoots) Roots() *x509.CertPool { return s.pool }

// validate checks cfg for settings that would be unsafe or contradictory at
// request time. Messages name the field and what to change.
func (cfg *Config) validate() error {
	var errs []error
	if cfg.Roots != nil && cfg.RootsProvider != nil {
		errs = append(errs, errors.New("Config.Roots and Config.RootsProvider are both set: keep one"))
	}
	// An empty static pool could only refuse everyone; it is nearly always
	// an unchecked AppendCertsFromPEM. A FileRoots emptied at run time is
	// different: an operator withdrawing every root on purpose.
	if cfg.Roots != nil && cfg.Roots.Equal(x509.NewCertPool()) {
		errs = append(errs, errors.New("Config.Roots holds no certificate: x509.CertPool.AppendCertsFromPEM probably failed (check its result); load the CA bundle, or use NewFileRoots to read it from a file"))
	}
	if msg := helperMisuse(cfg.Authorize); msg != "" {
		errs = append(errs, fmt.Errorf("Config.Authorize: %s", msg))
	}
	if cfg.AuthorizeTimeout < 0 {
		errs = append(errs, fmt.Errorf("Config.AuthorizeTimeout is negative (%v): use a positive duration, or zero for %v", cfg.AuthorizeTimeout, DefaultAuthorizeTimeout))
	}
	if cfg.MaxChainLength < 0 {
		errs = append(errs, fmt.Errorf("Config.MaxChainLength is negative (%d): use a positive length, or zero for %d", cfg.MaxChainLength, DefaultMaxChainLength))
	}
	if cfg.FailureCacheTTL > MaxFailureCacheTTL {
		errs = append(errs, fmt.Errorf("Config.FailureCacheTTL is %v, above MaxFailureCacheTTL (%v): use a shorter lifetime, zero for %v, or a negative value to disable", cfg.FailureCacheTTL, MaxFailureCacheTTL, DefaultFailureCacheTTL))
	}
	if cfg.ClockSkew < 0 {
		errs = append(errs, fmt.Errorf("Config.ClockSkew is negative (%v): use zero or a small positive duration", cfg.ClockSkew))
	}
	for i, c := range cfg.Revocation {
		if c == nil {
			errs = append(errs, fmt.Errorf("Config.Revocation[%d] is nil: remove it or set a checker", i))
		}
	}
	if len(cfg.Revocation) > 0 && cfg.InsecureSkipHeaderVerification {
		errs = append(errs, errors.New("Config.Revocation is set with Config.InsecureSkipHeaderVerification: revocation is bound to the issuer of a verified chain, and unverified header certificates have none; verify them (set Roots) or drop one of the two"))
	}
	errs = append(errs, cfg.Source.validate()...)
	if cfg.Source.isHeader() {
		if cfg.Roots == nil && cfg.RootsProvider == nil && !cfg.InsecureSkipHeaderVerification {
			errs = append(errs, errors.New("header source without roots: set Config.Roots (or Config.RootsProvider) to the CA that issues client certificates; an empty pool never means the system roots"))
		}
	} else if cfg.InsecureSkipHeaderVerification {
		errs = append(errs, errors.New("Config.InsecureSkipHeaderVerification is set but the source is the TLS connection: remove it"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("httpauth: invalid config: %w", errors.Join(errs...))
	}
	return nil
}
