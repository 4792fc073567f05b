package httpauth_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certgate/certgate/internal/testpki"
	"golang.org/x/crypto/ocsp"
)

// Loopback OCSP responders and CRL servers the revocation tests start.

// ocspResponder answers OCSP requests, GET or POST, about the
// certificates of its issuers: revoked when the serial is in revoked,
// good otherwise, signed as sign says (by the issuer itself by default).
type ocspResponder struct {
	srv     *httptest.Server
	clock   *fakeClock
	release chan struct{}
	hits    atomic.Int32
	gets    atomic.Int32

	mu       sync.Mutex
	issuers  []*testpki.Authority
	revoked  map[string]bool // serial, hex
	validity time.Duration   // nextUpdate - thisUpdate; zero: no nextUpdate
	thisAge  time.Duration   // how long before now thisUpdate is; negative: in the future
	status   *int            // overrides good/revoked
	sign     func(issuer *testpki.Authority) (responder *x509.Certificate, key crypto.Signer, embed bool)
	behave   behaviour
}

func (o *ocspResponder) url() string { return o.srv.URL + "/ocsp" }

func (o *ocspResponder) revoke(c *x509.Certificate) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.revoked[c.SerialNumber.Text(16)] = true
}

func (o *ocspResponder) set(fn func(o *ocspResponder)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fn(o)
}

func (o *ocspResponder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.hits.Add(1)
	o.mu.Lock()
	behave := o.behave
	o.mu.Unlock()
	if behave != nil && behave(w, r, o.release) {
		return
	}
	var der []byte
	switch r.Method {
	case http.MethodGet:
		o.gets.Add(1)
		// The escaped path: base64 holds '/', escaped as %2F.
		b64, err := url.QueryUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/ocsp/"))
		if err == nil {
			der, err = base64.StdEncoding.DecodeString(b64)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	case http.MethodPost:
		// RFC 6960, appendix A.1: a POST names its content type.
		if r.Header.Get("Content-Type") != "application/ocsp-request" {
			http.Error(w, "want Content-Type application/ocsp-request", http.StatusUnsupportedMediaType)
			return
		}
		der, _ = io.ReadAll(r.Body)
	}
	resp, err := o.respond(der)
	if err != nil {
		_, _ = w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	_, _ = w.Write(resp)
}

func (o *ocspResponder) respond(der []byte) ([]byte, error) {
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var issuer *testpki.Authority
	for _, a := range o.issuers {
		if bytes.Equal(issuerKeyHash(a.Cert), req.IssuerKeyHash) {
			issuer = a
		}
	}
	if issuer == nil {
		return ocsp.UnauthorizedErrorResponse, nil
	}
	now := o.clock.Now()
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: now.Add(-time.Minute)}
	if o.thisAge != 0 {
		tmpl.ThisUpdate = now.Add(-o.thisAge)
	}
	if o.validity > 0 {
		tmpl.NextUpdate = tmpl.ThisUpdate.Add(o.validity)
	}
	if o.revoked[req.SerialNumber.Text(16)] {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, now.Add(-time.Hour), ocsp.KeyCompromise
	}
	if o.status != nil {
		tmpl.Status = *o.status
	}
	responder, key, embed := issuer.Cert, issuer.Key, false
	if o.sign != nil {
		responder, key, embed = o.sign(issuer)
	}
	if embed {
		tmpl.Certificate = responder
	}
	return ocsp.CreateResponse(issuer.Cert, responder, tmpl, key)
}

// issuerKeyHash is the SHA-1 key hash an OCSP CertID names a by.
func issuerKeyHash(a *x509.Certificate) []byte {
	der, err := ocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(1)}, a, nil)
	if err != nil {
		return nil
	}
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		return nil
	}
	return req.IssuerKeyHash
}

// crlServer serves, per path, a CRL signed on demand as its crlSpec says.
type crlServer struct {
	srv     *httptest.Server
	clock   *fakeClock
	release chan struct{}
	hits    atomic.Int32
	number  atomic.Int64

	mu     sync.Mutex
	lists  map[string]*crlSpec
	behave behaviour
}

type crlSpec struct {
	signer   *testpki.Authority
	revoked  []*big.Int
	validity time.Duration // nextUpdate - thisUpdate; zero: no nextUpdate
	thisAge  time.Duration // how long before now thisUpdate is
	exts     []pkix.Extension
}

func (c *crlServer) url(path string) string { return c.srv.URL + path }

func (c *crlServer) set(fn func(c *crlServer)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(c)
}

func (c *crlServer) revoke(path string, cert *x509.Certificate) {
	c.set(func(c *crlServer) { c.lists[path].revoked = append(c.lists[path].revoked, cert.SerialNumber) })
}

func (c *crlServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.hits.Add(1)
	c.mu.Lock()
	behave, spec := c.behave, c.lists[r.URL.Path]
	c.mu.Unlock()
	if behave != nil && behave(w, r, c.release) {
		return
	}
	if spec == nil {
		http.NotFound(w, r)
		return
	}
	der, err := c.sign(spec)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(der)
}

func (c *crlServer) sign(spec *crlSpec) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	tmpl := &x509.RevocationList{Number: big.NewInt(c.number.Add(1)), ThisUpdate: now.Add(-time.Minute), ExtraExtensions: spec.exts}
	if spec.thisAge != 0 {
		tmpl.ThisUpdate = now.Add(-spec.thisAge)
	}
	if spec.validity > 0 {
		tmpl.NextUpdate = tmpl.ThisUpdate.Add(spec.validity)
	}
	for _, s := range spec.revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: now.Add(-time.Hour)})
	}
	return x509.CreateRevocationList(rand.Reader, tmpl, spec.signer.Cert, spec.signer.Key)
}
