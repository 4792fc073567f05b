package httpauth

import (
	"crypto/x509"
	"unicode/utf8"
)

// Helpers for the text of refusals and log records, which name a
// certificate by fingerprint or serial and quote client text only cut short.

// truncate keeps client text in error messages short.
func truncate(s string) string { return cut(s, 32) }

// maxLoggedPath caps the request path in a log record: enough to tell
// routes apart, not a client's megabyte of path.
const maxLoggedPath = 256

// cut keeps at most n bytes of s, on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// shortFP is the first 16 hex digits of the SHA-256 fingerprint: enough to
// find a certificate in logs without printing it.
func shortFP(c *x509.Certificate) string { return "sha256:" + Fingerprint(c)[:16] }

func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return "none"
	}
	return c.SerialNumber.Text(16)
}
