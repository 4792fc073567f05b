package httpauth

import (
	"regexp"
	"strings"
	"testing"
)

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// FuzzNormalizeFingerprint: whatever an operator pastes, the result is
// an error or 64 lowercase hex digits, and normalising that again gives
// it back.
func FuzzNormalizeFingerprint(f *testing.F) {
	for _, seed := range []string{
		"10:BF:" + strings.Repeat("AB:", 29) + "CD",
		"sha256 Fingerprint=" + strings.Repeat("0A:", 31) + "0B",
		"SHA256 Fingerprint=" + strings.Repeat("ff", 32),
		"SHA1 Fingerprint=" + strings.Repeat("aa:", 19) + "bb",
		"SHA256:" + strings.Repeat("12", 32),
		strings.Repeat("a", 40), "", "=", "sha256 Fingerprint=",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := normalizeFingerprint(in)
		if err != nil {
			return
		}
		if !sha256Hex.MatchString(out) {
			t.Fatalf("normalizeFingerprint(%q) = %q", in, out)
		}
		if again, err := normalizeFingerprint(out); err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q, %v", out, again, err)
		}
	})
}

// FuzzParseDenyList: a deny-list file either parses or is refused with an
// error naming the file, never a panic.
func FuzzParseDenyList(f *testing.F) {
	for _, seed := range []string{
		"# revoked\nsha256:" + strings.Repeat("ab", 32) + "\n",
		"serial:" + strings.Repeat("0", 64) + ":01\n",
		"\n\n  \n", "bogus line", "sha256 Fingerprint=" + strings.Repeat("AB:", 31) + "CD\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseDenyList("deny.txt", data)
		if err != nil {
			if !strings.Contains(err.Error(), "deny.txt") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if d == nil {
			t.Fatal("nil list without an error")
		}
	})
}
