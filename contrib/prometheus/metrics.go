package certgateprom

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/prometheus/client_golang/prometheus"
)

// expirationBuckets are the upper bounds, in seconds, of the
// client_certificate_expiration_seconds histogram: those of Kubernetes'
// apiserver_client_certificate_expiration_seconds
// (staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go),
// so dashboards and alerts written for the API server carry over.
var expirationBuckets = []float64{
	0,
	1800,     // 30 minutes
	3600,     // 1 hour
	7200,     // 2 hours
	21600,    // 6 hours
	43200,    // 12 hours
	86400,    // 1 day
	172800,   // 2 days
	345600,   // 4 days
	604800,   // 1 week
	2592000,  // 1 month
	7776000,  // 3 months
	15552000, // 6 months
	31104000, // 1 year
}

// Metrics counts what certgate's Authenticators decide, the connections
// they hold and the reloads of their file sources. It is a
// prometheus.Collector: register it once with a registry. Build it with
// [New]; it is safe for concurrent use, and one Metrics may observe several
// Authenticators and file sources, whose counts it adds up.
type Metrics struct {
	accepted *prometheus.CounterVec
	refused  *prometheus.CounterVec
	live     prometheus.Gauge
	ended    *prometheus.CounterVec
	expiry   prometheus.Histogram
	reloads  *prometheus.CounterVec

	header string           // the source of refusals that identified nobody
	now    func() time.Time // nil: base plus the monotonic time since
	base   time.Time

	// The children of the common cases, resolved once: a label lookup
	// hashes the values and takes a lock on every request otherwise.
	acceptedTLS, acceptedHeader prometheus.Counter
	refusedBy                   sync.Map // refusalKey → prometheus.Counter
}

// Option configures [New].
type Option func(*settings)

type settings struct {
	namespace string
	labels    prometheus.Labels
	header    string
	now       func() time.Time
}

// WithNamespace sets the metric name prefix. Empty or without this option:
// "certgate".
func WithNamespace(ns string) Option {
	return func(s *settings) { s.namespace = ns }
}

// WithConstLabels adds labels with fixed values to every metric, for
// instance to tell two gates of one process apart. Nil: none.
func WithConstLabels(l prometheus.Labels) Option {
	return func(s *settings) { s.labels = l }
}

// WithHeader names the header the observed Authenticator reads the
// certificate from (its Config.Source.Header, or its preset's header), so
// that refusals which identified no certificate (a missing header, an
// untrusted proxy) are counted under that source, as the Authenticator's
// log records name it. Refusals with an identity and acceptances always
// carry the header the certificate came from. Empty or without this
// option: such refusals count under "tls".
func WithHeader(name string) Option {
	return func(s *settings) { s.header = http.CanonicalHeaderKey(name) }
}

// WithClock sets the clock the remaining lifetime is measured with; give
// it the Authenticator's Config.Now so both agree. Nil or without this
// option: time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *settings) { s.now = now }
}

// New returns Metrics with the names listed in the package documentation.
// Register it with a registry (reg.MustRegister(m)) before scraping.
func New(opts ...Option) *Metrics {
	s := settings{namespace: "certgate"}
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	if s.namespace == "" {
		s.namespace = "certgate"
	}
	ns, cl := s.namespace, s.labels
	m := &Metrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "requests_accepted_total", ConstLabels: cl,
			Help: "Requests the client certificate gate accepted, by where the certificate came from.",
		}, []string{"source"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "requests_refused_total", ConstLabels: cl,
			Help: "Requests the client certificate gate refused, by reason code, HTTP status and where the certificate was looked for.",
		}, []string{"code", "status", "source"}),
		live: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "connections_live", ConstLabels: cl,
			Help: "Connections held open on the trust of a client certificate.",
		}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "connections_ended_total", ConstLabels: cl,
			Help: "Held connections that ended, by code: closed, canceled, or the reason trust was withdrawn.",
		}, []string{"code"}),
		expiry: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "client_certificate_expiration_seconds", ConstLabels: cl,
			Help:    "Distribution of the remaining lifetime of the client certificate chain at each acceptance.",
			Buckets: expirationBuckets,
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "trust_reloads_total", ConstLabels: cl,
			Help: "Reloads of trust files (roots, CRLs, deny-lists) that found them changed, by kind and result.",
		}, []string{"kind", "result"}),
		header: s.header,
		now:    s.now,
		base:   time.Now(),
	}
	// Series that exist from the start read as zero instead of missing,
	// so rate() and absent-alerts work before the first request.
	m.acceptedTLS = m.accepted.WithLabelValues(sourceTLS)
	if m.header != "" {
		m.acceptedHeader = m.accepted.WithLabelValues(m.header)
	}
	return m
}

