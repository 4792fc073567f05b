package httpauth_test

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crlOf is a CRL that issuer signs with key, listing serials, valid from
// an hour ago for a day unless the dates say otherwise.
func crlOf(tb testing.TB, issuer *x509.Certificate, key crypto.Signer, serials ...*big.Int) []byte {
	tb.Helper()
	return crlAt(tb, issuer, key, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), serials...)
}

func crlAt(tb testing.TB, issuer *x509.Certificate, key crypto.Signer, thisUpdate, nextUpdate time.Time, serials ...*big.Int) []byte {
	tb.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(thisUpdate.Unix()), ThisUpdate: thisUpdate, NextUpdate: nextUpdate}
	for _, s := range serials {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, issuer, key)
	require.NoError(tb, err)
	return der
}

func pemCRL(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}) }

// crlDir writes each CRL to its own file of a new directory.
func crlDir(tb testing.TB, crls ...[]byte) string {
	tb.Helper()
	dir := tb.TempDir()
	for i, c := range crls {
		require.NoError(tb, os.WriteFile(filepath.Join(dir, "crl"+string(rune('a'+i))+".der"), c, 0o600))
	}
	return dir
}

func mustCRLFiles(tb testing.TB, path string, opts ...httpauth.FileOption) *httpauth.CRLFiles {
	tb.Helper()
	c, err := httpauth.NewCRLFiles(path, 0, opts...)
	require.NoError(tb, err)
	return c
}

// emptyCRLs are the root's and the intermediate's CRLs revoking nothing.
func emptyCRLs(tb testing.TB, pki *testpki.Set) [][]byte {
	return [][]byte{crlOf(tb, pki.Root.Cert, pki.Root.Key), crlOf(tb, pki.Intermediate.Cert, pki.Intermediate.Key)}
}

func TestCRLRevokedLeaf(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	crls := mustCRLFiles(t, crlDir(t, crlOf(t, pki.Root.Cert, pki.Root.Key), crlOf(t, pki.Intermediate.Cert, pki.Intermediate.Key, pki.Alice.Cert.SerialNumber)))
	cfg := httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{crls}}
	for mode, err := range presenting(t, cfg, chainOf(pki.Alice)) {
		assert.ErrorIs(t, err, httpauth.ErrRevoked, mode)
		assert.ErrorContains(t, err, "serial "+pki.Alice.Cert.SerialNumber.Text(16)+" revoked", mode)
		assert.Equal(t, http.StatusUnauthorized, statusOf(t, err), mode)
	}
	for mode, err := range presenting(t, cfg, chainOf(pki.Bob)) {
		assert.NoError(t, err, mode)
	}
}

func TestCRLRevokedIntermediate(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	crls := mustCRLFiles(t, crlDir(t, crlOf(t, pki.Root.Cert, pki.Root.Key, pki.Intermediate.Cert.SerialNumber), crlOf(t, pki.Intermediate.Cert, pki.Intermediate.Key)))
	for _, leaf := range []*testpki.Leaf{pki.Alice, pki.Bob} {
		for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{crls}}, chainOf(leaf)) {
			assert.ErrorIs(t, err, httpauth.ErrRevoked, mode)
		}
	}
}

