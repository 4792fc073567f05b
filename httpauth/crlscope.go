package httpauth

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The scope of a CRL (RFC 5280, sections 5.2.5 and 6.3.3): which
// certificates of its issuer it speaks for, and which CRLs this package
// cannot apply at all. CRLFiles and CRLDistributionPoints share it.

var (
	oidIssuingDistributionPoint = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidDeltaCRLIndicator        = asn1.ObjectIdentifier{2, 5, 29, 27}
)

// crlScope is what a CRL's issuing distribution point extension (RFC
// 5280, section 5.2.5) says it covers; the zero value covers everything.
type crlScope struct {
	urls   []string // the distribution point's URIs; nil: not named
	onlyCA bool     // only CA certificates
	onlyEE bool     // only end-entity certificates
}

// crlScopeOf reads l's scope and refuses a CRL that is not a complete CRL
// of its issuer's certificates as far as its scope goes: a delta CRL
// (section 5.2.4), an indirect CRL, one partitioned by reason, one for
// attribute certificates, or one with a critical extension or entry
// extension this package does not know (section 5.2, 5.3).
func crlScopeOf(l *x509.RevocationList) (crlScope, error) {
	var scope crlScope
	for _, ext := range l.Extensions {
		switch {
		case ext.Id.Equal(oidDeltaCRLIndicator):
			return scope, errors.New("a delta CRL, which needs its base CRL")
		case ext.Id.Equal(oidIssuingDistributionPoint):
			var err error
			if scope, err = parseIDP(ext.Value); err != nil {
				return scope, fmt.Errorf("issuing distribution point: %w", err)
			}
		case ext.Critical:
			return scope, fmt.Errorf("unsupported critical extension %s", ext.Id)
		}
	}
	for _, r := range l.RevokedCertificateEntries {
		for _, ext := range r.Extensions {
			// certificateIssuer, the one critical entry extension of RFC
			// 5280, belongs to indirect CRLs.
			if ext.Critical {
				return scope, fmt.Errorf("unsupported critical extension %s on the entry of serial %s", ext.Id, r.SerialNumber.Text(16))
			}
		}
	}
	return scope, nil
}

// parseIDP reads an IssuingDistributionPoint:
//
//	SEQUENCE {
//	  distributionPoint          [0] DistributionPointName OPTIONAL,
//	  onlyContainsUserCerts      [1] IMPLICIT BOOLEAN DEFAULT FALSE,
//	  onlyContainsCACerts        [2] IMPLICIT BOOLEAN DEFAULT FALSE,
//	  onlySomeReasons            [3] IMPLICIT ReasonFlags OPTIONAL,
//	  indirectCRL                [4] IMPLICIT BOOLEAN DEFAULT FALSE,
//	  onlyContainsAttributeCerts [5] IMPLICIT BOOLEAN DEFAULT FALSE }
//
//	DistributionPointName ::= CHOICE {
//	  fullName                [0] IMPLICIT GeneralNames,
//	  nameRelativeToCRLIssuer [1] IMPLICIT RelativeDistinguishedName }
func parseIDP(der []byte) (crlScope, error) {
	var scope crlScope
	in := cryptobyte.String(der)
	var idp cryptobyte.String
	if !in.ReadASN1(&idp, cbasn1.SEQUENCE) || !in.Empty() {
		return scope, errors.New("malformed")
	}
	var dpName cryptobyte.String
	var hasDP bool
	if !idp.ReadOptionalASN1(&dpName, &hasDP, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return scope, errors.New("malformed distribution point")
	}
	if hasDP {
		var names cryptobyte.String
		if !dpName.ReadASN1(&names, cbasn1.Tag(0).Constructed().ContextSpecific()) || !dpName.Empty() {
			return scope, errors.New("distribution point not named by URL")
		}
		scope.urls = []string{}
		for !names.Empty() {
			var name cryptobyte.String
			var tag cbasn1.Tag
			if !names.ReadAnyASN1(&name, &tag) {
				return scope, errors.New("malformed distribution point name")
			}
			if tag == cbasn1.Tag(6).ContextSpecific() { // uniformResourceIdentifier
				scope.urls = append(scope.urls, string(name))
			}
		}
	}
	var indirect, attrs bool
	var hasReasons bool
	var reasons cryptobyte.String
	if !readImplicitBool(&idp, 1, &scope.onlyEE) ||
		!readImplicitBool(&idp, 2, &scope.onlyCA) ||
		!idp.ReadOptionalASN1(&reasons, &hasReasons, cbasn1.Tag(3).ContextSpecific()) ||
		!readImplicitBool(&idp, 4, &indirect) ||
		!readImplicitBool(&idp, 5, &attrs) ||
		!idp.Empty() {
		return scope, errors.New("malformed")
	}
	switch {
	case hasReasons:
		return scope, errors.New("partitioned by reason, unsupported")
	case indirect:
		return scope, errors.New("an indirect CRL, unsupported")
	case attrs:
		return scope, errors.New("for attribute certificates only")
	case scope.onlyCA && scope.onlyEE:
		return scope, errors.New("for CA and end-entity certificates only, which is nothing")
	}
	return scope, nil
}

// readImplicitBool reads an optional [tag] IMPLICIT BOOLEAN, false when
// absent.
func readImplicitBool(s *cryptobyte.String, tag uint8, out *bool) bool {
	var v cryptobyte.String
	var present bool
	if !s.ReadOptionalASN1(&v, &present, cbasn1.Tag(tag).ContextSpecific()) {
		return false
	}
	if !present {
		*out = false
		return true
	}
	if len(v) != 1 || v[0] != 0 && v[0] != 0xff {
		return false
	}
	*out = v[0] == 0xff
	return true
}

// covers tells whether a CRL of this scope speaks for cert, which was
// fetched from one of cert's distribution points (RFC 5280, section
// 6.3.3 b).
func (s crlScope) covers(cert *x509.Certificate) error {
	if s.urls != nil && !slices.ContainsFunc(cert.CRLDistributionPoints, func(u string) bool { return slices.Contains(s.urls, u) }) {
		return errors.New("its issuing distribution point names none of the certificate's")
	}
	isCA := cert.BasicConstraintsValid && cert.IsCA
	if s.onlyCA && !isCA {
		return errors.New("it holds CA certificates only")
	}
	if s.onlyEE && isCA {
		return errors.New("it holds end-entity certificates only")
	}
	return nil
}
