package httpauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSP is a [RevocationChecker] that asks OCSP responders (RFC 6960) about
// the certificates of the verified chain, each about its own issuer in
// that chain. Build one with [NewOCSP] and add it to [Config.Revocation];
// it is safe for concurrent use.
//
// A response counts only when it is signed by that issuer, or by a
// delegated responder certificate the issuer signed for the OCSP-signing
// usage (RFC 6960, section 4.2.2.2), names the certificate's serial, has
// a thisUpdate not in the future and a nextUpdate not passed. So a
// responder, or anyone on the path to it (OCSP runs over plain HTTP), can
// only ever speak for the CA that issued the certificate. Responses carry
// no nonce: like most responders (RFC 5019), freshness comes from
// thisUpdate and nextUpdate, which lets responses be cached.
//
// A certificate is good, revoked or unknown as its responder says.
// Unknown is also the answer when the certificate names no http(s)
// responder and none is configured, and when no valid response could be
// had: the responder is unreachable or slow, answers an error (tryLater,
// unauthorized, …), too much, or something that fails the checks above.
// Unknown refuses the chain unless the checker is wrapped in [FailOpen].
//
// Responses are cached until their nextUpdate, fetched again after
// [OCSPConfig.MaxAge] or when a quarter of their validity is left, in the
// background, while requests go on using the cached one. A failed fetch
// keeps the last valid response in use until its nextUpdate and is not
// retried for [OCSPConfig.RetryAfter]. One fetch per responder and
// certificate is in flight at a time; a request waits for it only when
// it has no valid response, at most until its context ends.
type OCSP struct {
	responder string
	leafOnly  bool
	cache     *fetchCache[*ocspStatus]
}

// OCSPConfig configures [NewOCSP]. The zero value asks, about every
// certificate below the root, the responder that certificate names, with
// the defaults below.
type OCSPConfig struct {
	// Responder, when set, is the http or https URL asked about every
	// certificate, whatever responder the certificates name. Empty: the
	// first http or https URL of the certificate's authority information
	// access extension; a certificate naming none is unknown.
	Responder string

	// LeafOnly asks about the leaf alone. False: about every certificate
	// of the verified chain below the root. Checking the leaf alone is
	// common where the intermediates are the CA's own and have no
	// responder, but then a revoked intermediate goes unnoticed.
	LeafOnly bool

	// Client sends the requests. Nil: http.DefaultClient, which honours
	// the proxy environment variables and follows redirects.
	Client *http.Client

	// Timeout bounds one fetch, connection included. A request waits at
	// most this long, and less when its own context ends first. Zero:
	// 3 seconds.
	Timeout time.Duration

	// MaxSize caps a response's body, in bytes. Zero: 64 KiB.
	MaxSize int64

	// MaxAge is the longest a response is used before it is fetched
	// again, also when its nextUpdate is later: how soon a revocation is
	// seen. A response without nextUpdate is valid for MaxAge after its
	// thisUpdate. Zero: one hour.
	MaxAge time.Duration

	// RetryAfter is how long a failed fetch is remembered before the
	// responder is asked again; meanwhile the certificate is unknown
	// unless an earlier response is still valid. Zero: 5 seconds.
	RetryAfter time.Duration

	// CacheSize is how many responses are kept, the least recently used
	// dropped first. Zero: 10,000.
	CacheSize int

	// Now returns the current time. Nil: time.Now.
	Now func() time.Time
}

const (
	defaultOCSPMaxSize   = 64 << 10
	defaultOCSPCacheSize = 10_000

	// ocspSkew is how far in the future a response's thisUpdate may be,
	// for clocks a little ahead of ours.
	ocspSkew = 5 * time.Minute

	// ocspGetLimit is the longest GET request URL; longer requests are
	// POSTed (RFC 5019, section 5).
	ocspGetLimit = 255
)

// NewOCSP checks cfg and returns an OCSP checker. It starts no goroutine:
// fetches start on demand and end within the timeout.
func NewOCSP(cfg OCSPConfig) (*OCSP, error) {
	if cfg.Responder != "" && fetchURL([]string{cfg.Responder}) == "" {
		return nil, fmt.Errorf("httpauth: OCSPConfig.Responder %q is not an absolute http or https URL", truncate(cfg.Responder))
	}
	s, err := fetchSettings{
		client:  cfg.Client,
		timeout: cfg.Timeout,
		maxSize: cfg.MaxSize,
		maxAge:  cfg.MaxAge,
		retry:   cfg.RetryAfter,
		size:    cfg.CacheSize,
		now:     cfg.Now,
	}.withDefaults("OCSPConfig", defaultOCSPMaxSize, defaultOCSPCacheSize)
	if err != nil {
		return nil, err
	}
	return &OCSP{responder: cfg.Responder, leafOnly: cfg.LeafOnly, cache: newFetchCache(s, (*ocspStatus).same)}, nil
}

