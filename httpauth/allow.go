package httpauth

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// The Allow helpers build common [Authorizer]s. Each refuses with an error
// that says what did not match (logged, never sent to the client). How a
// helper given unusable arguments is caught at start-up is on [Authorizer].

// AllowCN allows leaves whose subject common name is one of names (exact,
// case-sensitive). A subject with more than one CN attribute is refused
// whatever the names: which of them is the common name depends on who
// reads it (see [Identity.CommonName]).
func AllowCN(names ...string) Authorizer {
	if bad := checkEntries("AllowCN", names); bad != nil {
		return bad
	}
	set := toSet(names, nil)
	return func(_ context.Context, id *Identity) error {
		cn, n := commonNames(id.Certificate.Subject)
		if n > 1 {
			return ambiguousCN("subject", n)
		}
		if n == 1 && set[cn] {
			return nil
		}
		return fmt.Errorf("common name %q not allowed", truncate(cn))
	}
}

// ambiguousCN is the refusal of a name with several CN attributes; what is
// "subject" or "issuer".
func ambiguousCN(what string, n int) error {
	return fmt.Errorf("%s has %d CN attributes; the common name is ambiguous", what, n)
}

// AllowFingerprints allows leaves whose SHA-256 fingerprint is listed. Each
// entry is 64 hex digits in any case, with or without colons, optionally
// behind a "SHA256:" prefix or the whole line openssl prints
// ("sha256 Fingerprint=AA:BB:…" from OpenSSL 3, "SHA256 Fingerprint=…"
// from 1.1), so that what `openssl x509 -noout -fingerprint -sha256`
// printed can be pasted as it is. A SHA-1 fingerprint (openssl's default
// digest before 3.0) is refused by [New] with a message saying so.
func AllowFingerprints(fingerprints ...string) Authorizer {
	if len(fingerprints) == 0 {
		return misconfigured("AllowFingerprints: no fingerprints given")
	}
	set := make(map[string]bool, len(fingerprints))
	for i, f := range fingerprints {
		n, err := normalizeFingerprint(f)
		if err != nil {
			return misconfigured(fmt.Sprintf("AllowFingerprints: entry %d %s %v", i, quoteArg(f), err))
		}
		set[n] = true
	}
	return func(_ context.Context, id *Identity) error {
		if set[id.Fingerprint] {
			return nil
		}
		return fmt.Errorf("fingerprint %s not allowed", id.Fingerprint)
	}
}

// normalizeFingerprint returns f as 64 lowercase hex digits, or an error
// that completes the sentence "entry 2 "…" ".
func normalizeFingerprint(f string) (string, error) {
	f = strings.TrimSpace(f)
	if label, value, ok := strings.Cut(f, "="); ok {
		// openssl x509 -fingerprint: "<digest> Fingerprint=<hex with colons>".
		digest, word, _ := strings.Cut(strings.TrimSpace(label), " ")
		switch {
		case !strings.EqualFold(strings.TrimSpace(word), "fingerprint"):
			return "", errors.New(`has an "=" but not openssl's "sha256 Fingerprint=" in front of it`)
		case !strings.EqualFold(digest, "sha256"):
			return "", fmt.Errorf("is a %s fingerprint, and only SHA-256 ones are compared: print it with openssl x509 -noout -fingerprint -sha256", truncate(digest))
		}
		f = strings.TrimSpace(value)
	} else if len(f) >= 7 && strings.EqualFold(f[:7], "sha256:") {
		f = f[7:]
	}
	f = strings.ToLower(strings.ReplaceAll(f, ":", ""))
	isHex := strings.Trim(f, "0123456789abcdef") == ""
	switch {
	case isHex && len(f) == 40:
		return "", errors.New("has 40 hex digits, a SHA-1 fingerprint, and only SHA-256 ones are compared: print it with openssl x509 -noout -fingerprint -sha256")
	case !isHex || len(f) != 64:
		return "", errors.New("is not a SHA-256 fingerprint: give 64 hex digits, with or without colons, a SHA256: prefix or openssl's sha256 Fingerprint= line")
	}
	return f, nil
}

// AllowIssuer allows leaves whose issuer has every attribute set in name:
// each given value must be among the issuer's values for that attribute
// (so a multi-valued O or OU matches when it holds all given values).
// Attributes left empty in name are not checked; an empty name is refused.
// An issuer name with more than one CN attribute is refused whatever name
// holds, as [AllowCN] refuses such a subject, and so is a name asking for
// more than one CN.
func AllowIssuer(name pkix.Name) Authorizer {
	return allowName("AllowIssuer", "issuer", name, func(c *x509.Certificate) pkix.Name { return c.Issuer })
}

// AllowSubject is [AllowIssuer] for the leaf's subject: it too refuses a
// subject with more than one CN attribute.
func AllowSubject(name pkix.Name) Authorizer {
	return allowName("AllowSubject", "subject", name, func(c *x509.Certificate) pkix.Name { return c.Subject })
}

