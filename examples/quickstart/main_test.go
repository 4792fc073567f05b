package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain fails the run when goroutines outlive the tests: every server
// and connection the demo opens must be closed again.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRunPrintsOutcomeTable(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(nil, &out))

	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	require.Len(t, lines, 5, "header and four clients:\n%s", out.String())
	rows := []string{
		`^client\s+expected\s+got\s+outcome$`,
		`^alice \(trusted\)\s+101 \+ echo\s+101 \+ echo "hello"\s+ok$`,
		`^stranger \(unknown CA\)\s+401\s+401 client certificate signed by unknown authority\s+ok$`,
		`^mallory \(denied name\)\s+403\s+403 access denied\s+ok$`,
		`^no certificate\s+401\s+401 client certificate required\s+ok$`,
	}
	for i, row := range rows {
		assert.Regexp(t, regexp.MustCompile(row), lines[i])
	}
	// The table is aligned: every row starts its "expected" column at the
	// same offset as the header.
	col := strings.Index(lines[0], "expected")
	for _, line := range lines[1:] {
		assert.Equal(t, " ", line[col-1:col], "row %q", line)
		assert.NotEqual(t, " ", line[col:col+1], "row %q", line)
	}
}

func TestRunRejectsStrayArguments(t *testing.T) {
	var out bytes.Buffer
	assert.Error(t, run([]string{"extra"}, &out))
	assert.Error(t, run([]string{"-no-such-flag"}, &out))
}

func TestResultOK(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    result
		ok   bool
	}{
		{"upgrade with echo", result{attempt: attempt{want: 101}, status: 101, echo: message}, true},
		{"upgrade without echo", result{attempt: attempt{want: 101}, status: 101}, false},
		{"refused as expected", result{attempt: attempt{want: 403}, status: 403}, true},
		{"upgraded instead of refused", result{attempt: attempt{want: 403}, status: 101, echo: message}, false},
		{"wrong refusal status", result{attempt: attempt{want: 401}, status: 403}, false},
		{"dial error", result{attempt: attempt{want: 401}, err: errors.New("connection refused")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.ok, tt.r.ok())
		})
	}
}

// TestServe checks -serve: the files it writes are enough to connect, and
// the printed commands point at them.
func TestServe(t *testing.T) {
	p, err := newPKI()
	require.NoError(t, err)
	dir := t.TempDir()
	var out bytes.Buffer
	s, err := startServe(p, "127.0.0.1:0", dir, &out)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })

	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	require.NoError(t, err)
	require.True(t, roots.AppendCertsFromPEM(caPEM))
	load := func(name string) *tls.Certificate {
		cert, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
		require.NoError(t, err)
		return &cert
	}
	for _, name := range []string{"server", "alice", "mallory", "stranger"} {
		info, err := os.Stat(filepath.Join(dir, name+"-key.pem"))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "%s-key.pem", name)
	}

	alice := dial(t.Context(), s.URL, roots, attempt{client: "alice", cert: load("alice"), want: http.StatusSwitchingProtocols})
	assert.True(t, alice.ok(), "alice got %s", alice.got())
	mallory := dial(t.Context(), s.URL, roots, attempt{client: "mallory", cert: load("mallory"), want: http.StatusForbidden})
	assert.True(t, mallory.ok(), "mallory got %s", mallory.got())

	require.NoError(t, s.Close())
	// Close waited for the handlers, so the log is complete.
	printed := out.String()
	host := strings.TrimPrefix(s.URL, "https://")
	assert.Contains(t, printed, "wss://"+host+"/")
	assert.Contains(t, printed, "--cacert "+filepath.Join(dir, "ca.pem")+" --cert "+filepath.Join(dir, "alice.pem")+" --key "+filepath.Join(dir, "alice-key.pem"))
	assert.Contains(t, printed, "websocat --client-pkcs12-der "+filepath.Join(dir, "alice.p12"))
	assert.Regexp(t, `msg=connected cn=alice fingerprint=[0-9a-f]{64}`, printed)
	assert.NotContains(t, printed, "cn=mallory", "mallory never connected")
}
