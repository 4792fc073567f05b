package httpauth_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rootsFile is a bundle file read by a FileRoots on a clock the test moves,
// with its log records kept.
type rootsFile struct {
	*httpauth.FileRoots
	path     string
	interval time.Duration
	clock    *fakeClock
	logs     *logRecorder
}

// newRootsFile writes content to a fresh file and opens it with a check
// interval of a second, unless opts say otherwise.
func newRootsFile(tb testing.TB, content []byte, opts ...httpauth.FileOption) *rootsFile {
	tb.Helper()
	return newRootsFileEvery(tb, content, time.Second, opts...)
}

func newRootsFileEvery(tb testing.TB, content []byte, interval time.Duration, opts ...httpauth.FileOption) *rootsFile {
	tb.Helper()
	f := &rootsFile{
		path:     filepath.Join(tb.TempDir(), "ca.pem"),
		interval: interval,
		clock:    &fakeClock{t: time.Now()},
		logs:     &logRecorder{},
	}
	require.NoError(tb, os.WriteFile(f.path, content, 0o600))
	opts = append([]httpauth.FileOption{httpauth.WithClock(f.clock.Now), httpauth.WithReloadLogger(slog.New(f.logs))}, opts...)
	var err error
	f.FileRoots, err = httpauth.NewFileRoots(f.path, interval, opts...)
	require.NoError(tb, err)
	return f
}

// write replaces the file's content and lets a check interval pass, so the
// next Roots call reads it.
func (f *rootsFile) write(tb testing.TB, content []byte) {
	tb.Helper()
	require.NoError(tb, os.WriteFile(f.path, content, 0o600))
	f.clock.Advance(f.interval)
}

// damage is a way for the file to stop loading; cause is in the error.
type damage struct {
	name  string
	apply func(testing.TB, *rootsFile, *testpki.Set)
	cause string
}

func damages() []damage {
	writes := func(content func(*testpki.Set) []byte) func(testing.TB, *rootsFile, *testpki.Set) {
		return func(tb testing.TB, f *rootsFile, pki *testpki.Set) { f.write(tb, content(pki)) }
	}
	return []damage{
		{"text, not PEM", writes(func(*testpki.Set) []byte { return []byte("put the CA here\n") }), "holds no PEM certificate"},
		{"no CERTIFICATE block", writes(func(*testpki.Set) []byte {
			return []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
		}), "holds no PEM certificate"},
		{"block that does not parse", writes(func(*testpki.Set) []byte {
			return []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
		}), "certificate 0"},
		{"cut short", writes(func(pki *testpki.Set) []byte {
			bundle := append(pki.Root.PEM(), pki.OtherRoot.PEM()...)
			return bundle[:len(bundle)-10]
		}), "damaged (truncated file?)"},
		{"missing", func(tb testing.TB, f *rootsFile, _ *testpki.Set) {
			require.NoError(tb, os.Remove(f.path))
			f.clock.Advance(f.interval)
		}, "no such file"},
		{"unreadable", func(tb testing.TB, f *rootsFile, _ *testpki.Set) {
			// A directory in its place: unreadable even for root, which
			// file modes are not.
			require.NoError(tb, os.Remove(f.path))
			require.NoError(tb, os.Mkdir(f.path, 0o700))
			f.clock.Advance(f.interval)
		}, "is a directory"},
	}
}

// stamp formats t as FileRoots' errors do.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// noRoots reports whether pool holds no certificate at all.
func noRoots(pool *x509.CertPool) bool { return pool.Equal(x509.NewCertPool()) }

// errorRecorder is a Config.ErrorHandler that keeps the refusals; server
// goroutines call it, so it hands them over on a channel.
type errorRecorder chan *httpauth.Error

func (e errorRecorder) handle(w http.ResponseWriter, _ *http.Request, err *httpauth.Error) {
	e <- err
	http.Error(w, err.PublicText(), err.ResponseStatus())
}

func (e errorRecorder) next(tb testing.TB) *httpauth.Error {
	tb.Helper()
	select {
	case err := <-e:
		return err
	default:
		require.FailNow(tb, "no refusal recorded")
		return nil
	}
}

