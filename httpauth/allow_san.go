package httpauth

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// AllowSAN allows leaves with one of sans among their subject alternative
// names. Entries may carry the prefix openssl prints — "DNS:", "email:",
// "URI:", "IP Address:" (or "IP:") — to match only that kind; a bare entry
// matches any kind. DNS names and email addresses compare without case,
// IP addresses by value (so "::ffff:10.0.0.1" equals "10.0.0.1"), URIs
// exactly.
func AllowSAN(sans ...string) Authorizer {
	if bad := checkEntries("AllowSAN", sans); bad != nil {
		return bad
	}
	type want struct{ kind, value string }
	wants := make([]want, 0, len(sans))
	for _, s := range sans {
		kind, value := splitSANPrefix(strings.TrimSpace(s))
		if value == "" {
			return misconfigured(fmt.Sprintf("AllowSAN: entry %q names no value", s))
		}
		wants = append(wants, want{kind, value})
	}
	return func(_ context.Context, id *Identity) error {
		c := id.Certificate
		for _, w := range wants {
			if sanMatches(c, w.kind, w.value) {
				return nil
			}
		}
		return errors.New("no allowed subject alternative name")
	}
}

func splitSANPrefix(s string) (kind, value string) {
	for _, p := range []struct{ prefix, kind string }{
		{"dns:", "dns"}, {"email:", "email"}, {"uri:", "uri"}, {"ip address:", "ip"}, {"ip:", "ip"},
	} {
		if len(s) >= len(p.prefix) && strings.EqualFold(s[:len(p.prefix)], p.prefix) {
			return p.kind, strings.TrimSpace(s[len(p.prefix):])
		}
	}
	return "", s
}

func sanMatches(c *x509.Certificate, kind, value string) bool {
	if kind == "" || kind == "dns" {
		for _, d := range c.DNSNames {
			if strings.EqualFold(d, value) {
				return true
			}
		}
	}
	if kind == "" || kind == "email" {
		for _, e := range c.EmailAddresses {
			if strings.EqualFold(e, value) {
				return true
			}
		}
	}
	if kind == "" || kind == "uri" {
		for _, u := range c.URIs {
			if u.String() == value {
				return true
			}
		}
	}
	if kind == "" || kind == "ip" {
		if ip := net.ParseIP(value); ip != nil {
			for _, have := range c.IPAddresses {
				if have.Equal(ip) {
					return true
				}
			}
		}
	}
	return false
}

// AllowSPIFFEID allows leaves whose SPIFFE ID (the URI SAN with scheme
// spiffe) is listed. An entry is either a full ID, matched exactly
// ("spiffe://example.org/ns/prod/sa/api"), or a bare trust domain
// ("spiffe://example.org"), matching every ID in it. As the X509-SVID
// specification requires, a leaf with more than one URI SAN has no SPIFFE
// ID and is refused.
func AllowSPIFFEID(ids ...string) Authorizer {
	if len(ids) == 0 {
		return misconfigured("AllowSPIFFEID: no IDs given")
	}
	exact := map[string]bool{}
	domains := map[string]bool{}
	for i, s := range ids {
		td, path, err := parseSPIFFEID(s)
		if err != nil {
			return misconfigured(fmt.Sprintf("AllowSPIFFEID: entry %d %s: %v", i, quoteArg(s), err))
		}
		if path == "" {
			domains[td] = true
		} else {
			exact["spiffe://"+td+path] = true
		}
	}
	return func(_ context.Context, id *Identity) error {
		uris := id.Certificate.URIs
		if len(uris) != 1 {
			return fmt.Errorf("certificate has %d URI SANs, a SPIFFE ID needs exactly one", len(uris))
		}
		td, path, err := parseSPIFFEID(uris[0].String())
		if err != nil {
			return fmt.Errorf("URI SAN is not a SPIFFE ID: %v", err)
		}
		if domains[td] || exact["spiffe://"+td+path] {
			return nil
		}
		return fmt.Errorf("SPIFFE ID spiffe://%s%s not allowed", truncate(td), truncate(path))
	}
}

// parseSPIFFEID checks the SPIFFE ID rules that matter for matching: scheme
// spiffe, a lowercase trust domain, no port, user, query or fragment, and a
// path without empty, "." or ".." segments.
func parseSPIFFEID(s string) (trustDomain, path string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", errors.New("not a URI")
	}
	switch {
	case u.Scheme != "spiffe":
		return "", "", errors.New("scheme is not spiffe")
	case u.Host == "" || u.Host != strings.ToLower(u.Host) || strings.ContainsAny(u.Host, ":@"):
		return "", "", errors.New("trust domain must be lowercase with no port")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return "", "", errors.New("user info, query and fragment are not allowed")
	}
	path = u.EscapedPath()
	if path == "/" {
		return "", "", errors.New("path must not be a bare /")
	}
	if path != "" {
		for _, seg := range strings.Split(path[1:], "/") {
			if seg == "" || seg == "." || seg == ".." {
				return "", "", errors.New("path has an empty, . or .. segment")
			}
		}
	}
	return u.Host, path, nil
}

// AllowEmail allows leaves with one of emails as an email SAN or, when no
// name constraints stand in the way, as the subject's emailAddress
// attribute. Comparison ignores case.
//
// RFC 5280, section 4.2.1.10, applies a CA's rfc822Name constraints to the
// subject's emailAddress too, but crypto/x509 checks them on SANs only: a
// CA constrained to example.com can issue a leaf with
// emailAddress=ceo@other.com that verifies. So the attribute counts only
// when no certificate of the verified chain has email constraints
// (permitted or excluded), and only for identities an [Authenticator]
// verified, whose chain it knows; otherwise only SANs match.
func AllowEmail(emails ...string) Authorizer {
	if bad := checkEntries("AllowEmail", emails); bad != nil {
		return bad
	}
	set := toSet(emails, strings.ToLower)
	return func(_ context.Context, id *Identity) error {
		for _, e := range id.Certificate.EmailAddresses {
			if set[strings.ToLower(e)] {
				return nil
			}
		}
		for _, n := range id.Certificate.Subject.Names {
			if v, ok := n.Value.(string); ok && n.Type.Equal(oidEmailAddress) && set[strings.ToLower(v)] {
				if why := subjectEmailDistrusted(id); why != "" {
					return fmt.Errorf("subject emailAddress is listed but not trusted: %s; issue the address as an email SAN", why)
				}
				return nil
			}
		}
		return errors.New("no allowed email address")
	}
}

// subjectEmailDistrusted says why the subject's emailAddress cannot stand
// for the client, or returns "" when it can (see AllowEmail).
func subjectEmailDistrusted(id *Identity) string {
	if len(id.verifiedChain) == 0 {
		return "the identity carries no verified chain"
	}
	for _, c := range id.verifiedChain {
		if len(c.PermittedEmailAddresses) > 0 || len(c.ExcludedEmailAddresses) > 0 {
			return fmt.Sprintf("certificate %s of the chain has email name constraints, which crypto/x509 does not apply to it", shortFP(c))
		}
	}
	return ""
}

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
