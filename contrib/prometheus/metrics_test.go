package certgateprom_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/certgate/certgate/contrib/prometheus"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
)

// kubernetesBuckets are the buckets of Kubernetes'
// apiserver_client_certificate_expiration_seconds, copied from
// k8s.io/apiserver/pkg/authentication/request/x509/x509.go.
var kubernetesBuckets = []float64{0, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 345600, 604800, 2592000, 7776000, 15552000, 31104000}

// A real gate over TLS, held connections and a CA bundle reload, read back
// from a real /metrics endpoint: every series has the exact value of what
// happened, and no label carries what a client chose.
func TestMetricsScraped(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	now := time.Now()
	clock := func() time.Time { return now }

	m := certgateprom.New(certgateprom.WithClock(clock))
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(m))
	metrics := newScraper(t, reg)

	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.pem")
	writeFile(t, bundle, set.Root.PEM())
	// A nanosecond interval: every request looks at the file, so the
	// rotation below is found without waiting.
	roots, err := httpauth.NewFileRoots(bundle, time.Nanosecond, m.ReloadObserver())
	require.NoError(t, err)
	a, err := httpauth.New(httpauth.Config{
		RootsProvider: roots,
		Authorize:     httpauth.AllowCN("alice"),
		Now:           clock,
		Observers:     []httpauth.Observer{m.Observer()},
	})
	require.NoError(t, err)
	gated := wstest.NewTLSServer(t, set, a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})), false)

	for _, c := range []struct {
		leaf   *testpki.Leaf
		status int
	}{
		{set.Alice, 200}, {set.Alice, 200}, {set.Bob, 403}, {set.Stranger, 401}, {nil, 401}, {set.Expired, 401},
	} {
		resp, err := wstest.HTTPClient(t, set, c.leaf).Get(gated.URL)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, c.status, resp.StatusCode)
	}

	// Three held connections: one released, one whose request ended, one
	// whose CA is rotated out while it is open.
	id, err := a.Authenticate(tlsRequest(set.Alice))
	require.NoError(t, err)
	_, release := a.Hold(t.Context(), nil, id, nil)
	release()
	parent, cancel := context.WithCancel(t.Context())
	_, release = a.Hold(parent, nil, id, nil)
	cancel()
	release()
	held, release := a.Hold(t.Context(), nil, id, nil)
	assert.Equal(t, map[string]float64{"{}": 1}, metrics.scrape(t).series("certgate_connections_live"))
	writeFile(t, bundle, set.OtherRoot.PEM())
	wstest.Receive(t, held.Done())
	release()

	// A second bundle that fails to load twice, then loads.
	other := filepath.Join(dir, "other.pem")
	writeFile(t, other, set.OtherRoot.PEM())
	otherRoots, err := httpauth.NewFileRoots(other, time.Nanosecond, m.ReloadObserver())
	require.NoError(t, err)
	writeFile(t, other, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"))
	otherRoots.Roots()
	otherRoots.Roots()
	writeFile(t, other, set.Root.PEM())
	otherRoots.Roots()

	got := metrics.scrape(t)
	assert.Equal(t, map[string]float64{`{source="tls"}`: 3}, got.series("certgate_requests_accepted_total"))
	assert.Equal(t, map[string]float64{
		`{code="denied", source="tls", status="403"}`:            1,
		`{code="expired", source="tls", status="401"}`:           1,
		`{code="no_certificate", source="tls", status="401"}`:    1,
		`{code="unknown_authority", source="tls", status="401"}`: 1,
	}, got.series("certgate_requests_refused_total"))
	assert.Equal(t, map[string]float64{"{}": 0}, got.series("certgate_connections_live"))
	assert.Equal(t, map[string]float64{
		`{code="closed"}`:            1,
		`{code="canceled"}`:          1,
		`{code="unknown_authority"}`: 1,
	}, got.series("certgate_connections_ended_total"))
	assert.Equal(t, map[string]float64{
		`{kind="roots", result="success"}`: 2,
		`{kind="roots", result="failure"}`: 2,
	}, got.series("certgate_trust_reloads_total"))

	// Alice's leaf ends first in her chain, just under a day from now: all
	// three acceptances fall between the 12-hour and the one-day bucket.
	remaining := set.Alice.Cert.NotAfter.Sub(now).Seconds()
	require.True(t, remaining > 43200 && remaining <= 86400, "remaining %v", remaining)
	h := got.histogram(t, "certgate_client_certificate_expiration_seconds")
	assert.Equal(t, uint64(3), h.GetSampleCount())
	assert.InDelta(t, 3*remaining, h.GetSampleSum(), 1e-6)
	var bounds []float64
	cumulative := map[float64]uint64{}
	for _, b := range h.GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
		cumulative[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	assert.Equal(t, append(kubernetesBuckets, math.Inf(1)), bounds, "the text format lists +Inf too")
	assert.Equal(t, uint64(0), cumulative[43200])
	assert.Equal(t, uint64(3), cumulative[86400])

	for name, fam := range got {
		for _, s := range fam.GetMetric() {
			for _, l := range s.GetLabel() {
				assert.NotContains(t, []string{"alice", "bob", set.Alice.Cert.Subject.CommonName, id.Fingerprint}, l.GetValue(), "%s has a client-chosen label", name)
			}
		}
	}
}

// source is where the certificate came from, or, for a refusal that
// identified none, where the Authenticator looks for it: the configured
// header only when WithHeader names it.
func TestSourceLabel(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	header := httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: wstest.Loopback}
	fromProxy := func(h http.Header) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://localhost/ws", nil)
		r.RemoteAddr = "127.0.0.1:4711"
		r.Header = h
		return r
	}
	fromStranger := func() *http.Request {
		r := fromProxy(wstest.NginxHeader(set.Alice))
		r.RemoteAddr = "192.0.2.1:4711"
		return r
	}
	cases := []struct {
		name     string
		source   httpauth.Source
		opts     []certgateprom.Option
		req      *http.Request
		accepted map[string]float64
		refused  map[string]float64
	}{
		{
			name: "tls acceptance", req: tlsRequest(set.Alice),
			accepted: map[string]float64{`{source="tls"}`: 1},
		},
		{
			name: "tls denial", req: tlsRequest(set.Bob),
			accepted: map[string]float64{`{source="tls"}`: 0},
			refused:  map[string]float64{`{code="denied", source="tls", status="403"}`: 1},
		},
		{
			name: "header acceptance", source: header, req: fromProxy(wstest.NginxHeader(set.Alice)),
			accepted: map[string]float64{`{source="X-Ssl-Client-Cert"}`: 1, `{source="tls"}`: 0},
		},
		{
			name: "header denial names the header without WithHeader", source: header, req: fromProxy(wstest.NginxHeader(set.Bob)),
			accepted: map[string]float64{`{source="tls"}`: 0},
			refused:  map[string]float64{`{code="denied", source="X-Ssl-Client-Cert", status="403"}`: 1},
		},
		{
			name: "header from untrusted peer", source: header, opts: []certgateprom.Option{certgateprom.WithHeader("x-ssl-client-cert")}, req: fromStranger(),
			accepted: map[string]float64{`{source="X-Ssl-Client-Cert"}`: 0, `{source="tls"}`: 0},
			refused:  map[string]float64{`{code="untrusted_proxy", source="X-Ssl-Client-Cert", status="401"}`: 1},
		},
		{
			name: "header missing from trusted proxy", source: header, opts: []certgateprom.Option{certgateprom.WithHeader("X-SSL-Client-Cert")}, req: fromProxy(http.Header{}),
			accepted: map[string]float64{`{source="X-Ssl-Client-Cert"}`: 0, `{source="tls"}`: 0},
			refused:  map[string]float64{`{code="header_missing", source="X-Ssl-Client-Cert", status="401"}`: 1},
		},
		{
			name: "header from untrusted peer without WithHeader", source: header, req: fromStranger(),
			accepted: map[string]float64{`{source="tls"}`: 0},
			refused:  map[string]float64{`{code="untrusted_proxy", source="tls", status="401"}`: 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := certgateprom.New(c.opts...)
			reg := prometheus.NewRegistry()
			require.NoError(t, reg.Register(m))
			a, err := httpauth.New(httpauth.Config{
				Source: c.source, Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("alice"),
				Observers: []httpauth.Observer{m.Observer()},
			})
			require.NoError(t, err)
			_, _ = a.Authenticate(c.req)
			got := gather(t, reg)
			assert.Equal(t, c.accepted, got.series("certgate_requests_accepted_total"))
			if c.refused == nil {
				c.refused = map[string]float64{}
			}
			assert.Equal(t, c.refused, got.series("certgate_requests_refused_total"))
		})
	}
}