func TestCRLWrongIssuerIgnored(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	// A CRL that names the intermediate as issuer and lists alice, signed
	// by another key (as a client could make one for a certificate it
	// sent), and one by an unrelated CA: neither speaks for the
	// intermediate of the verified chain.
	impostorKey := testpki.ECKey(t, elliptic.P256())
	impostor := testpki.Sign(t, testpki.CATemplate(pki.Intermediate.Cert.Subject), nil, impostorKey.Public(), impostorKey)
	impostor.KeyUsage |= x509.KeyUsageCRLSign
	// Its key identifier copied too, so only the signature tells it apart.
	impostor.SubjectKeyId = pki.Intermediate.Cert.SubjectKeyId
	forged := crlOf(t, impostor, impostorKey, pki.Alice.Cert.SerialNumber)
	other := crlOf(t, pki.OtherRoot.Cert, pki.OtherRoot.Key, pki.Alice.Cert.SerialNumber)

	alone := mustCRLFiles(t, crlDir(t, crlOf(t, pki.Root.Cert, pki.Root.Key), forged, other))
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{alone}}, chainOf(pki.Alice)) {
		assert.ErrorIs(t, err, httpauth.ErrRevocationUnknown, mode, "the forged CRL is no CRL of the intermediate")
		assert.NotErrorIs(t, err, httpauth.ErrRevoked, mode)
	}
	beside := mustCRLFiles(t, crlDir(t, append(emptyCRLs(t, pki), forged, other)...))
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{beside}}, chainOf(pki.Alice)) {
		assert.NoError(t, err, mode, "the genuine CRL decides")
	}
}

func TestCRLStaleFailsClosed(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	long := time.Now().Add(-48 * time.Hour)
	stale := mustCRLFiles(t, crlDir(t,
		crlOf(t, pki.Root.Cert, pki.Root.Key),
		crlAt(t, pki.Intermediate.Cert, pki.Intermediate.Key, long, long.Add(24*time.Hour))))
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{stale}}, chainOf(pki.Alice)) {
		assert.ErrorIs(t, err, httpauth.ErrRevocationUnknown, mode)
		assert.ErrorContains(t, err, "stale", mode)
	}
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{httpauth.FailOpen(stale)}}, chainOf(pki.Alice)) {
		assert.NoError(t, err, mode, "FailOpen lets an unknown status pass")
	}
}

func TestCRLMissingForAnIssuerIsUnknown(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	// Only the intermediate's CRL: the intermediate's own status, which the
	// root's CRL would give, is unknown (nginx refuses such chains too).
	crls := mustCRLFiles(t, crlDir(t, crlOf(t, pki.Intermediate.Cert, pki.Intermediate.Key)))
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{crls}}, chainOf(pki.Alice)) {
		assert.ErrorIs(t, err, httpauth.ErrRevocationUnknown, mode)
		assert.ErrorContains(t, err, "no CRL signed by", mode)
	}
}

func TestCRLFilesFormatsAndReload(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	clock := &fakeClock{t: time.Now()}
	// One PEM bundle holding both CRLs, rewritten to revoke alice.
	path := filepath.Join(t.TempDir(), "crls.pem")
	write := func(crls ...[]byte) {
		var text []byte
		for _, c := range crls {
			text = append(text, pemCRL(c)...)
		}
		require.NoError(t, os.WriteFile(path, text, 0o600))
	}
	write(emptyCRLs(t, pki)...)
	crls := mustCRLFiles(t, path, httpauth.WithClock(clock.Now))
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{crls}})
	_, err := a.Authenticate(tlsRequest(pki.Alice))
	require.NoError(t, err)

	write(crlOf(t, pki.Root.Cert, pki.Root.Key), crlOf(t, pki.Intermediate.Cert, pki.Intermediate.Key, pki.Alice.Cert.SerialNumber))
	_, err = a.Authenticate(tlsRequest(pki.Alice))
	assert.NoError(t, err, "not before the next check")
	clock.Advance(httpauth.DefaultCRLInterval)
	_, err = a.Authenticate(tlsRequest(pki.Alice))
	assert.ErrorIs(t, err, httpauth.ErrRevoked, "the cached verification does not skip revocation")

	// A damaged file keeps the last good CRLs during the grace period.
	require.NoError(t, os.WriteFile(path, []byte("-----BEGIN X509 CRL-----\nAAAA"), 0o600))
	clock.Advance(httpauth.DefaultCRLInterval)
	_, err = a.Authenticate(tlsRequest(pki.Alice))
	assert.ErrorIs(t, err, httpauth.ErrRevoked)
	assert.ErrorContains(t, crls.Err(), "the last good CRLs stay in force")
	clock.Advance(httpauth.DefaultGrace)
	_, err = a.Authenticate(tlsRequest(pki.Bob))
	assert.ErrorIs(t, err, httpauth.ErrRevocationUnknown, "after the grace period no CRL is in force")
}

