package httpauth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzXFCCHash checks what an XFCC Hash promises: whenever a value decodes,
// a Hash in the chosen element is the SHA-256 of the leaf returned, however
// the pairs are spelled, quoted or ordered. FuzzXFCC (fuzz_test.go) covers
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
