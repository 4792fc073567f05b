// Package wstest holds test helpers shared by the adapter packages' tests: a
// TLS test server that asks for client certificates, clients presenting a
// given leaf, and readers of the raw refusal. Only tests import it.
package wstest