// ocspStatus is what a verified response said about one certificate.
type ocspStatus struct {
	status    int // ocsp.Good, ocsp.Revoked or ocsp.Unknown
	revokedAt time.Time
	reason    int
}

// same reports two answers that say the same; a refresh that brings it
// is no change for the connections held.
func (s *ocspStatus) same(o *ocspStatus) bool {
	return s.status == o.status && s.reason == o.reason && s.revokedAt.Equal(o.revokedAt)
}

// CheckRevocation asks about each certificate of chain below the root, or
// the leaf alone with [OCSPConfig.LeafOnly]. Any revoked certificate makes
// the answer revoked, then any unknown one unknown.
func (o *OCSP) CheckRevocation(ctx context.Context, chain []*x509.Certificate) RevocationAnswer {
	n := len(chain) - 1
	if o.leafOnly {
		n = min(n, 1)
	}
	if n <= 0 {
		return RevocationAnswer{Status: RevocationGood, Detail: "no certificate below a root"}
	}
	// Start every fetch first, so a chain costs one timeout, not one per
	// certificate.
	type pending struct {
		url string
		e   *fetched[*ocspStatus]
		fl  *flight[*ocspStatus]
	}
	ps := make([]pending, n)
	for i := range ps {
		cert, issuer := chain[i], chain[i+1]
		p := &ps[i]
		if p.url = o.responder; p.url == "" {
			p.url = fetchURL(cert.OCSPServer)
		}
		if p.url != "" {
			p.e, p.fl = o.cache.lookup(ctx, ocspKey(p.url, cert, issuer), o.fetch(p.url, cert, issuer))
		}
	}
	var unknown *RevocationAnswer
	for i, p := range ps {
		ans := o.answer(i, chain[i], p.url, o.cache.wait(ctx, p.e, p.fl))
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
	return RevocationAnswer{Status: RevocationGood, Detail: "OCSP responders answered good"}
}

func (o *OCSP) answer(i int, cert *x509.Certificate, responder string, e *fetched[*ocspStatus]) RevocationAnswer {
	if responder == "" {
		return RevocationAnswer{Status: RevocationUnknown, Detail: fmt.Sprintf("certificate %d (serial %s) names no http OCSP responder", i, serialHex(cert))}
	}
	now := o.cache.s.now()
	if !e.usable(now) {
		return RevocationAnswer{Status: RevocationUnknown, Detail: fmt.Sprintf("no valid OCSP response for certificate %d (serial %s) from %s: %s", i, serialHex(cert), responder, e.describe(now))}
	}
	switch st := e.val; st.status {
	case ocsp.Good:
		return RevocationAnswer{Status: RevocationGood}
	case ocsp.Revoked:
		return RevocationAnswer{Status: RevocationRevoked, Detail: fmt.Sprintf("serial %s revoked at %s (reason %d) says the OCSP responder %s", serialHex(cert), stamp(st.revokedAt), st.reason, responder)}
	default:
		return RevocationAnswer{Status: RevocationUnknown, Detail: fmt.Sprintf("the OCSP responder %s does not know serial %s", responder, serialHex(cert))}
	}
}

// ocspKey names what is asked: the responder, the issuer (name and key,
// as an OCSP CertID does) and the serial.
func ocspKey(responder string, cert, issuer *x509.Certificate) string {
	h := sha256.New()
	h.Write(issuer.RawSubject)
	h.Write(issuer.RawSubjectPublicKeyInfo)
	return responder + "\x00" + string(h.Sum(nil)) + string(cert.SerialNumber.Bytes())
}

func (o *OCSP) fetch(responder string, cert, issuer *x509.Certificate) fetchFunc[*ocspStatus] {
	return func(ctx context.Context) (*ocspStatus, time.Time, error) {
		// SHA-1 CertID hashes: what RFC 5019 requires and every responder
		// understands. They only name the issuer; nothing is signed with
		// them.
		req, err := ocsp.CreateRequest(cert, issuer, nil)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("build the request: %w", err)
		}
		var der []byte
		if get, ok := ocspGet(responder, req); ok {
			der, err = o.cache.s.do(ctx, http.MethodGet, get, "", nil)
		} else {
			der, err = o.cache.s.do(ctx, http.MethodPost, responder, "application/ocsp-request", req)
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		return verifyOCSP(der, cert, issuer, o.cache.s.now(), o.cache.s.maxAge)
	}
}

// ocspGet returns the GET form of req (RFC 6960, appendix A.1) when it is
// short enough and the responder URL has no query to append to.
func ocspGet(responder string, req []byte) (string, bool) {
	if strings.ContainsAny(responder, "?#") {
		return "", false
	}
	get := strings.TrimSuffix(responder, "/") + "/" + url.QueryEscape(base64.StdEncoding.EncodeToString(req))
	return get, len(get) <= ocspGetLimit
}

// verifyOCSP parses der, a response about cert, and checks that issuer
// stands behind it and that it is current at now. It returns the status
// and until when it is valid.
func verifyOCSP(der []byte, cert, issuer *x509.Certificate, now time.Time, maxAge time.Duration) (*ocspStatus, time.Time, error) {
	// No issuer for ParseResponseForCert: given one, it would refuse a
	// response carrying the issuer's own certificate, and it accepts a
	// delegated responder certificate without the OCSP-signing usage.
	// ocspSignedBy checks the signature instead.
	resp, err := ocsp.ParseResponseForCert(der, cert, nil)
	if err != nil {
		var re ocsp.ResponseError
		if errors.As(err, &re) {
			return nil, time.Time{}, fmt.Errorf("the responder answered %q", re.Status.String())
		}
		return nil, time.Time{}, fmt.Errorf("malformed response: %w", err)
	}
	if err := ocspSignedBy(resp, issuer, now); err != nil {
		return nil, time.Time{}, err
	}
	if resp.SerialNumber == nil || resp.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		return nil, time.Time{}, errors.New("the response is about another serial")
	}
	if resp.ThisUpdate.After(now.Add(ocspSkew)) {
		return nil, time.Time{}, fmt.Errorf("the response's thisUpdate %s is in the future", stamp(resp.ThisUpdate))
	}
	expires := resp.NextUpdate
	if expires.IsZero() {
		expires = resp.ThisUpdate.Add(maxAge)
	}
	if !now.Before(expires) {
		return nil, time.Time{}, fmt.Errorf("the response is stale: valid until %s", stamp(expires))
	}
	switch resp.Status {
	case ocsp.Good, ocsp.Revoked, ocsp.Unknown:
	default:
		return nil, time.Time{}, fmt.Errorf("unknown certificate status %d", resp.Status)
	}
	return &ocspStatus{status: resp.Status, revokedAt: resp.RevokedAt, reason: resp.RevocationReason}, expires, nil
}

