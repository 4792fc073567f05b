package httpauth_test

import (
	"strings"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The reload observer hears of each reload that found new content and of
// each failed one, not of checks that found the file unchanged; a
// panicking observer is logged and the reload still takes effect.
func TestReloadObserver(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	var got []httpauth.Reload
	f := newRootsFile(t, pki.Root.PEM(),
		httpauth.WithReloadObserver(func(r httpauth.Reload) { panic("boom") }),
		httpauth.WithReloadObserver(func(r httpauth.Reload) { got = append(got, r) }),
		httpauth.WithReloadObserver(nil))

	f.clock.Advance(f.interval)
	f.Roots() // unchanged
	assert.Empty(t, got)

	f.write(t, pki.OtherRoot.PEM())
	f.Roots()
	require.Len(t, got, 1)
	assert.Equal(t, httpauth.Reload{Kind: "roots", Path: f.path}, got[0])
	assert.True(t, f.Roots().Equal(pki.OtherRoot.Pool()), "the panic did not stop the reload")
	assert.True(t, f.logs.has("reload observer panicked: boom"))

	f.write(t, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"))
	f.Roots()
	f.clock.Advance(f.interval)
	f.Roots()
	require.Len(t, got, 3, "each failed reload")
	for _, r := range got[1:] {
		assert.Equal(t, "roots", r.Kind)
		assert.Error(t, r.Err)
	}
}

// has reports whether a record's message contains text.
func (l *logRecorder) has(text string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.recs {
		if strings.Contains(r.Message, text) {
			return true
		}
	}
	return false
}
