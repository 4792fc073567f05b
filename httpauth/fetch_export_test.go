package httpauth

// WaitFetches waits until c, an *OCSP or a *CRLDistributionPoints, runs no
// fetch, background refreshes included, so tests can check for leaked
// goroutines; it exists only in test builds.
func WaitFetches(c RevocationChecker) { c.(interface{ wait() }).wait() }
