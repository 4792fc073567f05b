package wstest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fileInterval is how often the file sources of these tests look at their
// files; live connections see a change within it plus the 250 ms poll.
const fileInterval = 50 * time.Millisecond

// LiveClosedOnRevocation checks that a CRL revoking a live client's
// certificate closes that connection with 1008 "certificate revoked" and
// ends serve's context with httpauth.ErrRevoked, while another client's
// connection keeps echoing: through the package's Handler, and through
// its gated upgrade held with Authenticator.Hold and the package's
// Disconnect.
func LiveClosedOnRevocation[C, O any](t *testing.T, ad Adapter[C, O]) {
	for _, path := range ad.servePaths() {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			set := testpki.MustSet(t)
			crlPath := filepath.Join(t.TempDir(), "crl.pem")
			writeAtomic(t, crlPath, crls(t, set, 1))
			crl, err := httpauth.NewCRLFiles(crlPath, fileInterval)
			require.NoError(t, err)
			a, err := httpauth.New(httpauth.Config{Roots: set.Root.Pool(), Revocation: []httpauth.RevocationChecker{crl}})
			require.NoError(t, err)
			causes := make(chan error, 2)
			srv := NewTLSServer(t, set, path.handler(a, ad.liveEcho(t, causes)), false)
			alice := ad.mustEcho(t, srv, set, set.Alice)
			bob := ad.mustEcho(t, srv, set, set.Bob)

			writeAtomic(t, crlPath, crls(t, set, 2, set.Alice))

			ad.wantClosed(t, alice, "certificate revoked")
			assert.ErrorIs(t, Receive(t, causes), httpauth.ErrRevoked)
			ad.echoes(t, bob)
		})
	}
}

// LiveClosedOnRootRotation checks that rotating a CA out of a FileRoots
// bundle closes the live connections it vouched for with 1008 "issuer no
// longer trusted", and only those.
func LiveClosedOnRootRotation[C, O any](t *testing.T, ad Adapter[C, O]) {
	for _, path := range ad.servePaths() {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			set := testpki.MustSet(t)
			rootsPath := filepath.Join(t.TempDir(), "roots.pem")
			writeAtomic(t, rootsPath, append(set.Root.PEM(), set.OtherRoot.PEM()...))
			roots, err := httpauth.NewFileRoots(rootsPath, fileInterval)
			require.NoError(t, err)
			a, err := httpauth.New(httpauth.Config{RootsProvider: roots})
			require.NoError(t, err)
			causes := make(chan error, 2)
			// The listener asks for any certificate: the Authenticator, not
			// the handshake, decides which roots are in force.
			srv := NewTLSServer(t, set, path.handler(a, ad.liveEcho(t, causes)), false)
			alice := ad.mustEcho(t, srv, set, set.Alice)
			stranger := ad.mustEcho(t, srv, set, set.Stranger)

			writeAtomic(t, rootsPath, set.OtherRoot.PEM())

			ad.wantClosed(t, alice, "issuer no longer trusted")
			assert.ErrorIs(t, Receive(t, causes), httpauth.ErrUnknownAuthority)
			ad.echoes(t, stranger)
		})
	}
}

// ExpiryContextWithinOneSecond checks that serve's context ends within a
// second of the certificate's NotAfter even when the client never reads,
// so never answers the close frame.
func ExpiryContextWithinOneSecond[C, O any](t *testing.T, ad Adapter[C, O]) {
	for _, path := range ad.servePaths() {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			set := testpki.MustSet(t)
			var clock SkewedClock
			a, err := httpauth.New(httpauth.Config{Roots: set.Root.Pool(), Now: clock.Now})
			require.NoError(t, err)
			ended := make(chan time.Time, 1)
			srv := NewTLSServer(t, set, path.handler(a, func(ctx context.Context, conn C, _ *httpauth.Identity) {
				defer ad.Close(conn)
				<-ctx.Done()
				ended <- time.Now()
			}), false)

			const ttl = 500 * time.Millisecond
			clock.ExpireIn(set.Alice, ttl)
			expiry := time.Now().Add(ttl)
			_, _, err = ad.DialAs(t, srv, set, set.Alice, nil) // and never read
			require.NoError(t, err)

			lag := Receive(t, ended).Sub(expiry)
			t.Logf("serve's context ended %v after NotAfter", lag)
			assert.Less(t, lag, time.Second)
		})
	}
}

