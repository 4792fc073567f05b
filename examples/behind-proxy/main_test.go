package main

import (
	"bytes"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
)

// TestMain fails the run when goroutines outlive the tests.
func TestMain(m *testing.M) {
	log.SetOutput(io.Discard) // certgate's refusals
	goleak.VerifyTestMain(m)
}

// The tests play the proxy's part: they send nginx's headers themselves,
// from proxyAddr (the trusted proxy, nginx.conf's proxy_bind) or from directAddr (anyone else).
const (
	proxyAddr  = "127.0.0.2"
	directAddr = "127.0.0.3"
)

// backendPKI is a root, an intermediate and the clients they issue.
type backendPKI struct {
	root, intermediate  *testpki.Authority
	alice, mallory      *testpki.Leaf // issued by the root
	bob                 *testpki.Leaf // allowed, issued by the intermediate
	rootFile, interFile string
}

func newBackendPKI(t *testing.T) *backendPKI {
	t.Helper()
	root, err := testpki.NewRoot(testpki.WithCN("client root"))
	require.NoError(t, err)
	intermediate, err := root.Intermediate(testpki.WithCN("client intermediate"))
	require.NoError(t, err)
	p := &backendPKI{root: root, intermediate: intermediate}
	p.alice, err = root.Leaf(testpki.WithCN("alice"))
	require.NoError(t, err)
	p.mallory, err = root.Leaf(testpki.WithCN("mallory"))
	require.NoError(t, err)
	p.bob, err = intermediate.Leaf(testpki.WithCN("bob"))
	require.NoError(t, err)
	dir := t.TempDir()
	p.rootFile, p.interFile = filepath.Join(dir, "client-ca.pem"), filepath.Join(dir, "intermediate.pem")
	require.NoError(t, os.WriteFile(p.rootFile, root.PEM(), 0o644))
	require.NoError(t, os.WriteFile(p.interFile, intermediate.PEM(), 0o644))
	return p
}

// startBackend serves the backend for the nginx preset on a loopback
// port, trusting proxyAddr, and returns its host:port.
func startBackend(t *testing.T, p *backendPKI, interFile string) string {
	t.Helper()
	srv, err := newServer("", httpauth.PresetNginx, proxyAddr+"/32", p.rootFile, interFile, []string{"alice", "bob"})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// nginxHeaders is what nginx.conf sends for leaf: the percent-escaped PEM
// of the leaf alone, and the verification status.
func nginxHeaders(leaf *testpki.Leaf, verify string) http.Header {
	return http.Header{
		"X-Ssl-Client-Cert":   {url.PathEscape(string(leaf.PEM()))},
		"X-Ssl-Client-Verify": {verify},
	}
}

func dialer(local string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
}

// get requests /hello from local with h and returns status and body.
func get(t *testing.T, addr, local string, h http.Header) (int, string) {
	t.Helper()
	tr := &http.Transport{DialContext: dialer(local).DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/hello", nil)
	require.NoError(t, err)
	req.Header = h
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

func TestHello(t *testing.T) {
	p := newBackendPKI(t)
	addr := startBackend(t, p, "")
	tests := []struct {
		name   string
		from   string
		header http.Header
		status int
		body   string
	}{
		{"allowed client via the proxy", proxyAddr, nginxHeaders(p.alice, "SUCCESS"), http.StatusOK, "hello alice (certificate from X-Ssl-Client-Cert)"},
		{"valid but not allowed", proxyAddr, nginxHeaders(p.mallory, "SUCCESS"), http.StatusForbidden, "access denied"},
		{"proxy saw no certificate", proxyAddr, http.Header{"X-Ssl-Client-Verify": {"NONE"}}, http.StatusUnauthorized, "client certificate required"},
		{"proxy could not verify", proxyAddr, nginxHeaders(p.alice, "FAILED:unable to get issuer"), http.StatusUnauthorized, "client certificate not accepted"},
		{"header from an untrusted peer", directAddr, nginxHeaders(p.alice, "SUCCESS"), http.StatusUnauthorized, "client certificate required"},
		{"header from another process on the host", "127.0.0.1", nginxHeaders(p.alice, "SUCCESS"), http.StatusUnauthorized, "client certificate required"},
		{"leaf of an intermediate the backend lacks", proxyAddr, nginxHeaders(p.bob, "SUCCESS"), http.StatusUnauthorized, "client certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := get(t, addr, tt.from, tt.header)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.body, body)
		})
	}
}

// With -intermediates, a leaf the proxy forwarded alone still chains to
// the root.
func TestHelloWithIntermediates(t *testing.T) {
	p := newBackendPKI(t)
	addr := startBackend(t, p, p.interFile)
	status, body := get(t, addr, proxyAddr, nginxHeaders(p.bob, "SUCCESS"))
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "hello bob (certificate from X-Ssl-Client-Cert)", body)
}

func TestWebSocket(t *testing.T) {
	p := newBackendPKI(t)
	addr := startBackend(t, p, "")

	t.Run("via the proxy", func(t *testing.T) {
		d := websocket.Dialer{NetDialContext: dialer(proxyAddr).DialContext}
		conn, resp, err := d.DialContext(t.Context(), "ws://"+addr+"/ws", nginxHeaders(p.alice, "SUCCESS"))
		require.NoError(t, err)
		defer conn.Close()
		assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
		require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte("hello")))
		_, msg, err := conn.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, "hello", string(msg))
	})
	t.Run("header from an untrusted peer", func(t *testing.T) {
		d := websocket.Dialer{NetDialContext: dialer(directAddr).DialContext}
		conn, resp, err := d.DialContext(t.Context(), "ws://"+addr+"/ws", nginxHeaders(p.alice, "SUCCESS"))
		if conn != nil {
			conn.Close()
		}
		require.ErrorIs(t, err, websocket.ErrBadHandshake)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
}

func TestNewServerChecksFlags(t *testing.T) {
	p := newBackendPKI(t)
	absent := filepath.Join(t.TempDir(), "absent.pem")
	tests := []struct {
		name              string
		preset, proxy     string
		caFile, interFile string
		allow             string
	}{
		{"unknown preset", "squid", "127.0.0.1/32", p.rootFile, "", "alice"},
		{"proxy address without prefix length", httpauth.PresetNginx, "127.0.0.1", p.rootFile, "", "alice"},
		{"missing CA bundle", httpauth.PresetNginx, "127.0.0.1/32", absent, "", "alice"},
		{"missing intermediates", httpauth.PresetNginx, "127.0.0.1/32", p.rootFile, absent, "alice"},
		// -allow "" would let nobody in with a 500 each; New says so at once.
		{"empty allow list", httpauth.PresetNginx, "127.0.0.1/32", p.rootFile, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newServer("", tt.preset, tt.proxy, tt.caFile, tt.interFile, strings.Split(tt.allow, ","))
			assert.Error(t, err)
		})
	}
}