// ocspSignedBy checks that issuer signed resp, itself or through a
// delegated responder (RFC 6960, section 4.2.2.2): a certificate issuer
// signed, with the OCSP-signing usage, valid at now. Any other signer is
// refused, even one the client's own CA trusts elsewhere: this binding is
// what CVE-2024-2660 (Vault) got wrong.
func ocspSignedBy(resp *ocsp.Response, issuer *x509.Certificate, now time.Time) error {
	name := truncate(issuer.Subject.CommonName)
	r := resp.Certificate
	switch {
	case r == nil:
		if err := resp.CheckSignatureFrom(issuer); err != nil {
			return fmt.Errorf("the response is not signed by the issuer %q: %w", name, err)
		}
	case bytes.Equal(r.Raw, issuer.Raw):
		// The issuer's own certificate, which ParseResponseForCert
		// checked the signature with.
	default:
		if !bytes.Equal(r.RawIssuer, issuer.RawSubject) {
			return fmt.Errorf("the responder certificate (serial %s) is not issued by %q", serialHex(r), name)
		}
		if err := r.CheckSignatureFrom(issuer); err != nil {
			return fmt.Errorf("the responder certificate (serial %s) is not signed by %q: %w", serialHex(r), name, err)
		}
		if !slices.Contains(r.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
			return fmt.Errorf("the responder certificate (serial %s) lacks the OCSP-signing usage", serialHex(r))
		}
		if now.Before(r.NotBefore) || now.After(r.NotAfter) {
			return fmt.Errorf("the responder certificate (serial %s) is not valid now", serialHex(r))
		}
	}
	return nil
}

// wait waits until no fetch of o runs, for tests.
func (o *OCSP) wait() { o.cache.idle() }

// Changed returns a channel closed when a fetch next stores a new answer
// (see [Notifier]).
func (o *OCSP) Changed() <-chan struct{} { return o.cache.changed.wait() }
