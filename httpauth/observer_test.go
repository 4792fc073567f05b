package httpauth_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is an Observer that writes down what it is told.
type recorder struct {
	mu       sync.Mutex
	accepted []string // CNs
	refused  []string // codes
	held     int
	ended    []httpauth.ConnEnd
}

func (rec *recorder) observer() httpauth.Observer {
	return httpauth.Observer{
		Accepted: func(_ *http.Request, id *httpauth.Identity) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			cn, _ := id.CommonName()
			rec.accepted = append(rec.accepted, cn)
		},
		Refused: func(_ *http.Request, _ *httpauth.Identity, e *httpauth.Error) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.refused = append(rec.refused, e.Code())
		},
		Held: func(*httpauth.Identity) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.held++
		},
		Ended: func(end httpauth.ConnEnd) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.ended = append(rec.ended, end)
		},
	}
}

// Every decision of Authenticate reaches every observer, with the code of
// the refusal and the identity it was about.
func TestObserverSeesDecisions(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	var first, second recorder
	a := mustNew(t, httpauth.Config{
		Roots:     pki.Root.Pool(),
		Authorize: httpauth.AllowCN("alice"),
		Observers: []httpauth.Observer{first.observer(), second.observer(), {}},
	})
	for _, leaf := range []*testpki.Leaf{pki.Alice, pki.Bob, pki.Stranger, nil, pki.Expired} {
		_, _ = a.Authenticate(tlsRequest(leaf))
	}
	for _, rec := range []*recorder{&first, &second} {
		assert.Equal(t, []string{"alice"}, rec.accepted)
		assert.Equal(t, []string{"denied", "unknown_authority", "no_certificate", "expired"}, rec.refused)
	}
}

// A panicking observer is logged and changes no decision; the observers
// after it still run.
func TestObserverPanicIsContained(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	var buf bytes.Buffer
	var rec recorder
	a := mustNew(t, httpauth.Config{
		Roots:  pki.Root.Pool(),
		Logger: slog.New(slog.NewJSONHandler(&buf, nil)),
		Observers: []httpauth.Observer{
			{Accepted: func(*http.Request, *httpauth.Identity) { panic("boom") }, Refused: func(*http.Request, *httpauth.Identity, *httpauth.Error) { panic("boom") }},
			rec.observer(),
		},
	})
	id, err := a.Authenticate(tlsRequest(pki.Alice))
	require.NoError(t, err)
	assert.NotNil(t, id)
	_, err = a.Authenticate(tlsRequest(pki.Stranger))
	assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
	assert.Equal(t, []string{"alice"}, rec.accepted)
	assert.Equal(t, []string{"unknown_authority"}, rec.refused)
	assert.Contains(t, buf.String(), `Observer.Accepted panicked; the decision stands`)
	assert.Contains(t, buf.String(), `Observer.Refused panicked`)
	assert.Equal(t, 2, strings.Count(buf.String(), "panicked"), "one record per panic, none for the observer that did not")
}

// Each held connection is reported when it starts and once when it ends,
// with the code of the end: closed, canceled, expired, or the reason of a
// withdrawal.
func TestObserverConnectionEnd(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pki := testpki.MustSet(t)
		check := &switchChecker{}
		var rec recorder
		a := mustNew(t, httpauth.Config{
			Roots:      pki.Root.Pool(),
			Revocation: []httpauth.RevocationChecker{notifyingChecker{check}},
			Observers:  []httpauth.Observer{rec.observer()},
		})
		holdFor := func(parent context.Context, leaf *testpki.Leaf) (context.Context, func()) {
			r := tlsRequest(leaf)
			id, err := a.Authenticate(r)
			require.NoError(t, err)
			return a.Hold(parent, r, id, nil)
		}

		_, release := holdFor(context.Background(), pki.Alice)
		time.Sleep(time.Second)
		release()
		release()

		parent, cancel := context.WithCancel(context.Background())
		_, release = holdFor(parent, pki.Alice)
		cancel()
		release()

		now := time.Now()
		shortLived, err := pki.Intermediate.Leaf(testpki.WithCN("alice"), testpki.WithValidity(now.Add(-time.Hour), now.Add(time.Minute)))
		require.NoError(t, err)
		ctx, release := holdFor(context.Background(), shortLived)
		<-ctx.Done()
		release()

		ctx, release = holdFor(context.Background(), pki.Bob)
		check.revoke()
		<-ctx.Done()
		release()

		rec.mu.Lock()
		defer rec.mu.Unlock()
		assert.Equal(t, 4, rec.held)
		require.Len(t, rec.ended, 4)
		var codes []string
		for _, e := range rec.ended {
			codes = append(codes, e.Code)
		}
		assert.Equal(t, []string{httpauth.EndClosed, httpauth.EndCanceled, "expired", "revoked"}, codes)
		assert.Equal(t, time.Second, rec.ended[0].Duration)
		assert.Nil(t, rec.ended[0].Cause)
		assert.ErrorIs(t, rec.ended[1].Cause, context.Canceled)
		assert.Equal(t, time.Minute, rec.ended[2].Duration)
		assert.ErrorIs(t, rec.ended[3].Cause, httpauth.ErrRevoked)
		cn, _ := rec.ended[3].Identity.CommonName()
		assert.Equal(t, "bob", cn)
	})
}

// Unset observers cost nothing, and no-op ones no allocation, on the
// cached path most requests take.
func TestObserverAllocations(t *testing.T) {
	pki := testpki.MustSet(t)
	noop := httpauth.Observer{
		Accepted: func(*http.Request, *httpauth.Identity) {},
		Refused:  func(*http.Request, *httpauth.Identity, *httpauth.Error) {},
	}
	allocs := map[string]float64{}
	for name, obs := range map[string][]httpauth.Observer{"none": nil, "no-op": {noop}} {
		a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Observers: obs})
		r := tlsRequest(pki.Alice)
		_, err := a.Authenticate(r)
		require.NoError(t, err)
		allocs[name] = testing.AllocsPerRun(100, func() { _, _ = a.Authenticate(r) })
	}
	assert.Equal(t, allocs["none"], allocs["no-op"])
}
