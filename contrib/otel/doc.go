// Package certgateotel reports certgate's decisions to OpenTelemetry: on
// the request's span, as attributes and a "certgate.decision" event, and
// as metrics that mirror the contrib/prometheus module's. Start with
// [New]: put [Telemetry.Observer] in httpauth.Config.Observers and pass
// [Telemetry.ReloadObserver] to the file sources. Wrap a gate in
// [Instrument] so that tracing middleware records the status of refusals
// written raw on a hijacked connection.
//
// It is built only on httpauth's hooks and lives in its own module, so
// that certgate itself does not depend on OpenTelemetry.
//
// # Spans
//
// The observer annotates the span in the request's context (the one
// otelhttp or any tracing middleware started); it starts none itself. Each
// decision sets
//
//	certgate.decision          "accepted" or "refused"
//	certgate.source            "tls" or the certificate header's name
//	certgate.client.fingerprint  SHA-256 of the leaf, when one was identified
//	certgate.code              the refusal's httpauth.Error.Code
//	http.response.status_code  the refusal's status
//
// and adds an event "certgate.decision" with the same attributes. A
// refusal sets the span status to Error, with the code as description. No
// certificate, subject or common name is ever recorded.
//
// # Raw refusals and tracing middleware
//
// certgate answers a refused request on HTTP/1.x by hijacking the
// connection and writing the response raw (certgate.Gate, the WebSocket
// adapters). Middleware that learns the status from
// http.ResponseWriter.WriteHeader never sees it: otelhttp v0.72.0 then
// records its default, http.response.status_code=200, after the handler
// returns, overwriting the observer's attribute, and its
// http.server.request.duration metric says 200 too. Wrap the gate with
// [Instrument] and the middleware records the real 401 or 403.
//
// # Metrics
//
// With the Meter "github.com/certgate/certgate/contrib/otel":
//
//	certgate.requests.accepted  counter         certgate.source
//	certgate.requests.refused   counter         certgate.code, http.response.status_code, certgate.source
//	certgate.connections.live   up-down counter
//	certgate.connections.ended  counter         certgate.code
//	certgate.client.certificate.expiration  histogram (s), Kubernetes' buckets
//	certgate.trust.reloads      counter         certgate.reload.kind, certgate.reload.result
package certgateotel
