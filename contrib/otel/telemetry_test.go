package certgateotel_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certgate/certgate/contrib/otel"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
)

// The metrics mirror the Prometheus module's: decisions by code, status
// and source, live and ended connections, remaining lifetimes and reloads.
func TestMetrics(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	p := newPipeline(t)
	now := time.Now()
	clock := func() time.Time { return now }
	tel, err := certgateotel.New(certgateotel.WithMeterProvider(p.meters), certgateotel.WithClock(clock))
	require.NoError(t, err)

	bundle := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(bundle, set.Root.PEM(), 0o600))
	roots, err := httpauth.NewFileRoots(bundle, time.Nanosecond, tel.ReloadObserver())
	require.NoError(t, err)
	a, err := httpauth.New(httpauth.Config{
		RootsProvider: roots, Authorize: httpauth.AllowCN("alice"), Now: clock,
		Observers: []httpauth.Observer{tel.Observer()},
	})
	require.NoError(t, err)
	for _, leaf := range []*testpki.Leaf{set.Alice, set.Bob, set.Stranger, nil} {
		_, _ = a.Authenticate(tlsRequest(leaf))
	}
	id, err := a.Authenticate(tlsRequest(set.Alice))
	require.NoError(t, err)
	_, release := a.Hold(t.Context(), nil, id, nil)
	release()
	_, release = a.Hold(t.Context(), nil, id, nil)
	defer release()
	require.NoError(t, os.WriteFile(bundle, []byte("not a bundle"), 0o600))
	roots.Roots()

	assert.Equal(t, map[string]float64{"certgate.source=tls": 2}, p.metrics(t, "certgate.requests.accepted"))
	assert.Equal(t, map[string]float64{
		"certgate.code=denied,certgate.source=tls,http.response.status_code=403":            1,
		"certgate.code=unknown_authority,certgate.source=tls,http.response.status_code=401": 1,
		"certgate.code=no_certificate,certgate.source=tls,http.response.status_code=401":    1,
	}, p.metrics(t, "certgate.requests.refused"))
	assert.Equal(t, map[string]float64{"": 1}, p.metrics(t, "certgate.connections.live"))
	assert.Equal(t, map[string]float64{"certgate.code=closed": 1}, p.metrics(t, "certgate.connections.ended"))
	assert.Equal(t, map[string]float64{"certgate.reload.kind=roots,certgate.reload.result=failure": 1}, p.metrics(t, "certgate.trust.reloads"))
	assert.Equal(t, map[string]float64{"": 2}, p.metrics(t, "certgate.client.certificate.expiration"))
}

// Without a span in the request's context the observer still counts, and
// touches no span.
func TestNoSpan(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	tel, err := certgateotel.New(certgateotel.WithMeterProvider(p.meters), certgateotel.WithHeader("x-ssl-client-cert"))
	require.NoError(t, err)
	obs := tel.Observer()
	obs.Refused(httptest.NewRequest(http.MethodGet, "/", nil).WithContext(context.Background()), nil,
		&httpauth.Error{Status: 401, Reason: httpauth.ErrUntrustedProxy})
	assert.Empty(t, p.spans.Ended())
	assert.Equal(t, map[string]float64{
		"certgate.code=untrusted_proxy,certgate.source=X-Ssl-Client-Cert,http.response.status_code=401": 1,
	}, p.metrics(t, "certgate.requests.refused"))
}

// tlsRequest is a request as net/http hands it to a handler after a TLS
// handshake in which leaf was presented (nothing when nil).
func tlsRequest(leaf *testpki.Leaf) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://localhost/ws", nil)
	r.TLS = &tls.ConnectionState{HandshakeComplete: true}
	if leaf != nil {
		r.TLS.PeerCertificates = append(r.TLS.PeerCertificates, leaf.Cert)
		r.TLS.PeerCertificates = append(r.TLS.PeerCertificates, leaf.Chain...)
	}
	return r
}
