package httpauth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The ...Edges and ...Cap tests of the _internal_test.go files sit at the
// exact edges of the caps and character classes, where an off-by-one would
// go unnoticed by the situation tests.

func TestIsTokenEdges(t *testing.T) {
	for _, c := range []string{"a", "z", "A", "Z", "0", "9", "-", "_", "By", "Cert", "x-Y_1"} {
		assert.True(t, isToken(c), "%q", c)
	}
	for _, c := range []string{"", "@", "[", "`", "{", "/", ":", "é", " a", "a b", "\x00"} {
		assert.False(t, isToken(c), "%q", c)
	}
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

// FuzzXFCCParse checks the grammar: element and pair counts stay bounded and
// keys are tokens, whatever the input.
func FuzzXFCCParse(f *testing.F) {
	for _, s := range seedValues(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		elems, err := parseXFCC(v)
		if err != nil {
			if elems != nil {
				t.Fatal("elements returned with an error")
			}
			return
		}
		if len(elems) > MaxXFCCElements {
			t.Fatalf("%d elements", len(elems))
		}
		for _, e := range elems {
			for _, p := range e {
				if !isToken(p.key) {
					t.Fatalf("key %q is not a token", p.key)
				}
			}
		}
	})
}

// FuzzXFCCHash checks what an XFCC Hash promises: whenever a value decodes,
// a Hash in the chosen element is the SHA-256 of the leaf returned, however
// the pairs are spelled, quoted or ordered. FuzzXFCC (decode_internal_test.go) covers
// the general decoder properties; its corpus in testdata/fuzz/FuzzXFCC adds
// Envoy-shaped values with a Hash.
func FuzzXFCCHash(f *testing.F) {
	pemText, err := os.ReadFile(filepath.Join("..", "testdata", "proxies", "leaf.pem"))
	if err != nil {
		f.Fatal(err)
	}
	ders, err := decodePEMBlocks(string(pemText))
	if err != nil {
		f.Fatal(err)
	}
	sum := sha256.Sum256(ders[0])
	h := hex.EncodeToString(sum[:])
	cert := `Cert="` + url.PathEscape(string(pemText)) + `"`
	for _, s := range []string{
		"Hash=" + h + ";" + cert,
		"Hash=" + strings.ToUpper(h) + ";" + cert,
		`Hash="` + h + `";Chain="` + url.PathEscape(string(pemText)) + `"`,
		"Hash=" + h[:63] + "0;" + cert,
		"Hash=;" + cert,
		"Hash=" + h + ";hash=" + h + ";" + cert,
		"Hash=1;" + cert + ",Hash=" + h + ";" + cert,
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, v string, n uint8) {
		hops := 1 + int(n%2)
		ders, err := decodeXFCC(v, hops)
		if err != nil {
			return
		}
		elems, err := parseXFCC(v)
		if err != nil {
			t.Fatalf("decoded, but does not parse: %v", err)
		}
		leafSum := sha256.Sum256(ders[0])
		for _, p := range elems[len(elems)-hops] {
			if strings.EqualFold(p.key, "Hash") && !strings.EqualFold(p.value, hex.EncodeToString(leafSum[:])) {
				t.Fatalf("Hash %q accepted for a leaf whose SHA-256 is %x", truncate(p.value), leafSum)
			}
		}
	})
}