func TestEmptyBundleWithdrawsRoots(t *testing.T) {
	for _, tt := range []struct {
		name    string
		content []byte
	}{
		{"zero bytes", nil},
		{"only whitespace", []byte("\n \t\r\n")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pki := testpki.MustSet(t)
			f := newRootsFile(t, pki.Root.PEM())
			refusals := make(errorRecorder, 4)
			a := mustNew(t, httpauth.Config{RootsProvider: f, ErrorHandler: refusals.handle})
			srv := tlsServer(t, pki, tls.RequestClientCert, a)

			status, body := get(t, tlsClient(t, pki, pki.Alice), srv.URL)
			require.Equal(t, http.StatusOK, status, body)

			f.write(t, tt.content)
			status, _ = get(t, tlsClient(t, pki, pki.Alice), srv.URL)
			assert.Equal(t, http.StatusUnauthorized, status, "the client accepted a moment ago is refused")
			// With an empty pool crypto/x509 finds no parent for the chain:
			// an unknown authority, never the "no roots configured" path.
			err := refusals.next(t)
			assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
			assert.ErrorIs(t, err, httpauth.ErrNotVerified)
			assert.NotErrorIs(t, err, httpauth.ErrNoRoots)
			// The reason says so, with the provider's account of why.
			assert.ErrorContains(t, err, "the roots in force are empty, so every CA is withdrawn (roots file: "+f.path)

			pool := f.Roots()
			require.NotNil(t, pool)
			assert.True(t, noRoots(pool))
			assert.ErrorContains(t, f.Err(), f.path+" was emptied at "+stamp(f.clock.Now())+", every root is withdrawn")
			assert.Equal(t, []slog.Level{slog.LevelWarn}, f.logs.levels())

			f.clock.Advance(time.Hour)
			assert.Same(t, pool, f.Roots(), "an unchanged empty file changes nothing")
			assert.Len(t, f.logs.levels(), 1, "withdrawal is logged once")
		})
	}
}

func TestDamagedBundleKeepsLastGoodDuringGrace(t *testing.T) {
	pki := testpki.MustSet(t)
	for _, d := range damages() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			f := newRootsFile(t, pki.Root.PEM(), httpauth.WithGrace(time.Hour))
			a := mustNew(t, httpauth.Config{RootsProvider: f})
			good := f.Roots()
			_, err := a.Authenticate(tlsRequest(pki.Alice))
			require.NoError(t, err)

			d.apply(t, f, pki)
			failedAt := f.clock.Now()
			assert.Same(t, good, f.Roots(), "the last good roots stay in force")
			_, err = a.Authenticate(tlsRequest(pki.Alice))
			assert.NoError(t, err)
			assert.ErrorContains(t, f.Err(), "failing to load since "+stamp(failedAt)+"; the last good roots stay in force until "+stamp(failedAt.Add(time.Hour)))
			assert.ErrorContains(t, f.Err(), d.cause)

			// Still failing, a second short of the end: same roots, no new
			// record.
			f.clock.Advance(time.Hour - time.Second - f.interval)
			assert.Same(t, good, f.Roots())
			_, err = a.Authenticate(tlsRequest(pki.Alice))
			assert.NoError(t, err)
			assert.Equal(t, []slog.Level{slog.LevelWarn}, f.logs.levels(), "the first failure is logged, once")
			assert.Contains(t, f.logs.attr(0, "error"), d.cause)
		})
	}
}

