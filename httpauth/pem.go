package httpauth

import (
	"fmt"
	"strings"
)

const (
	pemBegin = "-----BEGIN CERTIFICATE-----"
	pemEnd   = "-----END CERTIFICATE-----"
)

// decodePEMBlocks decodes one or more CERTIFICATE blocks, leaf first. Unlike
// encoding/pem it accepts armor and base64 separated by spaces or tabs
// instead of line breaks, which is what reaches a backend when a proxy or
// Go's header handling folds newlines. Anything between or around blocks
// other than whitespace is refused.
func decodePEMBlocks(s string) ([][]byte, error) {
	if n := strings.Count(s, pemBegin); n > MaxHeaderBytes/256 {
		return nil, fmt.Errorf("%w: %d PEM blocks", ErrHeaderMalformed, n)
	}
	var out [][]byte
	rest := strings.TrimSpace(s)
	for rest != "" {
		after, ok := strings.CutPrefix(rest, pemBegin)
		if !ok {
			return nil, fmt.Errorf("%w: expected %q at PEM block %d", ErrHeaderMalformed, pemBegin, len(out))
		}
		body, tail, ok := strings.Cut(after, pemEnd)
		if !ok {
			return nil, fmt.Errorf("%w: PEM block %d has no END line", ErrHeaderMalformed, len(out))
		}
		der, err := strictBase64.DecodeString(stripSpace(body))
		if err != nil || len(der) == 0 {
			return nil, fmt.Errorf("%w: bad base64 in PEM block %d", ErrHeaderMalformed, len(out))
		}
		out = append(out, der)
		rest = strings.TrimSpace(tail)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no PEM block", ErrHeaderMalformed)
	}
	return out, nil
}

// stripSpace removes the whitespace PEM bodies are wrapped with.
func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}
