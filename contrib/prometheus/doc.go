// Package certgateprom exports certgate's decisions, held connections and
// trust-data reloads as Prometheus metrics. Start with [New]: register the
// [Metrics] with a registry, put [Metrics.Observer] in
// httpauth.Config.Observers, and pass [Metrics.ReloadObserver] to the file
// sources (httpauth.NewFileRoots, NewCRLFiles, NewDenyListFile).
//
// It is built only on httpauth's hooks (httpauth.Observer and
// httpauth.WithReloadObserver) and lives in its own module, so that
// certgate itself does not depend on the Prometheus client.
//
// # Metrics
//
// With the default namespace "certgate":
//
//	certgate_requests_accepted_total{source}             counter
//	certgate_requests_refused_total{code,status,source}  counter
//	certgate_connections_live                            gauge
//	certgate_connections_ended_total{code}               counter
//	certgate_client_certificate_expiration_seconds       histogram
//	certgate_trust_reloads_total{kind,result}            counter
//
// code is httpauth.Error.Code for refusals (httpauth.ReasonCodes lists
// them) and httpauth.ConnEnd.Code for ended connections ("closed",
// "canceled", or the code of the withdrawal, such as "expired" or
// "revoked"); status is the HTTP status the refusal was answered with;
// source is "tls" or the canonical name of the certificate header; kind is
// "roots", "crl" or "deny-list", and result "success" or "failure".
//
// The histogram is the remaining lifetime of the certificate (the earliest
// NotAfter of its chain, httpauth.Identity.NotAfter) at each acceptance,
// with the buckets of Kubernetes' apiserver_client_certificate_expiration_seconds
// (30 minutes to a year), so the same alerts work: for instance
//
//	histogram_quantile(0.01, sum by (le) (rate(certgate_client_certificate_expiration_seconds_bucket[5m]))) < 7*24*3600
//
// # What it trusts
//
// Nothing a client chose becomes a label value: codes and kinds come from
// fixed sets, statuses are 400–599, and a source is "tls" or a header name
// from the Authenticator's configuration. Common names, fingerprints and
// paths never appear, so the number of series stays bounded whatever
// clients send.
package certgateprom
