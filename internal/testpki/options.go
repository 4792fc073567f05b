package testpki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"slices"
	"time"
)

// Option shapes one certificate being minted. Options apply in order, so when
// two of them set the same field the last one wins. A bad value, such as a
// relative URI, makes the constructor return an error. Options copy their
// arguments when created, and one Option may be reused for many
// certificates.
type Option func(*options)

// options collects what the Option values asked for. Fields left at their
// zero value mean "use the default of the kind being minted".
type options struct {
	subject pkix.Name
	cnSet   bool // WithCN or WithSubject fixed the common name, even if empty
	dns     []string
	emails  []string
	// permittedEmails is the rfc822Name subtrees of a name constraints
	// extension; empty means no such extension.
	permittedEmails []string
	uris            []*url.URL
	ips             []net.IP
	serial          *big.Int
	// validity is resolved against now only once every option has applied,
	// so that WithNow may come after Expired or NotYetValid.
	validity func(now time.Time) (notBefore, notAfter time.Time)
	eku      []x509.ExtKeyUsage
	ekuSet   bool
	ocsp     []string // authority information access: OCSP responders
	crlDPs   []string // CRL distribution points
	keyType  KeyType
	now      time.Time
	err      error // first invalid option
}

// newOptions applies opts in order and reports the first invalid one.
func newOptions(opts []Option) (*options, error) {
	o := &options{keyType: ECDSA}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	if o.err != nil {
		return nil, o.err
	}
	if o.now.IsZero() {
		o.now = time.Now()
	}
	return o, nil
}

// fail records err unless an earlier option already failed.
func (o *options) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// WithCN sets the subject common name. An empty cn leaves the subject without
// one instead of taking the default.
func WithCN(cn string) Option {
	return func(o *options) {
		o.subject.CommonName = cn
		o.cnSet = true
	}
}

// WithOrganization sets the subject organization (O) values.
func WithOrganization(org ...string) Option {
	org = slices.Clone(org)
	return func(o *options) { o.subject.Organization = org }
}

// WithOU sets the subject organizational unit (OU) values.
func WithOU(ou ...string) Option {
	ou = slices.Clone(ou)
	return func(o *options) { o.subject.OrganizationalUnit = ou }
}

// WithSubject replaces the whole subject, common name included, with name.
// Options that come after it adjust the new subject; those before it are
// lost.
func WithSubject(name pkix.Name) Option {
	name = cloneName(name)
	return func(o *options) {
		o.subject = name
		o.cnSet = true
	}
}

// WithDNS sets the DNS name SANs.
func WithDNS(names ...string) Option {
	names = slices.Clone(names)
	return func(o *options) { o.dns = names }
}

// WithEmail sets the email address SANs (rfc822Name).
func WithEmail(addrs ...string) Option {
	addrs = slices.Clone(addrs)
	return func(o *options) { o.emails = addrs }
}

// WithPermittedEmails adds a name constraints extension permitting only the
// given rfc822Name subtrees, in the forms of RFC 5280, section 4.2.1.10: a
// mailbox ("ops@example.com"), every mailbox on a host ("example.com"), or
// on any host in a domain (".example.com"). It belongs on an authority:
// crypto/x509 then refuses leaves below it whose email SANs fall outside,
// but does not check the subject's emailAddress attribute, which the RFC
// also constrains.
func WithPermittedEmails(subtrees ...string) Option {
	subtrees = slices.Clone(subtrees)
	return func(o *options) { o.permittedEmails = subtrees }
}

// WithURI sets the URI SANs, such as spiffe://example.org/device/1. Each one
// must parse as an absolute URI (RFC 5280, section 4.2.1.6); otherwise the
// constructor returns an error.
func WithURI(uris ...string) Option {
	parsed, err := parseURIs(uris)
	return func(o *options) {
		if err != nil {
			o.fail(err)
			return
		}
		o.uris = parsed
	}
}

// parseURIs parses each URI SAN and rejects relative ones.
func parseURIs(uris []string) ([]*url.URL, error) {
	parsed := make([]*url.URL, 0, len(uris))
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("testpki: invalid URI SAN: %w", err)
		}
		if !u.IsAbs() {
			return nil, fmt.Errorf("testpki: URI SAN %q is not absolute", s)
		}
		parsed = append(parsed, u)
	}
	return parsed, nil
}

