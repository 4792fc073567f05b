package certgateotel_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/contrib/otel"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
)

// Instrument lets otelhttp record the 403 that certgate.Gate wrote raw on
// the hijacked connection; without it the span would say 200.
func ExampleInstrument() {
	set, err := testpki.NewSet()
	if err != nil {
		fmt.Println(err)
		return
	}
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	tel, err := certgateotel.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := httpauth.New(httpauth.Config{
		Roots:     set.Root.Pool(),
		Authorize: httpauth.AllowCN("alice"),
		Observers: []httpauth.Observer{tel.Observer()},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	gate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := certgate.Gate(w, r, a); ok {
			fmt.Fprintln(w, "hello")
		}
	})
	h := certgateotel.Instrument(otelhttp.NewMiddleware("api", otelhttp.WithTracerProvider(tp)), gate)

	served := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		served <- struct{}{} // otelhttp has ended the span
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{set.Server.TLSCertificate()},
		ClientAuth:   tls.RequestClientCert,
	}
	srv.StartTLS()
	defer srv.Close()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs:      set.Root.Pool(),
		Certificates: []tls.Certificate{set.Bob.TLSCertificate()},
	}}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(srv.URL + "/")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	<-served
	fmt.Println("client got:", resp.Status)
	for _, kv := range spans.Ended()[0].Attributes() {
		switch kv.Key {
		case "http.response.status_code", "certgate.code", "certgate.decision":
			fmt.Printf("span %s=%s\n", kv.Key, kv.Value.Emit())
		}
	}
	// Unordered output:
	// client got: 403 Forbidden
	// span certgate.decision=refused
	// span certgate.code=denied
	// span http.response.status_code=403
}
