package httpauth

import (
	"crypto/x509"
	"log/slog"
	"net/http"
	"time"
)

// Authenticator turns requests into verified, authorized identities. Build
// one with [New]; it is immutable and safe for concurrent use by any number
// of goroutines.
type Authenticator struct {
	src        Source // resolved: preset applied, names canonical
	roots      RootsProvider
	authz      Authorizer
	revocation []RevocationChecker
	timeout    time.Duration
	chain      bool
	maxChain   int
	skew       time.Duration
	now        func() time.Time
	known      *x509.CertPool // Config.Intermediates
	proven     provenCache
	cache      *verdictCache // nil when disabled
	insecure   bool
	logger     *slog.Logger
	onError    func(http.ResponseWriter, *http.Request, *Error)

	recheckEvery time.Duration // zero: only on change
	recheckAuthz bool
	live         liveSet
	observers    []Observer
}

// New checks cfg and returns an Authenticator. It refuses configurations
// that would be unsafe or ambiguous at request time (a header source
// without roots or trusted proxies, a verification-status header without
// its value, an unknown preset or encoding, …) with an error naming the
// field and what to change.
func New(cfg Config) (*Authenticator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &Authenticator{
		src:        cfg.Source.resolved(),
		roots:      cfg.RootsProvider,
		authz:      cfg.Authorize,
		revocation: append([]RevocationChecker(nil), cfg.Revocation...),
		timeout:    cfg.AuthorizeTimeout,
		chain:      cfg.IncludeChain,
		maxChain:   cfg.MaxChainLength,
		skew:       cfg.ClockSkew,
		now:        cfg.Now,
		known:      cfg.Intermediates,
		proven:     newProvenCache(),
		insecure:   cfg.InsecureSkipHeaderVerification,
		logger:     cfg.Logger,
		onError:    cfg.ErrorHandler,

		recheckAuthz: cfg.RecheckAuthorizer,
		observers:    append([]Observer(nil), cfg.Observers...),
	}
	switch {
	case cfg.RecheckInterval == 0:
		a.recheckEvery = DefaultRecheckInterval
	case cfg.RecheckInterval > 0:
		a.recheckEvery = cfg.RecheckInterval
	}
	if a.roots == nil && cfg.Roots != nil {
		a.roots = staticRoots{cfg.Roots}
	}
	if a.timeout == 0 {
		a.timeout = DefaultAuthorizeTimeout
	}
	if a.maxChain == 0 {
		a.maxChain = DefaultMaxChainLength
	}
	if a.now == nil {
		a.now = time.Now
	}
	if cfg.CacheSize >= 0 {
		size := cfg.CacheSize
		if size == 0 {
			size = DefaultCacheSize
		}
		ttl := cfg.FailureCacheTTL
		switch {
		case ttl == 0:
			ttl = DefaultFailureCacheTTL
		case ttl < 0:
			ttl = 0
		}
		a.cache = newVerdictCache(size, ttl, a.now)
	}
	// What held connections are re-checked against until a change: a
	// change from now on, even before the first connection, is one.
	a.live.trust = a.trustState(time.Now())
	return a, nil
}

// Authenticate finds the request's client certificate, verifies it and
// runs the authorizer with the request's context plus
// [Config.AuthorizeTimeout].
//
// On success it returns the identity and nil. When authorization fails it
// returns the identity together with the error, so callers can log who was
// refused. Any other failure returns a nil identity. Errors are always
// *[Error]: 401 for a missing or unacceptable certificate, 403 for a denial,
// or the authorizer's status.
func (a *Authenticator) Authenticate(r *http.Request) (*Identity, error) {
	gen := a.live.gen.Load() // before any trust data is read
	id, err := a.identify(r)
	if err == nil {
		if err = a.checkRevocation(r.Context(), r.RemoteAddr, id); err != nil {
			id = nil // a revoked certificate is no identity, not even for logs
		}
	}
	if err == nil {
		err = a.authorize(r, id)
	}
	if err != nil {
		e := asError(err)
		a.logRefusal(r, id, e)
		a.observeRefused(r, id, e)
		return id, e
	}
	id.checkedBy, id.checkedAt = a, gen
	a.observeAccepted(r, id)
	return id, nil
}

// logRefusal writes one record per refusal: its stable code, status and
// reason, the request's method, path and peer, where the certificate was
// looked for, and, when one was identified, its CN, fingerprint and
// serial; never a PEM block or a whole subject.
func (a *Authenticator) logRefusal(r *http.Request, id *Identity, e *Error) {
	if a.logger == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("code", e.Code()),
		slog.Int("status", e.ResponseStatus()),
		slog.String("reason", e.Error()),
		slog.String("method", r.Method),
		slog.String("path", cut(r.URL.Path, maxLoggedPath)),
		slog.String("remote_addr", r.RemoteAddr),
		slog.String("source", a.sourceOf(id)),
	}
	if id != nil {
		cn, _ := id.CommonName()
		attrs = append(attrs,
			slog.String("cn", truncate(cn)),
			slog.String("fingerprint", id.Fingerprint),
			slog.String("serial", serialHex(id.Certificate)))
	}
	a.logger.LogAttrs(r.Context(), slog.LevelWarn, "httpauth: request refused", attrs...)
}

// sourceOf names where the certificate came from: "tls", or the header's
// canonical name; without an identity, where it was looked for first.
func (a *Authenticator) sourceOf(id *Identity) string {
	switch {
	case id != nil && id.Header != "":
		return id.Header
	case id == nil && a.src.isHeader():
		return a.src.Header
	}
	return "tls"
}

// Now returns the current time by the Authenticator's clock
// ([Config.Now]), so that callers measuring a certificate's remaining
// lifetime agree with the validity checks.
func (a *Authenticator) Now() time.Time { return a.now() }