// The namespace and constant labels apply to every metric.
func TestNamespaceAndConstLabels(t *testing.T) {
	t.Parallel()
	m := certgateprom.New(certgateprom.WithNamespace("edge"), certgateprom.WithConstLabels(prometheus.Labels{"gate": "ws"}))
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(m))
	obs := m.Observer()
	obs.Held(nil)
	obs.Ended(httpauth.ConnEnd{Code: httpauth.EndClosed})
	obs.Refused(httptest.NewRequest(http.MethodGet, "/", nil), nil, &httpauth.Error{Status: 401, Reason: httpauth.ErrNoCertificate})
	httpauth.WithReloadObserver(nil) // a nil observer is no option to count
	got := gather(t, reg)
	var names []string
	for name, fam := range got {
		names = append(names, name)
		for _, s := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			assert.Equal(t, "ws", labels["gate"], name)
		}
	}
	assert.ElementsMatch(t, []string{
		"edge_requests_accepted_total", "edge_requests_refused_total", "edge_connections_live",
		"edge_connections_ended_total", "edge_client_certificate_expiration_seconds",
	}, names, "reloads and refusals appear with their first event; the rest from the start")
	for _, name := range names {
		assert.True(t, strings.HasPrefix(name, "edge_"))
	}
}

func gather(tb testing.TB, reg *prometheus.Registry) families {
	tb.Helper()
	fams, err := reg.Gather()
	require.NoError(tb, err)
	out := families{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}