func TestNewCRLFilesRefusesWhatItCannotRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty.pem":   "",
		"garbage.der": "not a CRL",
		"cert.pem":    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"cut.pem":     "-----BEGIN X509 CRL-----\nAAAA",
	} {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		_, err := httpauth.NewCRLFiles(path, 0)
		assert.ErrorContains(t, err, "httpauth: CRL files", name)
	}
	_, err := httpauth.NewCRLFiles(filepath.Join(dir, "missing"), 0)
	assert.Error(t, err)
}

func TestDenyListFingerprint(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	deny, err := httpauth.NewDenyList("# lost laptop", "SHA256:"+httpauth.Fingerprint(pki.Alice.Cert))
	require.NoError(t, err)
	cfg := httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{deny}}
	for mode, err := range presenting(t, cfg, chainOf(pki.Alice)) {
		assert.ErrorIs(t, err, httpauth.ErrRevoked, mode)
		assert.ErrorContains(t, err, "on the deny-list", mode)
	}
	for mode, err := range presenting(t, cfg, chainOf(pki.Bob)) {
		assert.NoError(t, err, mode)
	}
	// Pasted from openssl x509 -noout -fingerprint -sha256.
	pasted, err := httpauth.NewDenyList("sha256 Fingerprint=" + opensslHex(httpauth.Fingerprint(pki.Alice.Cert)))
	require.NoError(t, err)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{pasted}}, chainOf(pki.Alice)) {
		assert.ErrorIs(t, err, httpauth.ErrRevoked, mode)
	}
	// An intermediate's fingerprint cuts off everything below it.
	sub, err := httpauth.NewDenyList(httpauth.Fingerprint(pki.Intermediate.Cert))
	require.NoError(t, err)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{sub}}, chainOf(pki.Bob)) {
		assert.ErrorIs(t, err, httpauth.ErrRevoked, mode)
	}
}

func TestDenyListIssuerSerial(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	serial := pki.Alice.Cert.SerialNumber.Text(16)
	bound, err := httpauth.NewDenyList("serial:" + serial + " issuer-key:" + httpauth.IssuerKeyHash(pki.Intermediate.Cert))
	require.NoError(t, err)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{bound}}, chainOf(pki.Alice)) {
		assert.ErrorIs(t, err, httpauth.ErrRevoked, mode)
	}
	// The same serial under another issuer is another certificate.
	elsewhere, err := httpauth.NewDenyList("serial:" + serial + " issuer-key:" + httpauth.IssuerKeyHash(pki.OtherRoot.Cert))
	require.NoError(t, err)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{elsewhere}}, chainOf(pki.Alice)) {
		assert.NoError(t, err, mode)
	}
}

func TestDenyListRefusesBadEntries(t *testing.T) {
	t.Parallel()
	for _, entry := range []string{"abc", "sha256:12", "serial:0a", "serial:zz issuer-key:" + httpauth.Fingerprint(testpki.MustSet(t).Root.Cert), "serial:0a issuer-key:12"} {
		_, err := httpauth.NewDenyList(entry)
		assert.ErrorContains(t, err, "httpauth: deny-list entry 0", entry)
	}
}

