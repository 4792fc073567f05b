package httpauth_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
)

// BenchmarkAuthenticateTLSVerified is the common TLS case: the listener
// verified the chain, the library re-checks validity and usage.
func BenchmarkAuthenticateTLSVerified(b *testing.B) {
	pki := testpki.MustSet(b)
	a := mustNew(b, httpauth.Config{Authorize: httpauth.AllowCN("alice")})
	r := tlsRequest(pki.Alice)
	r.TLS.VerifiedChains = [][]*x509.Certificate{append([]*x509.Certificate{pki.Alice.Cert}, pki.Alice.Chain...)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateTLSRequested: RequestClientCert, the library
// verifies the presented chain: every time (uncached), or once per distinct
// certificate (cached, the default).
func BenchmarkAuthenticateTLSRequested(b *testing.B) {
	pki := testpki.MustSet(b)
	for _, c := range []struct {
		name string
		size int
	}{{"uncached", -1}, {"cached", 0}} {
		b.Run(c.name, func(b *testing.B) {
			a := mustNew(b, httpauth.Config{Roots: pki.Root.Pool(), CacheSize: c.size})
			r := tlsRequest(pki.Alice)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type benchCase struct {
	name, preset, header string
	value                string
	floor                func(b *testing.B) (*x509.Certificate, []*x509.Certificate) // the standard-library minimum for the same value
}

func (c benchCase) request(pki *testpki.Set) *http.Request {
	r := headerRequest(proxyAddr, [2]string{c.header, c.value})
	if c.preset == httpauth.PresetRFC9440 {
		r.Header.Set("Client-Cert-Chain", sfBytes(pki.Intermediate.Cert))
	}
	return r
}

func headerBenchCases(pki *testpki.Set) []benchCase {
	chainPEM := pki.Alice.ChainPEM()
	pemDecode := func(b *testing.B, text []byte) (*x509.Certificate, []*x509.Certificate) {
		var certs []*x509.Certificate
		for {
			var blk *pem.Block
			if blk, text = pem.Decode(text); blk == nil {
				break
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				b.Fatal(err)
			}
			certs = append(certs, c)
		}
		return certs[0], certs[1:]
	}
	escaped := nginxEscape(chainPEM)
	der := base64.StdEncoding.EncodeToString(append(append([]byte{}, pki.Alice.Cert.Raw...), pki.Intermediate.Cert.Raw...))
	xfcc := `Hash=` + xfccHash(pki.Alice.Cert) + `;Chain="` + escaped + `";Subject="CN=alice"`
	sf, sfChain := sfBytes(pki.Alice.Cert), sfBytes(pki.Intermediate.Cert)
	return []benchCase{
		{"url-pem", httpauth.PresetAWSALB, "X-Amzn-Mtls-Clientcert", escaped, func(b *testing.B) (*x509.Certificate, []*x509.Certificate) {
			text, err := url.PathUnescape(escaped)
			if err != nil {
				b.Fatal(err)
			}
			return pemDecode(b, []byte(text))
		}},
		{"xfcc", httpauth.PresetEnvoy, "X-Forwarded-Client-Cert", xfcc, func(b *testing.B) (*x509.Certificate, []*x509.Certificate) {
			_, after, _ := strings.Cut(xfcc, `Chain="`)
			text, err := url.PathUnescape(after[:strings.IndexByte(after, '"')])
			if err != nil {
				b.Fatal(err)
			}
			return pemDecode(b, []byte(text))
		}},
		{"base64-der", httpauth.PresetCloudflare, "Cf-Client-Cert-Der-Base64", der, func(b *testing.B) (*x509.Certificate, []*x509.Certificate) {
			raw, err := base64.StdEncoding.DecodeString(der)
			if err != nil {
				b.Fatal(err)
			}
			certs, err := x509.ParseCertificates(raw)
			if err != nil {
				b.Fatal(err)
			}
			return certs[0], certs[1:]
		}},
		{"pem-folded", "", "X-Cert", folded(chainPEM), func(b *testing.B) (*x509.Certificate, []*x509.Certificate) {
			return pemDecode(b, chainPEM) // the floor gets real newlines for free
		}},
		{"rfc9440", httpauth.PresetRFC9440, "Client-Cert", sf, func(b *testing.B) (*x509.Certificate, []*x509.Certificate) {
			var certs []*x509.Certificate
			for _, v := range []string{sf, sfChain} {
				raw, err := base64.StdEncoding.DecodeString(v[1 : len(v)-1])
				if err != nil {
					b.Fatal(err)
				}
				c, err := x509.ParseCertificate(raw)
				if err != nil {
					b.Fatal(err)
				}
				certs = append(certs, c)
			}
			return certs[0], certs[1:]
		}},
	}
}

func headerBenchAuth(b *testing.B, pki *testpki.Set, c benchCase, cacheSize int) *httpauth.Authenticator {
	src := httpauth.Source{Preset: c.preset, TrustedProxies: loopback}
	if c.preset == "" {
		src = httpauth.Source{Header: c.header, Encoding: httpauth.PEM, TrustedProxies: loopback}
	}
	return mustNew(b, httpauth.Config{Source: src, Roots: pki.Root.Pool(), CacheSize: cacheSize})
}

// BenchmarkHeader compares, in one run, for each encoding: the standard
// library floor (decode + x509.ParseCertificate + Verify with client-auth
// usage), the library without cache, and a cache hit.
func BenchmarkHeader(b *testing.B) {
	pki := testpki.MustSet(b)
	for _, c := range headerBenchCases(pki) {
		b.Run(c.name+"/floor", func(b *testing.B) {
			roots := pki.Root.Pool()
			b.ReportAllocs()
			for b.Loop() {
				leaf, inters := c.floor(b)
				pool := x509.NewCertPool()
				for _, i := range inters {
					pool.AddCert(i)
				}
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/uncached", func(b *testing.B) {
			a := headerBenchAuth(b, pki, c, -1)
			r := c.request(pki)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/cached", func(b *testing.B) {
			a := headerBenchAuth(b, pki, c, 0)
			r := c.request(pki)
			if _, err := a.Authenticate(r); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHeaderRefused covers the refusing paths, hostile sizes included.
func BenchmarkHeaderRefused(b *testing.B) {
	pki := testpki.MustSet(b)
	a := mustNew(b, httpauth.Config{Source: httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: loopback}, Roots: pki.Root.Pool()})
	for _, c := range []struct {
		name, remote, value string
	}{
		{"untrusted peer 1MiB", strangerAddr, strings.Repeat("A", 1<<20)},
		{"oversized 1MiB", proxyAddr, strings.Repeat("A", 1<<20)},
		{"forged", proxyAddr, nginxEscape(pki.Forged.PEM())},
		{"garbage 4KiB", proxyAddr, strings.Repeat("%zz", 1365)},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := headerRequest(c.remote, [2]string{"X-SSL-Client-Cert", c.value}, [2]string{"X-SSL-Client-Verify", "SUCCESS"})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(r); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}

// BenchmarkObserver is the cached TLS path, the cheapest and so the one
// where an observer's cost shows most, with no observer and with one whose
// functions do nothing, accepted and refused, in one run. Compare the
// pairs as ratios: an unset observer costs a length check, a no-op one a
// call.
//
//	go test ./httpauth -run '^$' -bench Observer -benchmem -count 5
func BenchmarkObserver(b *testing.B) {
	pki := testpki.MustSet(b)
	noop := httpauth.Observer{
		Accepted: func(*http.Request, *httpauth.Identity) {},
		Refused:  func(*http.Request, *httpauth.Identity, *httpauth.Error) {},
	}
	for _, leaf := range []struct {
		name string
		leaf *testpki.Leaf
	}{{"accepted", pki.Alice}, {"refused", pki.Bob}} {
		for _, obs := range []struct {
			name string
			list []httpauth.Observer
		}{{"none", nil}, {"no-op", []httpauth.Observer{noop}}} {
			b.Run(leaf.name+"/"+obs.name, func(b *testing.B) {
				a := mustNew(b, httpauth.Config{Roots: pki.Root.Pool(), Authorize: httpauth.AllowCN("alice"), Observers: obs.list})
				r := tlsRequest(leaf.leaf)
				b.ReportAllocs()
				for b.Loop() {
					_, _ = a.Authenticate(r)
				}
			})
		}
	}
}
