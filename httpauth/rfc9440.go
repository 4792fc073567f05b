package httpauth

import (
	"fmt"

	"github.com/dunglas/httpsfv"
)

// decodeRFC9440Item decodes a Client-Cert field: one RFC 8941 byte sequence
// holding the leaf's DER (RFC 9440 section 2.2). Parameters are ignored, as
// none are defined.
func decodeRFC9440Item(value string) ([][]byte, error) {
	item, err := httpsfv.UnmarshalItem([]string{value})
	if err != nil {
		return nil, fmt.Errorf("%w: not an RFC 8941 item", ErrHeaderMalformed)
	}
	der, ok := item.Value.([]byte)
	if !ok || len(der) == 0 {
		return nil, fmt.Errorf("%w: RFC 9440 item is not a byte sequence", ErrHeaderMalformed)
	}
	return [][]byte{der}, nil
}

// decodeRFC9440List decodes a Client-Cert-Chain field: a list of byte
// sequences in TLS order (RFC 9440 section 2.3). Inner lists are refused.
func decodeRFC9440List(value string) ([][]byte, error) {
	list, err := httpsfv.UnmarshalList([]string{value})
	if err != nil {
		return nil, fmt.Errorf("%w: not an RFC 8941 list", ErrHeaderMalformed)
	}
	out := make([][]byte, 0, len(list))
	for i, m := range list {
		item, ok := m.(httpsfv.Item)
		if !ok {
			return nil, fmt.Errorf("%w: RFC 9440 chain member %d is not an item", ErrHeaderMalformed, i)
		}
		der, ok := item.Value.([]byte)
		if !ok || len(der) == 0 {
			return nil, fmt.Errorf("%w: RFC 9440 chain member %d is not a byte sequence", ErrHeaderMalformed, i)
		}
		out = append(out, der)
	}
	return out, nil
}
