package httpauth

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"
)

// CRLDistributionPoints is a [RevocationChecker] that fetches the CRL each
// certificate of the verified chain names in its CRL distribution points
// extension, and looks the certificate up in it. Build one with
// [NewCRLDistributionPoints] and add it to [Config.Revocation]; it is safe
// for concurrent use.
//
// A fetched CRL is bound to the certificate's issuer in the verified chain
// exactly as [CRLFiles] binds a file: issuer name, authority key
// identifier and signature must all be that issuer's. A CRL that limits
// its scope (an issuing distribution point extension) must cover the
// certificate: name the URL it was fetched from when it names any, and
// hold the kind of certificate, CA or not, being checked. Delta CRLs,
// indirect CRLs, CRLs partitioned by reason and CRLs with other critical
// extensions are refused, so the URL serving one turns into unknown rather
// than a partial answer.
//
// A certificate is revoked when its issuer's CRL lists its serial, good
// when it does not, and unknown when it names no http(s) distribution
// point (ldap ones are ignored), when the CRL cannot be fetched (the
// server is unreachable or slow, answers an error or more than
// [CRLDistributionPointsConfig.MaxSize]), or when the CRL is not bound to
// the issuer, does not cover the certificate or is stale. Unknown refuses
// the chain unless the checker is wrapped in [FailOpen].
//
// CRLs are cached until their nextUpdate and fetched again, in the
// background, after [CRLDistributionPointsConfig.MaxAge] or when a
// quarter of their validity is left, while requests go on using the cached
// one; the request path is then a map lookup per certificate. One fetch
// per URL is in flight at a time; a request waits for it only when it has
// no valid CRL, at most until its context ends.
type CRLDistributionPoints struct {
	leafOnly bool
	cache    *fetchCache[*dpCRL]
}

// CRLDistributionPointsConfig configures [NewCRLDistributionPoints]. The
// zero value checks every certificate below the root, with the defaults
// below.
type CRLDistributionPointsConfig struct {
	// LeafOnly checks the leaf alone. False: every certificate of the
	// verified chain below the root, each against its issuer's CRL.
	LeafOnly bool

	// Client fetches the CRLs. Nil: http.DefaultClient, which honours the
	// proxy environment variables and follows redirects.
	Client *http.Client

	// Timeout bounds one fetch, connection and download included. A
	// request waits at most this long, and less when its own context ends
	// first. Zero: 5 seconds.
	Timeout time.Duration

	// MaxSize caps a CRL's size in bytes; a larger one is unknown. Zero:
	// 10 MiB, about 300,000 entries.
	MaxSize int64

	// MaxAge is the longest a CRL is used before it is fetched again, also
	// when its nextUpdate is later: how soon a revocation is seen. Zero:
	// one hour.
	MaxAge time.Duration

	// RetryAfter is how long a failed fetch is remembered before the URL is
	// fetched again; meanwhile its certificates are unknown unless an
	// earlier CRL is still valid. Zero: 5 seconds.
	RetryAfter time.Duration

	// CacheSize is how many CRLs are kept, the least recently used dropped
	// first. Each costs memory in proportion to its entries. Zero: 64.
	CacheSize int

	// Now returns the current time. Nil: time.Now.
	Now func() time.Time
}

const (
	defaultCRLMaxSize   = 10 << 20
	defaultCRLCacheSize = 64
	defaultCRLDPTimeout = 5 * time.Second
)

// NewCRLDistributionPoints checks cfg and returns the checker. It starts
// no goroutine: fetches start on demand and end within the timeout.
func NewCRLDistributionPoints(cfg CRLDistributionPointsConfig) (*CRLDistributionPoints, error) {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = defaultCRLDPTimeout
	}
	s, err := fetchSettings{
		client:  cfg.Client,
		timeout: timeout,
		maxSize: cfg.MaxSize,
		maxAge:  cfg.MaxAge,
		retry:   cfg.RetryAfter,
		size:    cfg.CacheSize,
		now:     cfg.Now,
	}.withDefaults("CRLDistributionPointsConfig", defaultCRLMaxSize, defaultCRLCacheSize)
	if err != nil {
		return nil, err
	}
	return &CRLDistributionPoints{leafOnly: cfg.LeafOnly, cache: newFetchCache(s, sameCRL)}, nil
}

// dpCRL is the CRL one URL served, indexed as CRLFiles indexes its lists.
type dpCRL struct {
	set   *crlSet // one CRL
	scope crlScope
}

// sameCRL reports two fetches of a distribution point that brought the
// same CRL, byte for byte.
func sameCRL(a, b *dpCRL) bool {
	return bytes.Equal(a.raw(), b.raw())
}

