package httpauth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests at the exact edges of the caps and character classes, where an
// off-by-one would go unnoticed by the situation tests.

func TestIsTokenEdges(t *testing.T) {
	for _, c := range []string{"a", "z", "A", "Z", "0", "9", "-", "_", "By", "Cert", "x-Y_1"} {
		assert.True(t, isToken(c), "%q", c)
	}
	for _, c := range []string{"", "@", "[", "`", "{", "/", ":", "é", " a", "a b", "\x00"} {
		assert.False(t, isToken(c), "%q", c)
	}
}

func TestTruncateEdges(t *testing.T) {
	s32 := strings.Repeat("x", 32)
	assert.Equal(t, s32, truncate(s32))
	assert.Equal(t, s32+"…", truncate(s32+"y"))
}

func TestSanitizeEdges(t *testing.T) {
	assert.Equal(t, " a", sanitize("\x1f a"), "0x20 is kept, 0x1f removed")
	assert.Equal(t, "~", sanitize("~\x7f"), "DEL removed")
	assert.Equal(t, "\u00a0", sanitize("\u009f\u00a0"), "C1 removed, NBSP kept")
	exact := strings.Repeat("a", MaxPublicText)
	assert.Equal(t, exact, sanitize(exact))
	assert.Equal(t, exact, sanitize(exact+"b"))
	// A two-byte rune that would end at MaxPublicText+1 is dropped whole.
	assert.Equal(t, strings.Repeat("a", MaxPublicText-1), sanitize(strings.Repeat("a", MaxPublicText-1)+"é"))
}

func TestPEMBlockCountCap(t *testing.T) {
	limit := MaxHeaderBytes / 256
	_, err := decodePEMBlocks(strings.Repeat(pemBegin, limit))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "PEM blocks", "at the cap the blocks are parsed")
	_, err = decodePEMBlocks(strings.Repeat(pemBegin, limit+1))
	assert.ErrorContains(t, err, "PEM blocks")
}

func TestXFCCElementCap(t *testing.T) {
	elems, err := parseXFCC(strings.TrimSuffix(strings.Repeat("H=1,", MaxXFCCElements), ","))
	require.NoError(t, err)
	assert.Len(t, elems, MaxXFCCElements)
	_, err = parseXFCC(strings.Repeat("H=1,", MaxXFCCElements) + "H=1")
	assert.ErrorContains(t, err, "XFCC elements")
}

func TestXFCCQuoting(t *testing.T) {
	tests := []struct {
		in   string
		want []xfccPair // of the only element
		bad  bool
	}{
		{in: `A="x\"y"`, want: []xfccPair{{"A", `x"y`}}},
		{in: `A="x\\"`, want: []xfccPair{{"A", `x\`}}},
		{in: `A="x\,y";B=1`, want: []xfccPair{{"A", `x\,y`}, {"B", "1"}}},
		{in: `A="a;b,c=d" ;B=u=v`, want: []xfccPair{{"A", "a;b,c=d"}, {"B", "u=v"}}},
		{in: ` A = 1 `, want: []xfccPair{{"A", "1"}}},
		{in: `A="x\`, bad: true},
		{in: `A="x`, bad: true},
		{in: `A="x"y`, bad: true},
		{in: `A`, bad: true},
		{in: `A=1;`, bad: true},
		{in: `A=1,`, bad: true},
	}
	for _, tt := range tests {
		elems, err := parseXFCC(tt.in)
		if tt.bad {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Len(t, elems, 1, tt.in)
		assert.Equal(t, tt.want, elems[0], tt.in)
	}
}

func TestValidHeaderNameEdges(t *testing.T) {
	for _, n := range []string{"a", "z", "A", "Z", "0", "9", "X-SSL-Client-Cert", "!#$%&'*+-.^_`|~"} {
		assert.True(t, validHeaderName(n), "%q", n)
	}
	for _, n := range []string{"", "@", "[", "x{", "{", "/", ":", "X-Cert:", "X Cert", "é", "\x7f"} {
		assert.False(t, validHeaderName(n), "%q", n)
	}
}

func TestCacheKeyCapIsInclusive(t *testing.T) {
	assert.True(t, cacheKey{value: strings.Repeat("a", maxCacheKeyBytes-1), chain: "b"}.cacheable())
	assert.False(t, cacheKey{value: strings.Repeat("a", maxCacheKeyBytes), chain: "b"}.cacheable())
	assert.False(t, cacheKey{value: "a", chain: strings.Repeat("b", maxCacheKeyBytes)}.cacheable())
}