func TestDamagedBundleFailsClosedAfterGrace(t *testing.T) {
	pki := testpki.MustSet(t)
	for _, d := range damages() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			f := newRootsFile(t, pki.Root.PEM(), httpauth.WithGrace(time.Minute))
			a := mustNew(t, httpauth.Config{RootsProvider: f})
			good := f.Roots()
			d.apply(t, f, pki)
			end := f.clock.Now().Add(time.Minute)
			require.Same(t, good, f.Roots())

			f.clock.Set(end)
			closed := f.Roots()
			require.NotNil(t, closed)
			assert.True(t, noRoots(closed), "no roots in force once the grace period is over")
			assert.ErrorContains(t, f.Err(), "grace period ended at "+stamp(end)+", no roots in force; last error: ")
			assert.ErrorContains(t, f.Err(), d.cause)
			_, err := a.Authenticate(tlsRequest(pki.Alice))
			assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
			assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
			assert.Equal(t, []slog.Level{slog.LevelWarn, slog.LevelError}, f.logs.levels())

			f.clock.Advance(time.Hour)
			assert.Same(t, closed, f.Roots(), "still closed, and the pool stays put")
			assert.Len(t, f.logs.levels(), 2, "the end of grace is logged once")
		})
	}

	t.Run("missing file keeps its cause", func(t *testing.T) {
		f := newRootsFile(t, pki.Root.PEM(), httpauth.WithGrace(0))
		require.NoError(t, os.Remove(f.path))
		f.clock.Advance(f.interval)
		assert.True(t, noRoots(f.Roots()), "zero grace fails closed at the first failed reload")
		assert.ErrorIs(t, f.Err(), fs.ErrNotExist)
		assert.Equal(t, []slog.Level{slog.LevelWarn, slog.LevelError}, f.logs.levels())
	})

	t.Run("grace ends on time although the interval is longer", func(t *testing.T) {
		f := newRootsFileEvery(t, pki.Root.PEM(), time.Hour, httpauth.WithGrace(time.Minute))
		good := f.Roots()
		f.write(t, []byte("damaged"))
		assert.Same(t, good, f.Roots())
		f.clock.Advance(time.Minute)
		assert.True(t, noRoots(f.Roots()), "closed a minute after the failure, not an interval")
	})
}

func TestGoodBundleRestoresAfterFailure(t *testing.T) {
	pki := testpki.MustSet(t)
	broken := []struct {
		name  string
		spoil func(testing.TB, *rootsFile)
	}{
		{"during grace", func(tb testing.TB, f *rootsFile) { f.write(tb, []byte("damaged")) }},
		{"after grace ended", func(tb testing.TB, f *rootsFile) {
			f.write(tb, []byte("damaged"))
			f.clock.Advance(time.Minute)
		}},
		{"after withdrawal", func(tb testing.TB, f *rootsFile) { f.write(tb, nil) }},
		{"after withdrawal and a failure", func(tb testing.TB, f *rootsFile) {
			f.write(tb, nil)
			f.write(tb, []byte("damaged"))
		}},
	}
	restored := []struct {
		name             string
		bundle           []byte
		accepted, denied *testpki.Leaf
	}{
		{"same bundle", pki.Root.PEM(), pki.Alice, pki.Stranger},
		{"rotated bundle", pki.OtherRoot.PEM(), pki.Stranger, pki.Alice},
	}
	for _, b := range broken {
		for _, r := range restored {
			t.Run(b.name+"/"+r.name, func(t *testing.T) {
				t.Parallel()
				f := newRootsFile(t, pki.Root.PEM(), httpauth.WithGrace(time.Minute))
				a := mustNew(t, httpauth.Config{RootsProvider: f})
				b.spoil(t, f)
				f.Roots()
				require.Error(t, f.Err())
				warnings := len(f.logs.levels())

				f.write(t, r.bundle)
				pool := f.Roots()
				assert.False(t, noRoots(pool))
				assert.NoError(t, f.Err())
				_, err := a.Authenticate(tlsRequest(r.accepted))
				assert.NoError(t, err)
				_, err = a.Authenticate(tlsRequest(r.denied))
				assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
				assert.Equal(t, []slog.Level{slog.LevelInfo}, f.logs.levels()[warnings:], "recovery is logged once")

				f.clock.Advance(time.Hour)
				assert.Same(t, pool, f.Roots(), "back to normal: an unchanged file changes nothing")
				assert.Len(t, f.logs.levels(), warnings+1)
			})
		}
	}
}

