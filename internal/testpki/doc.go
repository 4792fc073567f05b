// Package testpki mints certificate authorities, intermediates and leaves in
// memory for tests, examples and end-to-end tests. It is never for production:
// keys are generated on demand, kept only in memory and never protected.
//
// # Where to start
//
// [NewSet] (or [MustSet] in a test) builds the fixtures named in the security
// cases: a root, an intermediate, valid clients alice and bob, and the
// refusal cases (forged, expired, not yet valid, server-only, a stranger from
// an unrelated root). For anything else, start from [NewRoot] and mint with
// [Authority.Intermediate], [Authority.Leaf] and [Authority.Server], shaping
// each certificate with [Option] values such as [WithCN], [WithURI] or
// [Expired]. [SelfSigned] makes a leaf no authority vouches for.
//
// # Hand-made and hostile certificates
//
// [Sign] signs a template as it is, for certificates no [Option] describes;
// [CATemplate], [ClientTemplate] and [ECKey] are its usual inputs. The
// constructors of [HostileChain] build, around a [Set], test-only hostile
// inputs: the chains an anonymous client can present to make chain
// building expensive, for screening tests, benchmarks and load tests.
//
// # What it trusts
//
// Nothing. The package only creates certificates; it never verifies them and
// never touches the system roots. Trust is whatever the caller builds from
// [Authority.Pool].
//
// # Defaults
//
// Keys are ECDSA P-256 unless [WithKey] asks for RSA 2048 or Ed25519. Serial
// numbers are random 128-bit positive integers. Every certificate carries a
// subject key identifier and an authority key identifier, and basic
// constraints that mark authorities as CAs and leaves as end entities.
// Authorities are valid from an hour ago for a year, leaves from an hour ago
// for a day, both measured from [WithNow] or the current time.
package testpki