// placeholder is one {{.Name}} in a configuration file.
var placeholder = regexp.MustCompile(`\{\{\.([A-Za-z]+)\}\}`)

// TestConfigurationPlaceholders checks the configurations against the
// placeholder table in README.md: every placeholder a file uses has a
// value in the file's column and no other, and the file renders with
// those values. The e2e suite fills in the same files for real proxies.
func TestConfigurationPlaceholders(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	columns := placeholderTable(t, string(readme))
	require.ElementsMatch(t, []string{"nginx.conf", "haproxy.cfg", "Caddyfile", "apache.conf", "envoy.yaml"}, slices.Collect(maps.Keys(columns)))

	for file, values := range columns {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			text, err := os.ReadFile(file)
			require.NoError(t, err)
			used := map[string]bool{}
			for _, m := range placeholder.FindAllStringSubmatch(string(text), -1) {
				used[m[1]] = true
			}
			assert.Equal(t, strings.Count(string(text), "{{"), len(placeholder.FindAllString(string(text), -1)),
				"every action is a plain placeholder a user can replace by hand")
			assert.ElementsMatch(t, slices.Collect(maps.Keys(used)), slices.Collect(maps.Keys(values)), "placeholders used and documented")

			tmpl, err := template.New(file).Option("missingkey=error").Parse(string(text))
			require.NoError(t, err)
			var out bytes.Buffer
			require.NoError(t, tmpl.Execute(&out, values))
			assert.NotContains(t, out.String(), "{{")
		})
	}
}

// placeholderTable reads the README's table of placeholders into the
// values of each file's column.
func placeholderTable(t *testing.T, readme string) map[string]map[string]string {
	t.Helper()
	var files []string
	columns := map[string]map[string]string{}
	for line := range strings.Lines(readme) {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		switch {
		case len(cells) > 2 && cells[0] == "placeholder":
			for _, c := range cells[2:] {
				name := regexp.MustCompile(`^\[([^\]]+)\]`).FindStringSubmatch(c)
				require.NotNil(t, name, "column %q links its file", c)
				files = append(files, name[1])
				columns[name[1]] = map[string]string{}
			}
		case files != nil && len(cells) == len(files)+2 && placeholder.MatchString(cells[0]):
			name := placeholder.FindStringSubmatch(cells[0])[1]
			for i, v := range cells[2:] {
				if v != "" {
					columns[files[i]][name] = v
				}
			}
		}
	}
	require.NotEmpty(t, columns, "README.md has a placeholder table")
	return columns
}
