package main

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain fails the run when goroutines outlive the tests: the demo must
// close its server and every connection it opened.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRunPrintsOutcomeTable(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))

	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	require.Len(t, lines, 5, "header and four clients:\n%s", out.String())
	rows := []string{
		`^client\s+got\s+outcome$`,
		`^alice \(trusted\)\s+101 echo "hello"\s+ok$`,
		`^stranger \(unknown CA\)\s+401 client certificate signed by unknown authority\s+ok$`,
		`^mallory \(denied name\)\s+403 access denied\s+ok$`,
		`^no certificate\s+401 client certificate required\s+ok$`,
	}
	for i, row := range rows {
		assert.Regexp(t, regexp.MustCompile(row), lines[i])
	}
}

// The demo's verdicts come from connect: a server that refuses everyone
// the same way must not read as certgate's refusal of one client.
func TestConnectReportsWhatTheServerSaid(t *testing.T) {
	ca, err := newAuthority("test CA")
	require.NoError(t, err)
	serverCert, err := ca.server()
	require.NoError(t, err)
	alice, err := ca.client("alice")
	require.NoError(t, err)

	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "closed for repairs", http.StatusServiceUnavailable)
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{serverCert}},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })

	got, err := connect(t.Context(), "wss://"+ln.Addr().String()+"/", ca.pool(), &alice)
	require.NoError(t, err)
	assert.Equal(t, "503 closed for repairs", got)
}