// WithIP sets the IP address SANs. A nil or malformed address makes the
// constructor return an error.
func WithIP(ips ...net.IP) Option {
	cloned := make([]net.IP, 0, len(ips))
	var err error
	for _, ip := range ips {
		if len(ip) != net.IPv4len && len(ip) != net.IPv6len {
			err = fmt.Errorf("testpki: invalid IP SAN of %d bytes", len(ip))
			break
		}
		cloned = append(cloned, slices.Clone(ip))
	}
	return func(o *options) {
		if err != nil {
			o.fail(err)
			return
		}
		o.ips = cloned
	}
}

// WithSerial sets the serial number instead of a random one. x509 rejects a
// negative serial, and the constructor returns that error.
func WithSerial(serial *big.Int) Option {
	if serial != nil {
		serial = new(big.Int).Set(serial)
	}
	return func(o *options) { o.serial = serial }
}

// WithValidity sets NotBefore and NotAfter. The constructor returns an error
// if notAfter is before notBefore.
func WithValidity(notBefore, notAfter time.Time) Option {
	return func(o *options) {
		o.validity = func(time.Time) (time.Time, time.Time) { return notBefore, notAfter }
	}
}

// Expired makes the certificate valid from 48 hours to 24 hours before the
// reference time (see [WithNow]), so it is past its NotAfter.
func Expired() Option {
	return func(o *options) {
		o.validity = func(now time.Time) (time.Time, time.Time) {
			return now.Add(-48 * time.Hour), now.Add(-24 * time.Hour)
		}
	}
}

// NotYetValid makes the certificate valid from 24 hours to 48 hours after the
// reference time (see [WithNow]), so it is before its NotBefore.
func NotYetValid() Option {
	return func(o *options) {
		o.validity = func(now time.Time) (time.Time, time.Time) {
			return now.Add(24 * time.Hour), now.Add(48 * time.Hour)
		}
	}
}

// ServerOnly restricts the extended key usage to server authentication, the
// wrong usage for a client certificate.
func ServerOnly() Option {
	return WithEKU(x509.ExtKeyUsageServerAuth)
}

// WithEKU sets the extended key usages. With no arguments the certificate
// has no extended key usage extension at all, which x509 treats as valid
// for any usage.
func WithEKU(eku ...x509.ExtKeyUsage) Option {
	eku = slices.Clone(eku)
	return func(o *options) {
		o.eku = eku
		o.ekuSet = true
	}
}

// WithOCSPServer names the OCSP responders in the authority information
// access extension (RFC 5280, section 4.2.2.1), where revocation checkers
// look for them. The URLs are written as given, unchecked, so tests can
// also mint certificates naming unusable ones.
func WithOCSPServer(urls ...string) Option {
	urls = slices.Clone(urls)
	return func(o *options) { o.ocsp = urls }
}

// WithCRLDistributionPoints names the URLs of the CRL distribution points
// extension (RFC 5280, section 4.2.1.13). Like [WithOCSPServer], it writes
// them as given.
func WithCRLDistributionPoints(urls ...string) Option {
	urls = slices.Clone(urls)
	return func(o *options) { o.crlDPs = urls }
}

// WithKey selects the key algorithm. The default is [ECDSA].
func WithKey(t KeyType) Option {
	return func(o *options) { o.keyType = t }
}

// WithNow sets the reference time for the default validity and for
// [Expired] and [NotYetValid]. The zero time means the current time, which
// is the default.
func WithNow(now time.Time) Option {
	return func(o *options) { o.now = now }
}

// cloneName copies the slices of name, so that a later change by the caller
// does not reach certificates minted from it.
func cloneName(name pkix.Name) pkix.Name {
	name.Country = slices.Clone(name.Country)
	name.Organization = slices.Clone(name.Organization)
	name.OrganizationalUnit = slices.Clone(name.OrganizationalUnit)
	name.Locality = slices.Clone(name.Locality)
	name.Province = slices.Clone(name.Province)
	name.StreetAddress = slices.Clone(name.StreetAddress)
	name.PostalCode = slices.Clone(name.PostalCode)
	name.Names = slices.Clone(name.Names)
	name.ExtraNames = slices.Clone(name.ExtraNames)
	return name
}
