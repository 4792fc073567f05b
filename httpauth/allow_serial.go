package httpauth

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// AllowSerial allows leaves whose serial number is listed. Entries are hex
// in any case, with or without colons or a 0x prefix; leading zeros do not
// matter (openssl prints "0A:1B", Go's big.Int "a1b").
//
// A serial is unique only per issuer (RFC 5280, section 4.1.2.2). When the
// roots hold more than one CA, or a CA with intermediates, another CA may
// issue a listed serial to someone else, and AllowSerial admits that
// certificate too. Use [AllowIssuerSerial] then.
func AllowSerial(serials ...string) Authorizer {
	set, bad := serialSet("AllowSerial", serials)
	if bad != nil {
		return bad
	}
	return func(_ context.Context, id *Identity) error {
		if serialListed(set, id.Certificate) {
			return nil
		}
		return fmt.Errorf("serial %s not allowed", serialHex(id.Certificate))
	}
}

// AllowIssuerSerial allows leaves issued by issuer whose serial number is
// listed, in the forms [AllowSerial] accepts. Issuer and serial together
// name one certificate (the IssuerSerial of X.509), where a serial alone
// does not.
//
// The issuer is the leaf's parent in the chain the [Authenticator]
// verified. It matches when its subject and public key equal issuer's: a
// cross-signed or re-issued certificate of the same CA (same name, same
// key) counts as the same issuer, a CA that copies the name with another
// key does not, and after a CA changes its key, pass its new certificate
// too. Identities
// without a verified chain (built by hand, or taken unverified with
// [Config.InsecureSkipHeaderVerification]) are refused. For several
// issuers, combine calls with [AnyOf].
func AllowIssuerSerial(issuer *x509.Certificate, serials ...string) Authorizer {
	if issuer == nil {
		return misconfigured("AllowIssuerSerial: issuer is nil")
	}
	if len(issuer.RawSubject) == 0 || len(issuer.RawSubjectPublicKeyInfo) == 0 {
		return misconfigured("AllowIssuerSerial: issuer has no raw subject or public key; pass a certificate from x509.ParseCertificate")
	}
	set, bad := serialSet("AllowIssuerSerial", serials)
	if bad != nil {
		return bad
	}
	subject := bytes.Clone(issuer.RawSubject)
	spki := bytes.Clone(issuer.RawSubjectPublicKeyInfo)
	return func(_ context.Context, id *Identity) error {
		switch len(id.verifiedChain) {
		case 0:
			return errors.New("issuer unknown: the identity carries no verified chain")
		case 1:
			return errors.New("issuer unknown: the certificate is itself a root")
		}
		parent := id.verifiedChain[1]
		if !bytes.Equal(parent.RawSubject, subject) || !bytes.Equal(parent.RawSubjectPublicKeyInfo, spki) {
			return fmt.Errorf("issuer %s is not the configured issuer", shortFP(parent))
		}
		if serialListed(set, id.Certificate) {
			return nil
		}
		return fmt.Errorf("serial %s not allowed for issuer %s", serialHex(id.Certificate), shortFP(parent))
	}
}

// serialSet normalizes serials for lookup by serialListed, or returns the
// misconfigured Authorizer naming the bad entry.
func serialSet(helper string, serials []string) (map[string]bool, Authorizer) {
	if len(serials) == 0 {
		return nil, misconfigured(helper + ": no serials given")
	}
	set := make(map[string]bool, len(serials))
	for i, s := range serials {
		n, ok := normalizeSerial(s)
		if !ok {
			return nil, misconfigured(fmt.Sprintf("%s: entry %d %s is not a hexadecimal serial", helper, i, quoteArg(s)))
		}
		set[n] = true
	}
	return set, nil
}

func serialListed(set map[string]bool, c *x509.Certificate) bool {
	return c.SerialNumber != nil && set[c.SerialNumber.Text(16)]
}

func normalizeSerial(s string) (string, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s = s[2:]
	}
	if s == "" || strings.Trim(strings.ToLower(s), "0123456789abcdef") != "" {
		return "", false
	}
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		return "", false
	}
	return n.Text(16), true
}