const sourceTLS = "tls"

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.accepted.Describe(ch)
	m.refused.Describe(ch)
	m.live.Describe(ch)
	m.ended.Describe(ch)
	m.expiry.Describe(ch)
	m.reloads.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.accepted.Collect(ch)
	m.refused.Collect(ch)
	m.live.Collect(ch)
	m.ended.Collect(ch)
	m.expiry.Collect(ch)
	m.reloads.Collect(ch)
}

// Observer returns the observer to put in httpauth.Config.Observers. Its
// functions only update counters: they never block.
func (m *Metrics) Observer() httpauth.Observer {
	return httpauth.Observer{
		Accepted: m.onAccepted,
		Refused:  m.onRefused,
		Held:     func(*httpauth.Identity) { m.live.Inc() },
		Ended: func(end httpauth.ConnEnd) {
			m.live.Dec()
			m.ended.WithLabelValues(end.Code).Inc()
		},
	}
}

func (m *Metrics) onAccepted(_ *http.Request, id *httpauth.Identity) {
	switch {
	case id.Header == "":
		m.acceptedTLS.Inc()
	case id.Header == m.header:
		m.acceptedHeader.Inc()
	default:
		m.accepted.WithLabelValues(id.Header).Inc()
	}
	m.expiry.Observe(id.NotAfter.Sub(m.clock()).Seconds())
}

// clock is the time for the remaining lifetime. Without WithClock it is
// the start time plus the monotonic time since, which costs one clock
// read where time.Now costs two: the observer runs on every accepted
// request, and a bucket is half an hour wide at the least.
func (m *Metrics) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return m.base.Add(time.Since(m.base))
}

func (m *Metrics) onRefused(_ *http.Request, id *httpauth.Identity, e *httpauth.Error) {
	key := refusalKey{e.Code(), e.ResponseStatus(), m.sourceOf(id)}
	if c, ok := m.refusedBy.Load(key); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	c := m.refused.WithLabelValues(key.code, statusLabel(key.status), key.source)
	m.refusedBy.Store(key, c)
	c.Inc()
}

// refusalKey names one series of the refusal counter. The set is bounded:
// codes and statuses are few, sources are TLS and the configured headers.
type refusalKey struct {
	code   string
	status int
	source string
}

// statusLabels holds the label of every status a refusal can have, so
// that counting one does not allocate its text.
var statusLabels = func() (out [200]string) {
	for i := range out {
		out[i] = strconv.Itoa(400 + i)
	}
	return out
}()

func statusLabel(status int) string {
	if status >= 400 && status < 600 {
		return statusLabels[status-400]
	}
	return strconv.Itoa(status) // ResponseStatus never returns one
}

// sourceOf is where the certificate came from, or, without one, where the
// Authenticator looks for it first.
func (m *Metrics) sourceOf(id *httpauth.Identity) string {
	switch {
	case id != nil && id.Header != "":
		return id.Header
	case id == nil && m.header != "":
		return m.header
	}
	return sourceTLS
}

// ReloadObserver returns the option that makes a file source (for
// instance httpauth.NewFileRoots(path, 0, m.ReloadObserver())) count its
// reloads in trust_reloads_total. Only checks that found the file changed,
// or failing, count: an unchanged file is not a reload.
func (m *Metrics) ReloadObserver() httpauth.FileOption {
	return httpauth.WithReloadObserver(func(r httpauth.Reload) {
		result := "success"
		if r.Err != nil {
			result = "failure"
		}
		m.reloads.WithLabelValues(r.Kind, result).Inc()
	})
}
