package httpauth

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPEMBlockCountCap(t *testing.T) {
	limit := MaxHeaderBytes / 256
	_, err := decodePEMBlocks(strings.Repeat(pemBegin, limit))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "PEM blocks", "at the cap the blocks are parsed")
	_, err = decodePEMBlocks(strings.Repeat(pemBegin, limit+1))
	assert.ErrorContains(t, err, "PEM blocks")
}

// FuzzPEMRoundTrip checks that what decodes re-encodes to the same DER: the
// decoder neither drops nor invents bytes.
func FuzzPEMRoundTrip(f *testing.F) {
	for _, s := range seedValues(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ders, err := decodePEMBlocks(v)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, d := range ders {
			b.WriteString(pemBegin + "\n" + base64.StdEncoding.EncodeToString(d) + "\n" + pemEnd + "\n")
		}
		again, err := decodePEMBlocks(b.String())
		if err != nil || len(again) != len(ders) {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
		for i := range ders {
			if !bytes.Equal(ders[i], again[i]) {
				t.Fatalf("block %d changed", i)
			}
		}
	})
}