// TestRootsNeverNilAfterWithdrawal walks the ways a FileRoots can end up
// without roots. A nil pool would tell the Authenticator that no roots are
// configured, and it would then accept any chain the TLS layer verified
// against the listener's (possibly stale, possibly system) CAs.
func TestRootsNeverNilAfterWithdrawal(t *testing.T) {
	pki := testpki.MustSet(t)
	f := newRootsFile(t, pki.Root.PEM(), httpauth.WithGrace(time.Minute))
	a := mustNew(t, httpauth.Config{RootsProvider: f})
	listenerVerified := func() *http.Request {
		r := tlsRequest(pki.Alice)
		r.TLS.VerifiedChains = [][]*x509.Certificate{append([]*x509.Certificate{pki.Alice.Cert}, pki.Alice.Chain...)}
		return r
	}
	_, err := a.Authenticate(listenerVerified())
	require.NoError(t, err)
	system, _ := x509.SystemCertPool()

	steps := []struct {
		name string
		step func()
	}{
		{"emptied", func() { f.write(t, nil) }},
		{"damaged while withdrawn", func() { f.write(t, []byte("damaged")) }},
		{"grace over while withdrawn", func() { f.clock.Advance(time.Minute) }},
		{"whitespace", func() { f.write(t, []byte("  \n")) }},
		{"removed", func() {
			require.NoError(t, os.Remove(f.path))
			f.clock.Advance(f.interval)
		}},
		{"grace over while removed", func() { f.clock.Advance(time.Minute) }},
	}
	for _, s := range steps {
		s.step()
		pool := f.Roots()
		require.NotNil(t, pool, s.name)
		assert.True(t, noRoots(pool), s.name)
		if system != nil && !noRoots(system) {
			assert.False(t, pool.Equal(system), "%s: never the system roots", s.name)
		}
		assert.Error(t, f.Err(), s.name)
		_, err := a.Authenticate(listenerVerified())
		assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, s.name)
		assert.NotErrorIs(t, err, httpauth.ErrNoRoots, s.name)
	}
}

