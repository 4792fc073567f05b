package certgateotel

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/certgate/certgate/httpauth"
)

// scope names the instrumentation scope of the Meter.
const scope = "github.com/certgate/certgate/contrib/otel"

// The attribute keys; http.response.status_code is OpenTelemetry's
// semantic convention, so dashboards for HTTP servers read it.
const (
	keyDecision    = attribute.Key("certgate.decision")
	keySource      = attribute.Key("certgate.source")
	keyFingerprint = attribute.Key("certgate.client.fingerprint")
	keyCode        = attribute.Key("certgate.code")
	keyStatus      = attribute.Key("http.response.status_code")
	keyReloadKind  = attribute.Key("certgate.reload.kind")
	keyReloadRes   = attribute.Key("certgate.reload.result")
)

// expirationBuckets are Kubernetes' for
// apiserver_client_certificate_expiration_seconds, 0 to a year.
var expirationBuckets = []float64{0, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 345600, 604800, 2592000, 7776000, 15552000, 31104000}

// Telemetry turns certgate's hooks into span annotations and metrics.
// Build it with [New]; it is safe for concurrent use and may observe
// several Authenticators.
type Telemetry struct {
	accepted metric.Int64Counter
	refused  metric.Int64Counter
	live     metric.Int64UpDownCounter
	ended    metric.Int64Counter
	expiry   metric.Float64Histogram
	reloads  metric.Int64Counter

	header string
	now    func() time.Time
}

// Option configures [New].
type Option func(*settings)

type settings struct {
	meters metric.MeterProvider
	header string
	now    func() time.Time
}

// WithMeterProvider sets where the metrics go. Nil or without this option:
// otel.GetMeterProvider(), as it is when New runs. Spans need no provider:
// the observer annotates the span already in the request's context.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(s *settings) { s.meters = mp }
}

// WithHeader names the header the observed Authenticator reads the
// certificate from, so that refusals which identified no certificate are
// attributed to it rather than to "tls"; see the prometheus module's
// option of the same name.
func WithHeader(name string) Option {
	return func(s *settings) { s.header = http.CanonicalHeaderKey(name) }
}

// WithClock sets the clock the remaining lifetime is measured with; give
// it the Authenticator's Config.Now. Nil or without this option: time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *settings) { s.now = now }
}

// New returns Telemetry whose metrics are created on the configured
// MeterProvider. It fails only when the provider refuses an instrument.
func New(opts ...Option) (*Telemetry, error) {
	s := settings{}
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	if s.meters == nil {
		s.meters = otel.GetMeterProvider()
	}
	if s.now == nil {
		s.now = time.Now
	}
	meter := s.meters.Meter(scope)
	t := &Telemetry{header: s.header, now: s.now}
	var err error
	if t.accepted, err = meter.Int64Counter("certgate.requests.accepted",
		metric.WithDescription("Requests the client certificate gate accepted."), metric.WithUnit("{request}")); err != nil {
		return nil, err
	}
	if t.refused, err = meter.Int64Counter("certgate.requests.refused",
		metric.WithDescription("Requests the client certificate gate refused."), metric.WithUnit("{request}")); err != nil {
		return nil, err
	}
	if t.live, err = meter.Int64UpDownCounter("certgate.connections.live",
		metric.WithDescription("Connections held open on the trust of a client certificate."), metric.WithUnit("{connection}")); err != nil {
		return nil, err
	}
	if t.ended, err = meter.Int64Counter("certgate.connections.ended",
		metric.WithDescription("Held connections that ended, by code."), metric.WithUnit("{connection}")); err != nil {
		return nil, err
	}
	if t.expiry, err = meter.Float64Histogram("certgate.client.certificate.expiration",
		metric.WithDescription("Remaining lifetime of the client certificate chain at each acceptance."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(expirationBuckets...)); err != nil {
		return nil, err
	}
	if t.reloads, err = meter.Int64Counter("certgate.trust.reloads",
		metric.WithDescription("Reloads of trust files that found them changed, by kind and result."), metric.WithUnit("{reload}")); err != nil {
		return nil, err
	}
	return t, nil
}

// Observer returns the observer to put in httpauth.Config.Observers.
func (t *Telemetry) Observer() httpauth.Observer {
	return httpauth.Observer{
		Accepted: t.onAccepted,
		Refused:  t.onRefused,
		Held: func(*httpauth.Identity) {
			t.live.Add(context.Background(), 1)
		},
		Ended: func(end httpauth.ConnEnd) {
			ctx := context.Background()
			t.live.Add(ctx, -1)
			t.ended.Add(ctx, 1, metric.WithAttributes(keyCode.String(end.Code)))
		},
	}
}

func (t *Telemetry) onAccepted(r *http.Request, id *httpauth.Identity) {
	ctx := r.Context()
	if st, ok := ctx.Value(rawKey{}).(*rawState); ok {
		// A later acceptance (a second Authenticator on the same
		// request) supersedes an earlier refusal: Instrument must not
		// report the upgrade that follows as that refusal.
		st.status = 0
	}
	source := keySource.String(t.sourceOf(id))
	t.accepted.Add(ctx, 1, metric.WithAttributes(source))
	t.expiry.Record(ctx, id.NotAfter.Sub(t.now()).Seconds())
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		attrs := []attribute.KeyValue{keyDecision.String("accepted"), source, keyFingerprint.String(id.Fingerprint)}
		span.SetAttributes(attrs...)
		span.AddEvent("certgate.decision", trace.WithAttributes(attrs...))
	}
}

func (t *Telemetry) onRefused(r *http.Request, id *httpauth.Identity, e *httpauth.Error) {
	ctx := r.Context()
	status := e.ResponseStatus()
	if st, ok := ctx.Value(rawKey{}).(*rawState); ok {
		st.status = status
	}
	code, source := keyCode.String(e.Code()), keySource.String(t.sourceOf(id))
	t.refused.Add(ctx, 1, metric.WithAttributes(code, keyStatus.Int(status), source))
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		attrs := []attribute.KeyValue{keyDecision.String("refused"), code, source, keyStatus.Int(status)}
		if id != nil {
			attrs = append(attrs, keyFingerprint.String(id.Fingerprint))
		}
		span.SetAttributes(attrs...)
		span.AddEvent("certgate.decision", trace.WithAttributes(attrs...))
		span.SetStatus(codes.Error, "certgate: "+e.Code())
	}
}

// sourceOf is where the certificate came from, or, without one, where the
// Authenticator looks for it first.
func (t *Telemetry) sourceOf(id *httpauth.Identity) string {
	switch {
	case id != nil && id.Header != "":
		return id.Header
	case id == nil && t.header != "":
		return t.header
	}
	return "tls"
}

// ReloadObserver returns the option that makes a file source (for
// instance httpauth.NewFileRoots(path, 0, t.ReloadObserver())) count its
// reloads in certgate.trust.reloads.
func (t *Telemetry) ReloadObserver() httpauth.FileOption {
	return httpauth.WithReloadObserver(func(r httpauth.Reload) {
		result := "success"
		if r.Err != nil {
			result = "failure"
		}
		t.reloads.Add(context.Background(), 1, metric.WithAttributes(keyReloadKind.String(r.Kind), keyReloadRes.String(result)))
	})
}
