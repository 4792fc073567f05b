package httpauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// MaxXFCCElements caps the elements of an X-Forwarded-Client-Cert header,
// checked while parsing, before any certificate is decoded.
const MaxXFCCElements = 32

// xfccPair is one key=value of an X-Forwarded-Client-Cert element.
type xfccPair struct{ key, value string }

// parseXFCC splits an X-Forwarded-Client-Cert value into elements of pairs
// following Envoy's grammar: elements separated by ',', pairs by ';', a key
// up to the first '=', and values that may be double-quoted with '\"' for a
// quote inside. Separators inside quotes are data, so quoted text (a
// Subject, say) never becomes a key (XFCC-02). Bare values run to the next
// separator and may contain '='.
func parseXFCC(s string) ([][]xfccPair, error) {
	var (
		elems [][]xfccPair
		elem  []xfccPair
	)
	i := 0
	for {
		// key
		j := i
		for j < len(s) && s[j] != '=' && s[j] != ';' && s[j] != ',' {
			j++
		}
		key := strings.TrimSpace(s[i:j])
		if j >= len(s) || s[j] != '=' || !isToken(key) {
			return nil, fmt.Errorf("%w: XFCC pair %q has no key=value form", ErrHeaderMalformed, truncate(key))
		}
		i = j + 1
		// value
		var val string
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					if n := s[i+1]; n == '"' || n == '\\' {
						b.WriteByte(n)
						i += 2
						continue
					}
				}
				if c == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("%w: XFCC value of %s has no closing quote", ErrHeaderMalformed, truncate(key))
			}
			val = b.String()
			// Only whitespace may follow a closing quote before a separator.
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
			if i < len(s) && s[i] != ';' && s[i] != ',' {
				return nil, fmt.Errorf("%w: XFCC text after quoted value of %s", ErrHeaderMalformed, truncate(key))
			}
		} else {
			j = i
			for j < len(s) && s[j] != ';' && s[j] != ',' {
				j++
			}
			val = strings.TrimSpace(s[i:j])
			i = j
		}
		elem = append(elem, xfccPair{key: key, value: val})
		if i >= len(s) || s[i] == ',' {
			elems = append(elems, elem)
			elem = nil
			if len(elems) > MaxXFCCElements {
				return nil, fmt.Errorf("%w: more than %d XFCC elements", ErrHeaderMalformed, MaxXFCCElements)
			}
		}
		if i >= len(s) {
			return elems, nil
		}
		i++ // skip the separator
	}
}

// decodeXFCC picks the element added by the trusted hop (hops from the
// right: the proxy nearest us appends last) and decodes its certificate.
// Cert is the leaf; Chain (leaf first) supplies intermediates, or the leaf
// when Cert is absent. Text-only elements are no identity (XFCC-04). A
// Hash beside them must name that leaf (see checkXFCCHash).
func decodeXFCC(value string, hops int) ([][]byte, error) {
	if _, err := strictBase64.DecodeString(strings.TrimSpace(value)); err == nil || !strings.Contains(value, "=") {
		return nil, fmt.Errorf("%w: value is not XFCC (no key=value pairs); a bare base64 certificate, as Cloud Foundry sends, needs Encoding %q", ErrHeaderMalformed, Base64DER)
	}
	elems, err := parseXFCC(value)
	if err != nil {
		return nil, err
	}
	if len(elems) < hops {
		return nil, fmt.Errorf("%w: XFCC has %d elements, %d trusted hops configured", ErrHeaderMalformed, len(elems), hops)
	}
	var cert, chain, hash string
	var haveCert, haveChain, haveHash bool
	for _, p := range elems[len(elems)-hops] {
		switch {
		case strings.EqualFold(p.key, "Hash"):
			if haveHash {
				return nil, fmt.Errorf("%w: XFCC element has two Hash keys", ErrHeaderMalformed)
			}
			hash, haveHash = p.value, true
		case strings.EqualFold(p.key, "Cert"):
			if haveCert {
				return nil, fmt.Errorf("%w: XFCC element has two Cert keys", ErrHeaderMalformed)
			}
			cert, haveCert = p.value, true
		case strings.EqualFold(p.key, "Chain"):
			if haveChain {
				return nil, fmt.Errorf("%w: XFCC element has two Chain keys", ErrHeaderMalformed)
			}
			chain, haveChain = p.value, true
		}
	}
	if !haveCert && !haveChain {
		return nil, fmt.Errorf("%w: XFCC element has no Cert or Chain (configure the proxy to forward the certificate)", ErrNoCertificate)
	}
	var ders [][]byte
	if haveCert {
		if ders, err = decodeURLPEM(cert); err != nil {
			return nil, err
		}
		if len(ders) != 1 {
			return nil, fmt.Errorf("%w: XFCC Cert holds %d certificates", ErrHeaderMalformed, len(ders))
		}
	}
	if haveChain {
		chainDERs, err := decodeURLPEM(chain)
		if err != nil {
			return nil, err
		}
		if haveCert {
			// Chain repeats the leaf first; a mismatch means the element is
			// inconsistent and neither half can be trusted to name the client.
			if string(chainDERs[0]) != string(ders[0]) {
				return nil, fmt.Errorf("%w: XFCC Chain does not start with Cert", ErrHeaderMalformed)
			}
			chainDERs = chainDERs[1:]
		}
		ders = append(ders, chainDERs...)
	}
	if haveHash {
		from := "Cert"
		if !haveCert {
			from = "the first certificate of Chain"
		}
		if err := checkXFCCHash(hash, ders[0], from); err != nil {
			return nil, err
		}
	}
	return ders, nil
}

// checkXFCCHash checks an element's Hash against the leaf it carries. Envoy
// writes Hash as the lowercase hex SHA-256 of the leaf's DER, the "current
// client certificate", so it is the same certificate as Cert and as the
// first of Chain, which Envoy fills leaf first (PROXY_FORMATS.md §2). A
// Hash that disagrees means the element was not written in one piece by one
// proxy, and then neither half can be trusted to name the client. Hex case
// is not significant.
func checkXFCCHash(hash string, leafDER []byte, from string) error {
	want := sha256.Sum256(leafDER)
	if len(hash) != hex.EncodedLen(len(want)) {
		if hash == "" {
			return fmt.Errorf("%w: XFCC Hash is empty", ErrHeaderMalformed)
		}
		return fmt.Errorf("%w: XFCC Hash has %d characters, not the %d hex digits of a SHA-256", ErrHeaderMalformed, len(hash), hex.EncodedLen(len(want)))
	}
	got, err := hex.DecodeString(hash)
	if err != nil {
		return fmt.Errorf("%w: XFCC Hash is not hexadecimal", ErrHeaderMalformed)
	}
	if !bytes.Equal(got, want[:]) {
		// Both are hex by now, so echoing a prefix cannot inject anything.
		return fmt.Errorf("%w: XFCC Hash %s… does not match %s (sha256:%x)", ErrHeaderMalformed, strings.ToLower(hash[:16]), from, want[:8])
	}
	return nil
}

// isToken reports whether key looks like an XFCC key (By, Hash, Cert, …).
func isToken(key string) bool {
	if key == "" {
		return false
	}
	for _, c := range []byte(key) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