func TestNewFileRootsRefusesBadFilesAtStartUp(t *testing.T) {
	pki := testpki.MustSet(t)
	bundle := append(pki.Root.PEM(), pki.OtherRoot.PEM()...)
	tests := []struct {
		name     string
		content  []byte // nil: no file
		interval time.Duration
		opts     []httpauth.FileOption
		want     string
	}{
		{"missing file", nil, 0, nil, "roots file"},
		{"zero bytes", []byte{}, 0, nil, "is empty"},
		{"only whitespace", []byte("\n\n  "), 0, nil, "is empty"},
		{"no certificate", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0, nil, "holds no PEM certificate"},
		{"truncated bundle", bundle[:len(bundle)-10], 0, nil, "damaged (truncated file?)"},
		{"negative interval", pki.Root.PEM(), -time.Second, nil, "negative interval"},
		{"negative grace", pki.Root.PEM(), 0, []httpauth.FileOption{httpauth.WithGrace(-time.Second)}, "negative grace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "ca.pem")
			if tt.content != nil {
				require.NoError(t, os.WriteFile(path, tt.content, 0o600))
			}
			f, err := httpauth.NewFileRoots(path, tt.interval, tt.opts...)
			assert.Nil(t, f)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestFileRootsNamesTheBadCertificate(t *testing.T) {
	pki := testpki.MustSet(t)
	path := filepath.Join(t.TempDir(), "ca.pem")
	bad := "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	require.NoError(t, os.WriteFile(path, append(pki.Root.PEM(), bad...), 0o600))
	_, err := httpauth.NewFileRoots(path, 0)
	assert.ErrorContains(t, err, "certificate 1:")
}

func TestFileRootsSeesSameSizeRewrite(t *testing.T) {
	pki := testpki.MustSet(t)
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, pki.Root.PEM(), 0o600))
	roots, err := httpauth.NewFileRoots(path, time.Nanosecond)
	require.NoError(t, err)
	before := roots.Roots()
	st, err := os.Stat(path)
	require.NoError(t, err)
	other := pki.OtherRoot.PEM()
	require.NoError(t, os.WriteFile(path, other, 0o600))
	// Same modification time as before: only the content tells.
	require.NoError(t, os.Chtimes(path, st.ModTime(), st.ModTime()))
	assert.NotSame(t, before, roots.Roots())
}

func TestFileRootsChecksAtMostOncePerInterval(t *testing.T) {
	pki := testpki.MustSet(t)
	f := newRootsFileEvery(t, pki.Root.PEM(), time.Hour)
	before := f.Roots()
	require.NoError(t, os.WriteFile(f.path, pki.OtherRoot.PEM(), 0o600))
	f.clock.Advance(time.Hour - time.Nanosecond)
	assert.Same(t, before, f.Roots(), "not yet time to look")
	f.clock.Advance(time.Nanosecond)
	assert.NotSame(t, before, f.Roots())
}

// bump moves the file's modification time forward so a rewrite within the
// file system's timestamp granularity is still seen as a change.
func bump(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	later := st.ModTime().Add(time.Second)
	require.NoError(t, os.Chtimes(path, later, later))
}

// TestResumedSessionAfterRotation: a TLS session resumed after a rotation
// that removed its CA must not let the client in. Until Go 1.24.13, 1.25.7
// and 1.26.0, crypto/tls resumed such sessions when ClientCAs changed
// between handshakes through GetConfigForClient or a mutated Clone
// (CVE-2025-68121). Each case first proves that the second connection
// really resumes, then rotates the bundle to an unrelated CA and resumes
// again, over TLS 1.2 tickets and TLS 1.3 PSKs alike.
//
// With roots in the Config, the listener from Authenticator.TLSConfig
// only requests certificates (tls.RequestClientCert), and crypto/tls
// checks a session's chain on resumption only from
// tls.VerifyClientCertIfGiven up (checkForResumption in
// handshake_server.go and handshake_server_tls13.go). So the session
// resumes, r.TLS carries the old certificate with no verified chain, and
// the library, verifying it against the roots now in force, answers 401.
//
// Without Config roots, the listener verifies (RequireAndVerifyClientCert,
// ClientCAs from the same file via GetConfigForClient). Go 1.26 re-checks
// a session before resuming it: anyValidVerifiedChain (common.go) wants
// every certificate of the session's verified chain inside its validity
// and the chain's root in the ClientCAs of the config chosen for this
// connection, on Linux by verifying the root alone against that pool. The
// rotated pool lacks the root, so the server silently declines the ticket
// and does a full handshake; it asks for a certificate again and refuses
// the one the client sends with an unknown_ca alert. The client gets no
// HTTP answer at all. On a toolchain without the fix the session resumes
// with its old verified chain and this case fails with a 200: go.mod's
// go 1.25.0 still allows such toolchains.
func TestResumedSessionAfterRotation(t *testing.T) {
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version)+"/library verifies", func(t *testing.T) {
			t.Parallel()
			pki := testpki.MustSet(t)
			f := newRootsFile(t, pki.Root.PEM())
			refusals := make(errorRecorder, 4)
			a := mustNew(t, httpauth.Config{RootsProvider: f, ErrorHandler: refusals.handle})
			cfg, err := a.TLSConfig(pki.Server.TLSCertificate())
			require.NoError(t, err)
			cfg.MaxVersion = version
			srv := resumeServer(t, a, cfg)
			c := newResumingClient(t, pki, pki.Alice, version)

			first := c.get(t, srv)
			require.Equal(t, http.StatusOK, first.status, first.err)
			require.False(t, first.resumed)
			second := c.get(t, srv)
			require.Equal(t, http.StatusOK, second.status, second.err)
			require.True(t, second.resumed, "the setup must resume sessions, or the rest proves nothing")
			require.True(t, second.serverResumed)

			f.write(t, pki.OtherRoot.PEM())
			third := c.get(t, srv)
			assert.Equal(t, http.StatusUnauthorized, third.status, third.err)
			assert.True(t, third.resumed, "crypto/tls resumed the session")
			assert.True(t, third.serverResumed)
			assert.Equal(t, int32(1), c.certificates.Load(), "no new certificate was asked for: the identity came from the session")
			assert.ErrorIs(t, refusals.next(t), httpauth.ErrUnknownAuthority)

			// The rotation itself is live: the new CA's client gets in.
			stranger := newResumingClient(t, pki, pki.Stranger, version).get(t, srv)
			assert.Equal(t, http.StatusOK, stranger.status, stranger.err)
		})

		t.Run(tls.VersionName(version)+"/listener verifies", func(t *testing.T) {
			t.Parallel()
			pki := testpki.MustSet(t)
			f := newRootsFile(t, pki.Root.PEM())
			a := mustNew(t, httpauth.Config{}) // accepts r.TLS.VerifiedChains
			base := &tls.Config{
				Certificates: []tls.Certificate{pki.Server.TLSCertificate()},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				MinVersion:   tls.VersionTLS12,
				MaxVersion:   version,
			}
			base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
				c := base.Clone()
				c.GetConfigForClient = nil
				c.ClientCAs = f.Roots()
				return c, nil
			}
			srv := resumeServer(t, a, base)
			c := newResumingClient(t, pki, pki.Alice, version)

			first := c.get(t, srv)
			require.Equal(t, http.StatusOK, first.status, first.err)
			second := c.get(t, srv)
			require.Equal(t, http.StatusOK, second.status, second.err)
			require.True(t, second.resumed, "the setup must resume sessions, or the rest proves nothing")
			require.True(t, second.serverResumed)
			require.Equal(t, int32(1), c.certificates.Load())
			offered := c.cache.hits.Load()

			f.write(t, pki.OtherRoot.PEM())
			third := c.get(t, srv)
			assert.Zero(t, third.status, "the resumed client got an HTTP answer")
			assert.ErrorContains(t, third.err, "unknown certificate authority", "the full handshake refused the certificate")
			assert.Equal(t, offered+1, c.cache.hits.Load(), "the client offered its session")
			assert.Equal(t, int32(2), c.certificates.Load(), "the server declined it and asked for a certificate again")
			assert.Equal(t, int32(2), srv.requests.Load(), "no request reached the handler")
		})
	}
}