func TestDenyListFileReloadAndGrace(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	clock := &fakeClock{t: time.Now()}
	path := filepath.Join(t.TempDir(), "deny.txt")
	require.NoError(t, os.WriteFile(path, []byte("# nobody yet\n"), 0o600))
	_, err := httpauth.NewDenyListFile(path, 0)
	require.Error(t, err, "a file of comments only is empty, refused at start-up")

	require.NoError(t, os.WriteFile(path, []byte("sha256:"+httpauth.Fingerprint(pki.Bob.Cert)+"\n"), 0o600))
	deny, err := httpauth.NewDenyListFile(path, 0, httpauth.WithClock(clock.Now), httpauth.WithGrace(time.Minute))
	require.NoError(t, err)
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{deny}})
	_, err = a.Authenticate(tlsRequest(pki.Alice))
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(path, []byte("# lost on 2026-11-29\n\n  sha256:"+httpauth.Fingerprint(pki.Alice.Cert)+"\n"), 0o600))
	_, err = a.Authenticate(tlsRequest(pki.Alice))
	assert.NoError(t, err, "not before the next check")
	clock.Advance(httpauth.DefaultDenyListInterval)
	_, err = a.Authenticate(tlsRequest(pki.Alice))
	assert.ErrorIs(t, err, httpauth.ErrRevoked, "cut off within one interval")
	_, err = a.Authenticate(tlsRequest(pki.Bob))
	assert.NoError(t, err)

	require.NoError(t, os.WriteFile(path, []byte("# fine\nnot an entry\n"), 0o600))
	clock.Advance(httpauth.DefaultDenyListInterval)
	_, err = a.Authenticate(tlsRequest(pki.Alice))
	assert.ErrorIs(t, err, httpauth.ErrRevoked, "the last good list stays during the grace period")
	assert.ErrorContains(t, deny.Err(), path+":2: ", "the error names the bad line")
	clock.Advance(time.Minute)
	_, err = a.Authenticate(tlsRequest(pki.Bob))
	assert.ErrorIs(t, err, httpauth.ErrRevocationUnknown, "then fails closed")

	require.NoError(t, os.WriteFile(path, nil, 0o600))
	clock.Advance(httpauth.DefaultDenyListInterval)
	_, err = a.Authenticate(tlsRequest(pki.Alice))
	assert.NoError(t, err, "an emptied file denies nobody")
}

// answering is a RevocationChecker with a fixed answer that counts calls.
type answering struct {
	status httpauth.RevocationStatus
	calls  int
}

func (c *answering) CheckRevocation(context.Context, []*x509.Certificate) httpauth.RevocationAnswer {
	c.calls++
	return httpauth.RevocationAnswer{Status: c.status, Detail: "fixed " + c.status.String()}
}

func TestRevocationPolicy(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	good, revoked, unknown := httpauth.RevocationGood, httpauth.RevocationRevoked, httpauth.RevocationUnknown
	tests := []struct {
		name     string
		checkers func() []httpauth.RevocationChecker
		want     error
	}{
		{"all good", func() []httpauth.RevocationChecker { return []httpauth.RevocationChecker{&answering{status: good}} }, nil},
		{"revoked wins over unknown", func() []httpauth.RevocationChecker {
			return []httpauth.RevocationChecker{&answering{status: unknown}, &answering{status: revoked}}
		}, httpauth.ErrRevoked},
		{"unknown fails closed", func() []httpauth.RevocationChecker {
			return []httpauth.RevocationChecker{&answering{status: good}, &answering{status: unknown}}
		}, httpauth.ErrRevocationUnknown},
		{"unknown under FailOpen passes", func() []httpauth.RevocationChecker {
			return []httpauth.RevocationChecker{httpauth.FailOpen(&answering{status: unknown})}
		}, nil},
		{"revoked under FailOpen is revoked", func() []httpauth.RevocationChecker {
			return []httpauth.RevocationChecker{httpauth.FailOpen(&answering{status: revoked})}
		}, httpauth.ErrRevoked},
		{"an unset answer is unknown", func() []httpauth.RevocationChecker {
			return []httpauth.RevocationChecker{&answering{}}
		}, httpauth.ErrRevocationUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			authorized := false
			a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: tt.checkers(), Authorize: func(context.Context, *httpauth.Identity) error {
				authorized = true
				return nil
			}})
			id, err := a.Authenticate(tlsRequest(pki.Alice))
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
			assert.Nil(t, id)
			assert.False(t, authorized, "the authorizer never sees a revoked or unknown chain")
		})
	}
}

