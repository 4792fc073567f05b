package httpauth

import "crypto/x509"

// Helpers for the text of refusals and log records, which name a
// certificate by fingerprint or serial and quote client text only cut short.

// truncate keeps client text in error messages short.
func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
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
