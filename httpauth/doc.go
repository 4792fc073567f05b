// Package httpauth authenticates HTTP requests by the client's X.509
// certificate: it finds the certificate, decodes it, verifies it, and asks
// an [Authorizer] whether the identity may pass. It is the core shared by
// the certgate upgrade gate and the net/http [Authenticator.Middleware].
//
// Start with [New] and a [Config]:
//
//	a, err := httpauth.New(httpauth.Config{
//		Roots:     clientCAs,
//		Authorize: httpauth.AllowCN("alice", "bob"),
//	})
//	mux.Handle("/api/", a.Middleware(api))
//
// # Where the certificate comes from
//
// By default, from the request's own TLS connection (r.TLS). Behind a
// TLS-terminating proxy, set [Source] to the header the proxy writes, with
// a preset ([PresetNginx], [PresetEnvoy], …) or a header and [Encoding].
//
// # What it trusts
//
//   - Certificates the TLS layer verified (r.TLS.VerifiedChains), or that
//     chain to [Config.Roots] with the client-auth extended key usage and
//     are inside their validity period. Certificates a client or proxy
//     sends are never trust anchors, and an empty root pool never means the
//     system roots.
//   - Headers only from peers in [Source.TrustedProxies], judged by
//     r.RemoteAddr alone; X-Forwarded-For and similar are never read.
//   - A proxy's verification-status header as an additional condition,
//     never as a replacement for verification (unless the loudly named
//     [Config.InsecureSkipHeaderVerification] is set).
//
// # Outcomes
//
// Nothing offered and offered-but-unacceptable both answer 401 but stay
// distinct reasons ([ErrNoCertificate], [ErrNotVerified] and its
// refinements); a denial is 403 ([ErrDenied]). Every refusal is an
// *[Error] carrying the status; only its [Error.PublicText] reaches the
// client.
package httpauth