func allowName(helper, what string, want pkix.Name, get func(*x509.Certificate) pkix.Name) Authorizer {
	var required []pkix.AttributeTypeAndValue
	for _, rdn := range want.ToRDNSequence() {
		required = append(required, rdn...)
	}
	if len(required) == 0 {
		return misconfigured(helper + ": empty name would match everything; set at least one attribute")
	}
	if _, n := commonNames(pkix.Name{Names: required}); n > 1 {
		return misconfigured(fmt.Sprintf("%s: name asks for %d CN attributes; a certificate with several is refused as ambiguous, so ask for one", helper, n))
	}
	return func(_ context.Context, id *Identity) error {
		name := get(id.Certificate)
		if _, n := commonNames(name); n > 1 {
			return ambiguousCN(what, n)
		}
		have := name.Names
		for _, req := range required {
			if !slices.ContainsFunc(have, func(h pkix.AttributeTypeAndValue) bool {
				return h.Type.Equal(req.Type) && h.Value == req.Value
			}) {
				return fmt.Errorf("%s lacks %s=%q", what, attrName(req.Type), truncate(fmt.Sprint(req.Value)))
			}
		}
		return nil
	}
}

// AllowOU allows leaves with at least one subject organizational unit in ous.
func AllowOU(ous ...string) Authorizer {
	return allowAny("AllowOU", "organizational unit", ous, func(c *x509.Certificate) []string { return c.Subject.OrganizationalUnit })
}

// AllowOrganization allows leaves with at least one subject organization in orgs.
func AllowOrganization(orgs ...string) Authorizer {
	return allowAny("AllowOrganization", "organization", orgs, func(c *x509.Certificate) []string { return c.Subject.Organization })
}

func allowAny(helper, what string, allowed []string, get func(*x509.Certificate) []string) Authorizer {
	if bad := checkEntries(helper, allowed); bad != nil {
		return bad
	}
	set := toSet(allowed, nil)
	return func(_ context.Context, id *Identity) error {
		if slices.ContainsFunc(get(id.Certificate), func(v string) bool { return set[v] }) {
			return nil
		}
		return fmt.Errorf("no allowed %s", what)
	}
}

func attrName(oid asn1.ObjectIdentifier) string {
	names := map[string]string{
		"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
		"2.5.4.11": "OU", "2.5.4.5": "SERIALNUMBER", "2.5.4.9": "STREET", "2.5.4.17": "POSTALCODE",
		"1.2.840.113549.1.9.1": "emailAddress",
	}
	if n, ok := names[oid.String()]; ok {
		return n
	}
	return oid.String()
}

// checkEntries refuses an empty list and empty entries: AllowCN("") would
// allow every certificate without a common name, a likely outcome of
// splitting an unset environment variable.
func checkEntries(helper string, entries []string) Authorizer {
	if len(entries) == 0 {
		return misconfigured(helper + ": no values given")
	}
	for i, e := range entries {
		if strings.TrimSpace(e) == "" {
			return misconfigured(fmt.Sprintf("%s: entry %d %s is empty", helper, i, quoteArg(e)))
		}
	}
	return nil
}

// quoteArg quotes a helper's argument for a configuration error. The
// values come from the operator's configuration, not from a client, so
// they may be shown; they are still cut to a readable length.
func quoteArg(s string) string {
	const max = 120 // room for openssl's whole fingerprint line
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// misuse is the reason of a helper given unusable arguments. Its text,
// "httpauth.AllowCN: no values given", names the helper; combinators nest
// it ("httpauth.AllOf: authorizer 1: httpauth.AllowCN: …").
type misuse struct{ msg string }

func (m *misuse) Error() string { return ErrAuthorizer.Error() + ": " + m.msg }
func (m *misuse) Unwrap() error { return ErrAuthorizer }

// badHelper is the Authorizer of a helper given unusable arguments. It
// fails closed instead of panicking, and is a method value so that New and
// the combinators can recognise it (see helperMisuse) without calling any
// other Authorizer.
type badHelper struct{ err *Error }

func (b *badHelper) authorize(context.Context, *Identity) error { return b.err }

func misconfigured(msg string) Authorizer {
	b := &badHelper{err: &Error{Status: http.StatusInternalServerError, Reason: &misuse{msg: "httpauth." + msg}}}
	return b.authorize
}

// helperMisuse returns what is wrong with az when a helper built it from
// unusable arguments, or "" for any other Authorizer.
//
// Authorizer is a func type, so the only way to know where one came from
// is its code: every method value of badHelper.authorize shares one
// wrapper, whose address reflect reports. Only an Authorizer with that
// address is called, with no identity, and it answers with its fixed
// error; a user's Authorizer is never called here.
func helperMisuse(az Authorizer) string {
	if az == nil || reflect.ValueOf(az).Pointer() != reflect.ValueOf(misconfigured("")).Pointer() {
		return ""
	}
	var m *misuse
	if errors.As(az(context.Background(), nil), &m) {
		return m.msg
	}
	return ""
}

func toSet(values []string, norm func(string) string) map[string]bool {
	set := make(map[string]bool, len(values))
	for _, v := range values {
		if norm != nil {
			v = norm(v)
		}
		set[v] = true
	}
	return set
}