// resumeTestServer counts what reaches HTTP and whether the server saw a
// resumed session.
type resumeTestServer struct {
	*httptest.Server
	requests atomic.Int32
	resumed  chan bool
}

func resumeServer(tb testing.TB, a *httpauth.Authenticator, cfg *tls.Config) *resumeTestServer {
	tb.Helper()
	s := &resumeTestServer{resumed: make(chan bool, 8)}
	gated := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := httpauth.FromContext(r.Context())
		_, _ = io.WriteString(w, id.Certificate.Subject.CommonName)
	}))
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.resumed <- r.TLS.DidResume
		gated.ServeHTTP(w, r)
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake refusals are expected
	s.TLS = cfg
	s.StartTLS()
	tb.Cleanup(s.Close)
	return s
}

// resumingClient keeps one session cache across connections and counts
// how often the server asked for its certificate.
type resumingClient struct {
	http         *http.Client
	cache        *countingSessionCache
	certificates atomic.Int32
}

func newResumingClient(tb testing.TB, pki *testpki.Set, leaf *testpki.Leaf, version uint16) *resumingClient {
	tb.Helper()
	c := &resumingClient{cache: &countingSessionCache{ClientSessionCache: tls.NewLRUClientSessionCache(4)}}
	cert := leaf.TLSCertificate()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			RootCAs:            pki.Root.Pool(),
			MinVersion:         version,
			MaxVersion:         version,
			ClientSessionCache: c.cache,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				c.certificates.Add(1)
				return &cert, nil
			},
		},
		DisableKeepAlives: true, // a new connection, so a new handshake, per request
	}
	tb.Cleanup(tr.CloseIdleConnections)
	c.http = &http.Client{Transport: tr}
	return c
}

type resumeResult struct {
	status                 int // 0 when no HTTP answer came
	resumed, serverResumed bool
	err                    error
}

func (c *resumingClient) get(tb testing.TB, srv *resumeTestServer) resumeResult {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodGet, srv.URL, nil)
	require.NoError(tb, err)
	resp, err := c.http.Do(req)
	if err != nil {
		return resumeResult{err: err}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NotNil(tb, resp.TLS)
	res := resumeResult{status: resp.StatusCode, resumed: resp.TLS.DidResume}
	select {
	case res.serverResumed = <-srv.resumed:
	default:
		require.FailNow(tb, "an HTTP answer without a request at the server")
	}
	return res
}

// countingSessionCache counts lookups that found a session, i.e. the
// connections on which the client offered to resume.
type countingSessionCache struct {
	tls.ClientSessionCache
	hits atomic.Int32
}

func (c *countingSessionCache) Get(key string) (*tls.ClientSessionState, bool) {
	s, ok := c.ClientSessionCache.Get(key)
	if ok && s != nil {
		c.hits.Add(1)
	}
	return s, ok
}

// fakeClock is a clock the test moves by hand; server goroutines read it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }

func (l *logRecorder) WithGroup(string) slog.Handler { return l }

func (l *logRecorder) levels() []slog.Level {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []slog.Level
	for _, r := range l.recs {
		out = append(out, r.Level)
	}
	return out
}

// attr returns the text of record i's attribute key, "" when absent.
func (l *logRecorder) attr(i int, key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var v string
	if i < len(l.recs) {
		l.recs[i].Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				v = a.Value.String()
				return false
			}
			return true
		})
	}
	return v
}
