package httpauth

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/testpki"
)

// seedValues returns real header values: the captured proxy headers in
// testdata/proxies and freshly encoded certificates of every shape.
func seedValues(tb testing.TB) []string {
	tb.Helper()
	var seeds []string
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "proxies", "*.txt"))
	files = append(files, filepath.Join("..", "testdata", "rfc9440", "headers.txt"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if _, v, ok := strings.Cut(sc.Text(), ": "); ok {
				seeds = append(seeds, v)
			}
		}
	}
	leaf, err := testpki.SelfSigned(testpki.WithCN("seed"))
	if err != nil {
		tb.Fatal(err)
	}
	p := string(leaf.PEM())
	b := base64.StdEncoding.EncodeToString(leaf.Cert.Raw)
	seeds = append(seeds,
		url.PathEscape(p), p, strings.ReplaceAll(p, "\n", " "), b, ":"+b+":", ":"+b+":, :"+b+":",
		b+","+b, `Hash=1;Cert="`+url.PathEscape(p)+`";Subject="CN=\"x\";y"`, `By=a,Cert="`+url.PathEscape(p)+`"`,
		"%zz", "%4", "%", "(null)", "", `"`, `a="\`, ":::", "-----BEGIN CERTIFICATE-----",
		base64.StdEncoding.EncodeToString(leaf.Cert.Raw[:40]),
	)
	return seeds
}

// checkDecode is the property every decoder must keep: no panic (the fuzzer
// catches that), an error comes with no certificates and is one of our
// reasons, and success yields non-empty DER.
func checkDecode(t *testing.T, ders [][]byte, err error) {
	if err != nil {
		if ders != nil {
			t.Fatalf("error %v returned with %d certificates", err, len(ders))
		}
		if !errors.Is(err, ErrHeaderMalformed) && !errors.Is(err, ErrNoCertificate) {
			t.Fatalf("error is not a header reason: %v", err)
		}
		return
	}
	for i, d := range ders {
		if len(d) == 0 {
			t.Fatalf("certificate %d is empty", i)
		}
	}
}

func fuzzEncoding(f *testing.F, enc Encoding, chain bool) {
	for _, s := range seedValues(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		var (
			ders [][]byte
			err  error
		)
		if chain {
			ders, err = enc.decodeChain(v)
			if err == nil && ders == nil {
				return // absent chain
			}
		} else {
			ders, err = enc.decodeLeaf(v, 1)
		}
		checkDecode(t, ders, err)
	})
}

func FuzzURLPEM(f *testing.F) { fuzzEncoding(f, URLPEM, false) }

func FuzzXFCC(f *testing.F) { fuzzEncoding(f, XFCC, false) }

func FuzzBase64DER(f *testing.F) { fuzzEncoding(f, Base64DER, false) }

func FuzzBase64DERList(f *testing.F) { fuzzEncoding(f, Base64DERList, false) }

func FuzzRFC9440(f *testing.F) { fuzzEncoding(f, RFC9440, false) }

func FuzzRFC9440Chain(f *testing.F) { fuzzEncoding(f, RFC9440, true) }

func FuzzPEM(f *testing.F) { fuzzEncoding(f, PEM, false) }

// FuzzDER feeds raw bytes through the Base64DER path end to end, as a
// trusted proxy would forward them, and checks the authenticator refuses
// (never panics on) anything that is not the one valid certificate.
func FuzzDER(f *testing.F) {
	pki, err := testpki.NewSet()
	if err != nil {
		f.Fatal(err)
	}
	raw := pki.Alice.Cert.Raw
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Add(append(bytes.Clone(raw), raw...))
	f.Add([]byte{0x30, 0x82, 0xff, 0xff})
	a, err := New(Config{
		Source: Source{Preset: PresetCaddy, TrustedProxies: mustPrefixes("127.0.0.1/32")},
		Roots:  pki.Intermediate.Pool(),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		r := newHeaderRequest("X-Client-Cert", base64.StdEncoding.EncodeToString(der))
		id, err := a.Authenticate(r)
		if err == nil {
			if !bytes.Equal(id.Certificate.Raw, raw) && !isCertPrefix(der, raw) {
				t.Fatalf("accepted a certificate that is not alice's")
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.ResponseStatus() != 401 || id != nil {
			t.Fatalf("refusal is not a 401 without identity: %v", err)
		}
	})
}

// isCertPrefix: concatenated DER whose first certificate is raw is alice
// with extra (ignored or failing) intermediates.
func isCertPrefix(der, raw []byte) bool {
	certs, err := x509.ParseCertificates(der)
	return err == nil && len(certs) > 0 && bytes.Equal(certs[0].Raw, raw)
}

func mustPrefixes(ps ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

func newHeaderRequest(name, value string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:1234"
	r.Header.Set(name, value)
	return r
}
