package certgateprom_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/certgate/certgate/internal/testpki"
)

// scraper serves a registry's /metrics on loopback, as a Prometheus server
// would scrape it.
type scraper struct {
	srv *httptest.Server
}

func newScraper(tb testing.TB, reg *prometheus.Registry) *scraper {
	tb.Helper()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return &scraper{srv: srv}
}

// scrape GETs /metrics in the text format and parses it.
func (s *scraper) scrape(tb testing.TB) families {
	tb.Helper()
	resp, err := s.srv.Client().Get(s.srv.URL + "/metrics")
	require.NoError(tb, err)
	defer resp.Body.Close()
	require.Equal(tb, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(tb, err)
	return fams
}

type families map[string]*dto.MetricFamily

// series returns each series of the family name as its labels (in
// Prometheus' text form, sorted) mapped to its value: a counter's or a
// gauge's value, a histogram's count.
func (f families) series(name string) map[string]float64 {
	out := map[string]float64{}
	fam, ok := f[name]
	if !ok {
		return out
	}
	for _, m := range fam.GetMetric() {
		key := model.LabelSet{}
		for _, l := range m.GetLabel() {
			key[model.LabelName(l.GetName())] = model.LabelValue(l.GetValue())
		}
		var v float64
		switch {
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		case m.Histogram != nil:
			v = float64(m.GetHistogram().GetSampleCount())
		}
		out[key.String()] = v
	}
	return out
}

// histogram returns the only histogram of the family name.
func (f families) histogram(tb testing.TB, name string) *dto.Histogram {
	tb.Helper()
	fam, ok := f[name]
	require.True(tb, ok, "no family %s", name)
	require.Len(tb, fam.GetMetric(), 1)
	return fam.GetMetric()[0].GetHistogram()
}

// tlsRequest is a request as net/http hands it to a handler after a TLS
// handshake in which leaf was presented (nothing when nil).
func tlsRequest(leaf *testpki.Leaf) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://localhost/ws", nil)
	r.TLS = &tls.ConnectionState{HandshakeComplete: true}
	if leaf != nil {
		r.TLS.PeerCertificates = append([]*x509.Certificate{leaf.Cert}, leaf.Chain...)
	}
	return r
}

// writeFile replaces the file at path at once, as a ConfigMap update does.
func writeFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp")
	require.NoError(tb, os.WriteFile(tmp, data, 0o600))
	require.NoError(tb, os.Rename(tmp, path))
}