// servePath is one way a server serves gated connections: the package's
// Handler, or its gated upgrade plus Authenticator.Hold.
type servePath[C any] struct {
	name    string
	handler func(a *httpauth.Authenticator, serve func(context.Context, C, *httpauth.Identity)) http.Handler
}

func (ad Adapter[C, O]) servePaths() []servePath[C] {
	return []servePath[C]{
		{"Handler", ad.handler},
		{"Upgrade and Hold", ad.heldUpgrade},
	}
}

// heldUpgrade serves with the package's gated upgrade, held as its doc
// comment shows.
func (ad Adapter[C, O]) heldUpgrade(a *httpauth.Authenticator, serve func(context.Context, C, *httpauth.Identity)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var opts O
		conn, id, err := ad.Upgrade(w, r, a, opts)
		if err != nil {
			return
		}
		ctx, release := a.Hold(context.Background(), r, id, func(cause error) { ad.Disconnect(conn, cause) })
		defer release()
		serve(httpauth.NewContext(ctx, id), conn, id)
	})
}

// liveEcho serves messages back until the connection ends and, if its
// context ends within a second of that (the server withdrew it), sends the
// cause on causes. The test waits for every connection it served when it
// ends, so none outlives it.
func (ad Adapter[C, O]) liveEcho(t *testing.T, causes chan<- error) func(context.Context, C, *httpauth.Identity) {
	var running sync.WaitGroup
	t.Cleanup(running.Wait) // after the connections' own cleanups
	return func(ctx context.Context, conn C, _ *httpauth.Identity) {
		running.Add(1)
		defer running.Done()
		defer ad.Close(conn)
		for {
			msg, err := ad.Read(ctx, conn)
			if err != nil {
				break
			}
			if err := ad.Write(ctx, conn, msg); err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			causes <- context.Cause(ctx)
		case <-time.After(time.Second):
		}
	}
}

// mustEcho dials as leaf and checks that the connection echoes.
func (ad Adapter[C, O]) mustEcho(t *testing.T, srv *httptest.Server, set *testpki.Set, leaf *testpki.Leaf) C {
	t.Helper()
	conn, _, err := ad.DialAs(t, srv, set, leaf, nil)
	require.NoError(t, err)
	ad.echoes(t, conn)
	return conn
}

// echoes checks that conn answers a message with the same message.
func (ad Adapter[C, O]) echoes(t *testing.T, conn C) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, ad.Write(ctx, conn, []byte("ping")))
	msg, err := ad.Read(ctx, conn)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(msg))
}

// wantClosed waits, ten seconds at most, for the server to close conn with
// 1008 and reason.
func (ad Adapter[C, O]) wantClosed(t *testing.T, conn C, reason string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := ad.Read(ctx, conn)
	code, got := ad.CloseStatus(err)
	assert.Equal(t, 1008, code, "got %v", err)
	assert.Equal(t, reason, got)
}

// crls is one file with the CRLs of set's root, which revokes nothing,
// and of its intermediate, which revokes the given leaves: CRLFiles
// refuses a chain with a certificate no CRL covers.
func crls(t *testing.T, set *testpki.Set, number int64, revoked ...*testpki.Leaf) []byte {
	t.Helper()
	root, err := set.Root.CRL(number)
	require.NoError(t, err)
	leaves, err := set.Intermediate.CRL(number, revoked...)
	require.NoError(t, err)
	return append(root, leaves...)
}

// writeAtomic replaces path's content in one rename, as deployment tools
// do, so a reader never sees half a file.
func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, data, 0o600))
	require.NoError(t, os.Rename(tmp, path))
}