func TestRevocationConfigRefused(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	_, err := httpauth.New(httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{nil}})
	assert.ErrorContains(t, err, "Config.Revocation[0] is nil")
	deny, _ := httpauth.NewDenyList()
	_, err = httpauth.New(httpauth.Config{
		Source:                         httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: loopback},
		InsecureSkipHeaderVerification: true,
		Revocation:                     []httpauth.RevocationChecker{deny},
	})
	assert.ErrorContains(t, err, "InsecureSkipHeaderVerification")
}

func TestCRLFilesHonourTheIssuingDistributionPoint(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	idp := asn1.ObjectIdentifier{2, 5, 29, 28}
	// A CRL for CA certificates only (IDP onlyContainsCACerts) that lists
	// alice's serial does not speak for alice, an end entity.
	tmpl := &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: pki.Alice.Cert.SerialNumber, RevocationTime: time.Now().Add(-time.Hour)}},
		ExtraExtensions:           []pkix.Extension{{Id: idp, Critical: true, Value: []byte{0x30, 0x03, 0x82, 0x01, 0xff}}},
	}
	caOnly, err := x509.CreateRevocationList(rand.Reader, tmpl, pki.Intermediate.Cert, pki.Intermediate.Key)
	require.NoError(t, err)
	crls := mustCRLFiles(t, crlDir(t, crlOf(t, pki.Root.Cert, pki.Root.Key), caOnly))
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{crls}}, chainOf(pki.Alice)) {
		assert.ErrorIs(t, err, httpauth.ErrRevocationUnknown, mode, "no CRL covers the leaf")
	}

	// A delta CRL needs its base: refused when loading.
	tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: []byte{0x02, 0x01, 0x01}}}
	delta, err := x509.CreateRevocationList(rand.Reader, tmpl, pki.Intermediate.Cert, pki.Intermediate.Key)
	require.NoError(t, err)
	_, err = httpauth.NewCRLFiles(crlDir(t, delta), 0)
	assert.ErrorContains(t, err, "delta CRL")
}

// A directory mounted from a Kubernetes ConfigMap holds its files behind
// symlinks into a timestamped directory, swapped by renaming a "..data"
// link: the CRLs are read through the links, the dot-entries are not
// read as CRLs, and a swap is a change.
func TestCRLFilesKubernetesVolume(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	clock := &fakeClock{t: time.Now()}
	dir := t.TempDir()
	publish := func(stamp string, crls ...[]byte) {
		data := filepath.Join(dir, stamp)
		require.NoError(t, os.Mkdir(data, 0o700))
		for i, c := range crls {
			require.NoError(t, os.WriteFile(filepath.Join(data, fmt.Sprintf("crl%d.pem", i)), pemCRL(c), 0o600))
		}
		require.NoError(t, os.Symlink(stamp, filepath.Join(dir, "..data_tmp")))
		require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	}
	publish("..2026_11_29_12_00_00.000000001", emptyCRLs(t, pki)...)
	for i := range 2 {
		name := fmt.Sprintf("crl%d.pem", i)
		require.NoError(t, os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)))
	}
	crls := mustCRLFiles(t, dir, httpauth.WithClock(clock.Now))
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Revocation: []httpauth.RevocationChecker{crls}})
	_, err := a.Authenticate(tlsRequest(pki.Alice))
	require.NoError(t, err)

	changed := crls.Changed()
	publish("..2026_11_29_12_05_00.000000001", crlOf(t, pki.Root.Cert, pki.Root.Key), crlOf(t, pki.Intermediate.Cert, pki.Intermediate.Key, pki.Alice.Cert.SerialNumber))
	clock.Advance(httpauth.DefaultCRLInterval)
	_, err = a.Authenticate(tlsRequest(pki.Alice))
	assert.ErrorIs(t, err, httpauth.ErrRevoked)
	assert.NoError(t, crls.Err())
	assert.True(t, closed(changed), "the swap is signalled as a change")
}
