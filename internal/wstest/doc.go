// Package wstest holds test helpers shared by the adapter packages' tests: a
// TLS test server that asks for client certificates, clients presenting a
// given leaf, readers of the raw refusal, and [RunAdapterSuite], the tests
// every adapter passes. Only tests import it.
package wstest
