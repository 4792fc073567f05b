package certgateotel_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// pipeline is an SDK that keeps spans and metrics in memory.
type pipeline struct {
	spans   *tracetest.SpanRecorder
	tracers *sdktrace.TracerProvider
	reader  *sdkmetric.ManualReader
	meters  *sdkmetric.MeterProvider
}

func newPipeline(tb testing.TB) *pipeline {
	tb.Helper()
	p := &pipeline{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	p.tracers = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p.spans))
	p.meters = sdkmetric.NewMeterProvider(sdkmetric.WithReader(p.reader))
	tb.Cleanup(func() {
		_ = p.tracers.Shutdown(context.Background())
		_ = p.meters.Shutdown(context.Background())
	})
	return p
}

// span returns the only span ended so far.
func (p *pipeline) span(tb testing.TB) sdktrace.ReadOnlySpan {
	tb.Helper()
	ended := p.spans.Ended()
	require.Len(tb, ended, 1)
	return ended[0]
}

// metrics returns, for the metric name, each data point's attributes
// (encoded) mapped to its value: a sum's value, a histogram's count.
func (p *pipeline) metrics(tb testing.TB, name string) map[string]float64 {
	tb.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(tb, p.reader.Collect(context.Background(), &rm))
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					out[dp.Attributes.Encoded(attribute.DefaultEncoder())] = float64(dp.Value)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					out[dp.Attributes.Encoded(attribute.DefaultEncoder())] = float64(dp.Count)
				}
			}
		}
	}
	return out
}

// attrs returns kvs as a map, the last value of a key winning, as the SDK
// exports them.
func attrs(kvs []attribute.KeyValue) map[string]any {
	out := map[string]any{}
	for _, kv := range kvs {
		out[string(kv.Key)] = kv.Value.AsInterface()
	}
	return out
}

// signalDone sends on done after h returns: by then a middleware inside it
// has ended its span.
func signalDone(h http.Handler, done chan<- struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		done <- struct{}{}
	})
}