func (d *dpCRL) raw() []byte {
	for _, entries := range d.set.byIssuer {
		for _, e := range entries {
			return e.list.Raw
		}
	}
	return nil
}

// CheckRevocation looks each certificate of chain below the root, or the
// leaf alone with [CRLDistributionPointsConfig.LeafOnly], up in the CRL its
// distribution point serves. Any revoked certificate makes the answer
// revoked, then any unknown one unknown.
func (d *CRLDistributionPoints) CheckRevocation(ctx context.Context, chain []*x509.Certificate) RevocationAnswer {
	n := len(chain) - 1
	if d.leafOnly {
		n = min(n, 1)
	}
	if n <= 0 {
		return RevocationAnswer{Status: RevocationGood, Detail: "no certificate below a root"}
	}
	type pending struct {
		url string
		e   *fetched[*dpCRL]
		fl  *flight[*dpCRL]
	}
	ps := make([]pending, n)
	for i := range ps {
		p := &ps[i]
		if p.url = fetchURL(chain[i].CRLDistributionPoints); p.url != "" {
			p.e, p.fl = d.cache.lookup(ctx, p.url, d.fetch(p.url))
		}
	}
	var unknown *RevocationAnswer
	for i, p := range ps {
		ans := d.answer(i, chain[i], chain[i+1], p.url, d.cache.wait(ctx, p.e, p.fl))
		switch ans.Status {
		case RevocationRevoked:
			return ans
		case RevocationUnknown:
			if unknown == nil {
				unknown = &ans
			}
		}
	}
	if unknown != nil {
		return *unknown
	}
	return RevocationAnswer{Status: RevocationGood, Detail: "not on the CRLs of the distribution points"}
}

func (d *CRLDistributionPoints) answer(i int, cert, issuer *x509.Certificate, dp string, e *fetched[*dpCRL]) RevocationAnswer {
	if dp == "" {
		return RevocationAnswer{Status: RevocationUnknown, Detail: fmt.Sprintf("certificate %d (serial %s) names no http CRL distribution point", i, serialHex(cert))}
	}
	now := d.cache.s.now()
	if !e.usable(now) {
		return RevocationAnswer{Status: RevocationUnknown, Detail: fmt.Sprintf("no valid CRL for certificate %d (serial %s) from %s: %s", i, serialHex(cert), dp, e.describe(now))}
	}
	if err := e.val.scope.covers(cert); err != nil {
		return RevocationAnswer{Status: RevocationUnknown, Detail: fmt.Sprintf("the CRL at %s does not cover certificate %d (serial %s): %s", dp, i, serialHex(cert), err)}
	}
	crl := e.val.set.find(cert, issuer)
	if crl == nil {
		return RevocationAnswer{Status: RevocationUnknown, Detail: fmt.Sprintf("the CRL at %s is not signed by %q, the issuer of certificate %d (serial %s)", dp, truncate(issuer.Subject.CommonName), i, serialHex(cert))}
	}
	if ans, bad := crl.judge(cert, issuer, now); bad {
		return ans
	}
	return RevocationAnswer{Status: RevocationGood}
}

func (d *CRLDistributionPoints) fetch(dp string) fetchFunc[*dpCRL] {
	return func(ctx context.Context) (*dpCRL, time.Time, error) {
		data, err := d.cache.s.do(ctx, http.MethodGet, dp, "", nil)
		if err != nil {
			return nil, time.Time{}, err
		}
		return parseDPCRL(data, d.cache.s.now(), d.cache.s.maxAge)
	}
}

// parseDPCRL parses the CRL a distribution point served (DER, as RFC 5280
// section 4.2.1.13 says, or one PEM block) and refuses what this package
// cannot apply. It returns the CRL and until when to use it: its
// nextUpdate, or maxAge when it has none.
func parseDPCRL(data []byte, now time.Time, maxAge time.Duration) (*dpCRL, time.Time, error) {
	lists, err := parseCRLFile(data)
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(lists) != 1 {
		return nil, time.Time{}, fmt.Errorf("%d CRLs served where one is expected", len(lists))
	}
	l := lists[0]
	scope, err := crlScopeOf(l)
	if err != nil {
		return nil, time.Time{}, err
	}
	expires := l.NextUpdate
	if expires.IsZero() {
		expires = now.Add(maxAge)
	}
	set := &crlSet{byIssuer: map[string][]*crlEntry{}}
	set.add(l, scope)
	return &dpCRL{set: set, scope: scope}, expires, nil
}

// wait waits until no fetch of d runs, for tests.
func (d *CRLDistributionPoints) wait() { d.cache.idle() }

// Changed returns a channel closed when a fetch next stores a new answer
// (see [Notifier]).
func (d *CRLDistributionPoints) Changed() <-chan struct{} { return d.cache.changed.wait() }
