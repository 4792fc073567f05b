package httpauth_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCONC01_SharedAuthenticator shares one Authenticator (and its cache)
// between 64 goroutines over 2,000 mixed requests; every outcome must match
// its own request. Run with -race.
func TestCONC01_SharedAuthenticator(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, nginxSrc(), func(c *httpauth.Config) { c.Authorize = httpauth.AllowCN("alice", "bob") })
	verify := [2]string{"X-SSL-Client-Verify", "SUCCESS"}
	kinds := []struct {
		name   string
		req    func() *http.Request
		status int
		cn     string
	}{
		{"alice", func() *http.Request {
			return headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Alice.ChainPEM())}, verify)
		}, 0, "alice"},
		{"bob", func() *http.Request {
			return headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Bob.ChainPEM())}, verify)
		}, 0, "bob"},
		{"forged", func() *http.Request {
			return headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Forged.PEM())}, verify)
		}, 401, ""},
		{"expired", func() *http.Request {
			return headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Expired.ChainPEM())}, verify)
		}, 401, ""},
		{"spoofed", func() *http.Request {
			return headerRequest(strangerAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Alice.ChainPEM())}, verify)
		}, 401, ""},
	}
	const workers, total = 64, 2000
	jobs := make(chan int)
	var (
		mu       sync.Mutex
		failures []string
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				k := kinds[i%len(kinds)]
				id, err := a.Authenticate(k.req())
				var got string
				switch {
				case k.status == 0 && (err != nil || id.Certificate.Subject.CommonName != k.cn):
					got = fmt.Sprintf("%s: id=%v err=%v", k.name, id, err)
				case k.status != 0 && (err == nil || id != nil):
					got = fmt.Sprintf("%s: id=%v err=%v", k.name, id, err)
				}
				if got != "" {
					mu.Lock()
					failures = append(failures, got)
					mu.Unlock()
				}
			}
		})
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	require.Empty(t, failures)
	assert.Len(t, failures, 0)
}

func TestLoggerRecordsRefusalsWithoutPEM(t *testing.T) {
	pki := testpki.MustSet(t)
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	a, _ := headerAuth(t, pki, nginxSrc(), func(c *httpauth.Config) { c.Logger = logger })
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Bob.ChainPEM())}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
	require.Error(t, err)
	_, err = a.Authenticate(headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(pki.Expired.ChainPEM())}, [2]string{"X-SSL-Client-Verify", "SUCCESS"}))
	require.Error(t, err)
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, "one record per refusal")
	assert.Contains(t, lines[0], `"status":403`)
	assert.Contains(t, lines[0], `"fingerprint":"`+httpauth.Fingerprint(pki.Bob.Cert)+`"`)
	assert.Contains(t, lines[0], `"serial":"`+pki.Bob.Cert.SerialNumber.Text(16)+`"`)
	assert.Contains(t, lines[0], `"remote_addr":"`+proxyAddr+`"`)
	assert.Contains(t, lines[0], `"code":"denied"`)
	assert.Contains(t, lines[0], `"method":"GET"`)
	assert.Contains(t, lines[0], `"path":"/ws"`)
	assert.Contains(t, lines[0], `"cn":"bob"`)
	assert.Contains(t, lines[0], `"source":"X-Ssl-Client-Cert"`)
	assert.Contains(t, lines[1], "certificate expired")
	assert.Contains(t, lines[1], `"code":"expired"`)
	assert.Contains(t, lines[1], `"source":"X-Ssl-Client-Cert"`, "where it was looked for")
	assert.NotContains(t, out, "BEGIN")
	assert.NotContains(t, out, "MII")
}
