//go:build e2e

// Package e2e runs certgate against real TLS-terminating proxies: nginx,
// HAProxy, Caddy and Apache httpd, installed from the distribution by
// .ci/install-proxies. Each proxy runs as a foreground process on loopback
// with the configuration users copy, examples/behind-proxy/<file>, its
// placeholders filled in for a test's temporary directory and ports. Only
// what the example leaves to the surrounding installation (pid file, logs,
// modules, running in the foreground) comes from this file. The proxy
// terminates mutual TLS and forwards the client certificate to a
// plain-HTTP backend in the header certgate's preset for it decodes.
//
// The tests only build with the e2e tag:
//
//	.ci/install-proxies
//	go test -tags e2e ./e2e/
package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// Proxy is a running proxy started by one of the Start functions.
type Proxy struct {
	// Name is the proxy's short name: nginx, haproxy, caddy or apache.
	Name string
	// URL is the proxy's HTTPS base URL, such as https://127.0.0.2:40123.
	URL string
	// Addr is the host:port the proxy listens on.
	Addr string
	// Header is the request header that carries the client leaf
	// certificate to the upstream.
	Header string
	// ChainHeader carries the certificates the client sent after its
	// leaf, or is empty when the proxy cannot forward them. Apache's
	// config forwards only the first of them (SSL_CLIENT_CERT_CHAIN_0).
	ChainHeader string
	// VerifyHeader carries the proxy's verification status, or is empty
	// when the proxy has none (Caddy).
	VerifyHeader string
	// VerifyValue is the VerifyHeader value that means the certificate
	// was verified.
	VerifyValue string
	// SourceAddr is the address the upstream sees as the peer of the
	// proxy's connections: nginxSourceAddr for nginx, whose example binds
	// one with proxy_bind, and 127.0.0.1, the kernel's choice for a
	// loopback upstream, for the others, whose examples bind none.
	SourceAddr string
	// Dir is the temporary directory with the configuration and logs.
	Dir string
	// ErrorLog is the path of the proxy's error log.
	ErrorLog string

	cmd    *exec.Cmd
	output string // file receiving the process's stdout and stderr
	exited chan struct{}
	err    error // set before exited is closed
}

// Options configures a proxy started by one of the Start functions.
type Options struct {
	// ServerCertPEM and ServerKeyPEM are the proxy's TLS server
	// certificate (optionally followed by its chain) and private key.
	ServerCertPEM, ServerKeyPEM []byte
	// ClientCAPEM holds the certificates the proxy trusts to verify
	// client certificates. Clients are expected to send their
	// intermediates.
	ClientCAPEM []byte
	// Upstream is the backend's base URL, such as http://127.0.0.1:8080.
	Upstream string
	// ListenAddr is the host:port to listen on. Port 0, or an empty
	// value, picks a free port; the host defaults to 127.0.0.2.
	ListenAddr string
	// OptionalVerify asks the proxy to accept connections without a
	// certificate or with one it cannot verify, and to forward what it
	// got together with its verification status: nginx optional_no_ca,
	// HAProxy verify optional ignoring all errors, Apache
	// optional_no_ca, Caddy request (Caddy forwards no status). It is a
	// test of certgate's own verification, never a setting to deploy.
	// Without it the proxy requires a certificate it verified.
	OptionalVerify bool
}

// readyTimeout bounds how long a proxy may take to accept connections.
const readyTimeout = 15 * time.Second

// stopTimeout bounds how long a proxy may take to exit after SIGTERM
// before it is killed.
const stopTimeout = 5 * time.Second

// exampleDir holds the proxy configurations of examples/behind-proxy,
// relative to this package's directory, where go test runs.
var exampleDir = filepath.Join("..", "examples", "behind-proxy")

// The example configurations name their client-certificate mode
// {{.VerifyClient}}. README.md there recommends modes that admit clients
// without a certificate; these tests run each proxy twice instead,
// requiring a verified certificate and, with Options.OptionalVerify,
// forwarding whatever the client sent.
var verifyModes = map[string][2]string{ // required, optional
	"nginx":   {"on", "optional_no_ca"},
	"haproxy": {"required", "optional crt-ignore-err all ca-ignore-err all"},
	"caddy":   {"require_and_verify", "request"},
	"apache":  {"require", "optional_no_ca"},
}

func verifyMode(name string, o Options) string {
	if o.OptionalVerify {
		return verifyModes[name][1]
	}
	return verifyModes[name][0]
}

// StartNginx starts nginx terminating mutual TLS with
// examples/behind-proxy/nginx.conf. It forwards the leaf as
// X-SSL-Client-Cert: $ssl_client_escaped_cert (percent-escaped PEM) and
// the status as X-SSL-Client-Verify: $ssl_client_verify (SUCCESS,
// FAILED:reason or NONE).
func StartNginx(t testing.TB, o Options) *Proxy {
	t.Helper()
	bin := lookBinary(t, "nginx")
	p := newProxy(t, "nginx", o)
	p.SourceAddr = nginxSourceAddr
	p.Header = "X-SSL-Client-Cert"
	p.VerifyHeader = "X-SSL-Client-Verify"
	p.VerifyValue = "SUCCESS"
	files := p.writeTLSFiles(t, o)

	site := p.renderExample(t, "nginx.conf", "certgate.conf", map[string]string{
		"Listen":       p.Addr,
		"ServerName":   "localhost",
		"ServerCert":   files.cert,
		"ServerKey":    files.key,
		"ClientCA":     files.ca,
		"VerifyClient": verifyMode(p.Name, o),
		"Upstream":     upstreamHostPort(t, o.Upstream),
		"ProxyBind":    p.SourceAddr,
	})
	conf := p.render(t, "nginx.conf", nginxMain, map[string]any{
		"Dir":  p.Dir,
		"Root": os.Geteuid() == 0,
		"Site": site,
	})
	// -e moves the error log nginx opens before it reads the
	// configuration away from /var/log/nginx.
	p.start(t, bin, "-p", p.Dir, "-c", conf, "-e", p.ErrorLog)
	return p
}

// nginxSourceAddr is the proxy_bind address of the nginx example: apart
// from the proxies' listen address (127.0.0.2) and the tests' direct
// clients (127.0.0.3).
const nginxSourceAddr = "127.0.0.4"

// nginxMain is the main context around the example, which goes inside
// http {}: nginx in the foreground with one worker, its files in the
// temporary directory.
var nginxMain = `daemon off;
{{if .Root}}user root root;
{{end}}worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log info;
events { worker_connections 256; }
http {
	access_log {{.Dir}}/access.log;
	client_body_temp_path {{.Dir}}/client_body;
	proxy_temp_path {{.Dir}}/proxy;
	fastcgi_temp_path {{.Dir}}/fastcgi;
	uwsgi_temp_path {{.Dir}}/uwsgi;
	scgi_temp_path {{.Dir}}/scgi;
	include {{.Site}};
}
`

// StartHAProxy starts HAProxy terminating mutual TLS with
// examples/behind-proxy/haproxy.cfg. It forwards the leaf as
// X-SSL-Client-Cert: %[ssl_c_der,base64], the certificates the client
// sent after it as X-SSL-Client-Chain: %[ssl_c_chain_der,base64] (one
// base64 string of concatenated DER) and the status as X-SSL-Client-Verify:
// %[ssl_c_verify] (0 when verified). The three headers are only set when
// the client sent a certificate, because ssl_c_verify is also 0 without one.
func StartHAProxy(t testing.TB, o Options) *Proxy {
	t.Helper()
	bin := lookBinary(t, "haproxy")
	p := newProxy(t, "haproxy", o)
	p.Header = "X-SSL-Client-Cert"
	p.ChainHeader = "X-SSL-Client-Chain"
	p.VerifyHeader = "X-SSL-Client-Verify"
	p.VerifyValue = "0"
	files := p.writeTLSFiles(t, o)

	global := p.render(t, "global.cfg", haproxyGlobal, map[string]any{"Dir": p.Dir})
	site := p.renderExample(t, "haproxy.cfg", "certgate.cfg", map[string]string{
		"Listen":       p.Addr,
		"ServerPEM":    files.certKey,
		"ClientCA":     files.ca,
		"VerifyClient": verifyMode(p.Name, o),
		"Upstream":     upstreamHostPort(t, o.Upstream),
	})
	// -db keeps HAProxy in the foreground; its alerts and the log lines
	// sent to stderr land in the error log.
	p.startLogToOutput(t, bin, "-db", "-f", global, "-f", site)
	return p
}

// haproxyGlobal comes before the example, whose defaults section logs to
// the global log target: stderr here.
var haproxyGlobal = `global
	log stderr format short local0 info
	pidfile {{.Dir}}/haproxy.pid
	tune.ssl.default-dh-param 2048
`

// StartCaddy starts Caddy terminating mutual TLS with
// examples/behind-proxy/Caddyfile. It forwards the leaf as X-Client-Cert:
// {http.request.tls.client.certificate_der_base64} (base64 DER). Caddy has
// no verification-status placeholder, so VerifyHeader is empty; whether a
// forwarded certificate was verified depends on the client_auth mode
// alone.
func StartCaddy(t testing.TB, o Options) *Proxy {
	t.Helper()
	bin := lookBinary(t, "caddy")
	p := newProxy(t, "caddy", o)
	p.Header = "X-Client-Cert"
	files := p.writeTLSFiles(t, o)

	host, port, err := net.SplitHostPort(p.Addr)
	if err != nil {
		t.Fatalf("e2e: caddy listen address %q: %v", p.Addr, err)
	}
	site := p.renderExample(t, "Caddyfile", "certgate.Caddyfile", map[string]string{
		// No host name: Caddy selects TLS connection policies by SNI, and
		// clients that dial an IP address send none, so a site named
		// https://127.0.0.2:port would fall through to a policy without
		// client authentication. The global options bind the host.
		"Site":         "https://:" + port,
		"ServerCert":   files.cert,
		"ServerKey":    files.key,
		"ClientCA":     files.ca,
		"VerifyClient": verifyMode(p.Name, o),
		"Upstream":     upstreamHostPort(t, o.Upstream),
	})
	conf := p.render(t, "Caddyfile", caddyGlobal, map[string]any{
		"Dir":  p.Dir,
		"Host": host,
		"Site": site,
	})
	// Caddy writes its storage and autosaved config under HOME and the
	// XDG directories; keep them in the temporary directory.
	env := append(os.Environ(),
		"HOME="+p.Dir,
		"XDG_CONFIG_HOME="+filepath.Join(p.Dir, "config"),
		"XDG_DATA_HOME="+filepath.Join(p.Dir, "data"),
	)
	p.startEnv(t, env, bin, "run", "--adapter", "caddyfile", "--config", conf)
	return p
}

// caddyGlobal holds the global options and imports the example's site.
// With client authentication configured, Caddy turns on a strict check
// that the Host header matches the SNI, which would answer 421 to clients
// that send no SNI; with a single catch-all site it protects nothing and
// is turned off. HTTP/3 is off to keep the proxy on TCP.
var caddyGlobal = `{
	admin off
	auto_https off
	skip_install_trust
	default_bind {{.Host}}
	storage file_system {{.Dir}}/data
	servers {
		protocols h1 h2
		strict_sni_host insecure_off
	}
	log {
		output file {{.Dir}}/error.log
		level INFO
	}
}

import {{.Site}}
`

// StartApache starts Apache httpd terminating mutual TLS with
// examples/behind-proxy/apache.conf. It forwards the leaf as
// X-SSL-Client-Cert: %{SSL_CLIENT_CERT}s (PEM whose line breaks
// mod_headers turned into spaces), the first certificate the client sent
// after it as X-SSL-Client-Chain: %{SSL_CLIENT_CERT_CHAIN_0}s and the
// status as X-SSL-Client-Verify: %{SSL_CLIENT_VERIFY}s (SUCCESS, GENEROUS,
// FAILED:reason or NONE).
func StartApache(t testing.TB, o Options) *Proxy {
	t.Helper()
	bin := lookBinary(t, "apache2")
	p := newProxy(t, "apache", o)
	p.Header = "X-SSL-Client-Cert"
	p.ChainHeader = "X-SSL-Client-Chain"
	p.VerifyHeader = "X-SSL-Client-Verify"
	p.VerifyValue = "SUCCESS"
	files := p.writeTLSFiles(t, o)

	host, _, err := net.SplitHostPort(p.Addr)
	if err != nil {
		t.Fatalf("e2e: apache listen address %q: %v", p.Addr, err)
	}
	site := p.renderExample(t, "apache.conf", "certgate.conf", map[string]string{
		"Listen":       p.Addr,
		"ServerName":   "localhost",
		"ServerCert":   files.cert,
		"ServerKey":    files.key,
		"ClientCA":     files.ca,
		"VerifyClient": verifyMode(p.Name, o),
		"Upstream":     upstreamHostPort(t, o.Upstream),
	})
	conf := p.render(t, "httpd.conf", apacheMain, map[string]any{
		"Dir":     p.Dir,
		"Modules": "/usr/lib/apache2/modules",
		"Listen":  p.Addr,
		"Host":    host,
		"Root":    os.Geteuid() == 0,
		"Site":    site,
	})
	// Apache's own environment defaults (APACHE_RUN_DIR and friends) come
	// from /etc/apache2/envvars, which this configuration does not use.
	p.start(t, bin, "-f", conf, "-d", p.Dir, "-DFOREGROUND")
	return p
}

// apacheMain is the server configuration around the example's virtual
// host. Apache refuses to serve requests as root, so when started as root
// its worker processes switch to www-data. Debian builds mod_unixd in;
// other builds ship it as a module. Everything they need (certificates,
// logs, the session cache) is opened by the parent before the switch.
var apacheMain = `ServerRoot {{.Dir}}
DefaultRuntimeDir {{.Dir}}
PidFile {{.Dir}}/httpd.pid
ErrorLog {{.Dir}}/error.log
LogLevel info
ServerName {{.Host}}
DocumentRoot {{.Dir}}
Listen {{.Listen}}

LoadModule mpm_event_module {{.Modules}}/mod_mpm_event.so
LoadModule authz_core_module {{.Modules}}/mod_authz_core.so
<IfModule !unixd_module>
	LoadModule unixd_module {{.Modules}}/mod_unixd.so
</IfModule>
LoadModule socache_shmcb_module {{.Modules}}/mod_socache_shmcb.so
LoadModule ssl_module {{.Modules}}/mod_ssl.so
LoadModule headers_module {{.Modules}}/mod_headers.so
LoadModule proxy_module {{.Modules}}/mod_proxy.so
LoadModule proxy_http_module {{.Modules}}/mod_proxy_http.so
LoadModule proxy_wstunnel_module {{.Modules}}/mod_proxy_wstunnel.so

{{if .Root}}User www-data
Group www-data
{{end}}StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
Mutex pthread

SSLSessionCache shmcb:{{.Dir}}/ssl_scache(512000)
SSLRandomSeed startup builtin
SSLRandomSeed connect builtin

<Location />
	Require all granted
</Location>

Include {{.Site}}
`

// newProxy makes the temporary directory and settles the listen address.
func newProxy(t testing.TB, name string, o Options) *Proxy {
	t.Helper()
	if o.Upstream == "" {
		t.Fatalf("e2e: %s: Options.Upstream is empty", name)
	}
	if len(o.ServerCertPEM) == 0 || len(o.ServerKeyPEM) == 0 || len(o.ClientCAPEM) == 0 {
		t.Fatalf("e2e: %s: Options needs ServerCertPEM, ServerKeyPEM and ClientCAPEM", name)
	}
	dir := t.TempDir()
	addr := freeAddr(t, o.ListenAddr)
	return &Proxy{
		Name:       name,
		URL:        "https://" + addr,
		Addr:       addr,
		SourceAddr: "127.0.0.1",
		Dir:        dir,
		ErrorLog:   filepath.Join(dir, "error.log"),
		output:     filepath.Join(dir, "output.log"),
		exited:     make(chan struct{}),
	}
}

// lookBinary finds a proxy's binary in PATH or in the sbin directories,
// which a non-root PATH often lacks. A missing binary fails the test: the
// e2e suite is meant to run where .ci/install-proxies ran.
func lookBinary(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Fatalf("e2e: %s not found; run .ci/install-proxies", name)
	return ""
}

// freeAddr returns addr with a free port on its host when the port is 0 or
// missing. The port is found by binding and closing a listener, so another
// process could take it in between; on loopback with ephemeral ports that
// is rare enough to accept.
func freeAddr(t testing.TB, addr string) string {
	t.Helper()
	host, port := "127.0.0.2", "0"
	if addr != "" {
		h, p, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		} else {
			host, port = h, p
		}
		if host == "" {
			host = "127.0.0.2"
		}
	}
	if port != "0" && port != "" {
		return net.JoinHostPort(host, port)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("e2e: find a free port on %s: %v", host, err)
	}
	defer l.Close()
	return l.Addr().String()
}

// upstreamHostPort turns http://host:port into host:port.
func upstreamHostPort(t testing.TB, upstream string) string {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme != "http" || u.Host == "" || u.Port() == "" {
		t.Fatalf("e2e: Options.Upstream %q must look like http://127.0.0.1:port", upstream)
	}
	return u.Host
}

type tlsFiles struct {
	cert, key, certKey, ca string
}

// writeTLSFiles writes the server certificate and key (separately and, for
// HAProxy, combined) and the client CA bundle, readable by the owner only.
func (p *Proxy) writeTLSFiles(t testing.TB, o Options) tlsFiles {
	t.Helper()
	f := tlsFiles{
		cert:    filepath.Join(p.Dir, "server.pem"),
		key:     filepath.Join(p.Dir, "server.key"),
		certKey: filepath.Join(p.Dir, "server-with-key.pem"),
		ca:      filepath.Join(p.Dir, "client-ca.pem"),
	}
	certKey := append(withNewline(o.ServerCertPEM), withNewline(o.ServerKeyPEM)...)
	for path, data := range map[string][]byte{
		f.cert:    withNewline(o.ServerCertPEM),
		f.key:     withNewline(o.ServerKeyPEM),
		f.certKey: certKey,
		f.ca:      withNewline(o.ClientCAPEM),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatalf("e2e: %s: %v", p.Name, err)
		}
	}
	return f
}

func withNewline(b []byte) []byte {
	b = bytes.Clone(b)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return b
}

// render writes the configuration from a template and returns its path.
func (p *Proxy) render(t testing.TB, name, text string, data any) string {
	t.Helper()
	tmpl, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		t.Fatalf("e2e: %s: parse %s template: %v", p.Name, name, err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatalf("e2e: %s: render %s: %v", p.Name, name, err)
	}
	path := filepath.Join(p.Dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatalf("e2e: %s: %v", p.Name, err)
	}
	return path
}

// renderExample fills in the placeholders of examples/behind-proxy/name
// with values, writes the result into the proxy's directory as out and
// returns its path. A placeholder without a value fails the test, so the
// example cannot grow one that this package does not know.
func (p *Proxy) renderExample(t testing.TB, name, out string, values map[string]string) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(exampleDir, name))
	if err != nil {
		t.Fatalf("e2e: %s: %v", p.Name, err)
	}
	return p.render(t, out, string(text), values)
}

func (p *Proxy) start(t testing.TB, bin string, args ...string) {
	t.Helper()
	p.startEnv(t, os.Environ(), bin, args...)
}

// startLogToOutput is for proxies that log to stderr: their output file is
// their error log.
func (p *Proxy) startLogToOutput(t testing.TB, bin string, args ...string) {
	t.Helper()
	p.output = p.ErrorLog
	p.startEnv(t, os.Environ(), bin, args...)
}

// startEnv starts the process in its own process group, registers its
// shutdown and waits until it accepts TCP connections.
func (p *Proxy) startEnv(t testing.TB, env []string, bin string, args ...string) {
	t.Helper()
	out, err := os.OpenFile(p.output, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("e2e: %s: %v", p.Name, err)
	}
	defer out.Close()

	cmd := exec.Command(bin, args...)
	cmd.Dir = p.Dir
	cmd.Env = env
	cmd.Stdin = nil
	cmd.Stdout = out
	cmd.Stderr = out
	// A process group of its own lets the cleanup reach any children
	// (nginx's worker, Apache's children) and keeps terminal signals
	// meant for go test away from the proxy.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("e2e: %s: start %s: %v", p.Name, bin, err)
	}
	p.cmd = cmd
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(t) })

	if err := p.waitReady(); err != nil {
		t.Fatalf("e2e: %s: %v\n%s", p.Name, err, p.Logs())
	}
}

// waitReady polls the listen address until it accepts a connection, the
// process exits or readyTimeout passes.
func (p *Proxy) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	delay := 5 * time.Millisecond
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("exited before accepting connections: %v", p.err)
		default:
		}
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections on %s after %v: %v", p.Addr, readyTimeout, err)
		}
		select {
		case <-p.exited:
		case <-time.After(delay):
		}
		delay = min(delay*2, 100*time.Millisecond)
	}
}

// stop sends SIGTERM to the process, kills its group if it lingers, and
// logs the proxy's output and error log when the test failed.
func (p *Proxy) stop(t testing.TB) {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		t.Logf("e2e: %s did not exit within %v of SIGTERM; killing it", p.Name, stopTimeout)
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
	// Children that outlived their parent (none expected) go too.
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Logf("e2e: %s: kill process group %d: %v", p.Name, pgid, err)
	}
	if t.Failed() {
		t.Logf("e2e: %s logs:\n%s", p.Name, p.Logs())
	}
}

// Logs returns the proxy's error log and, when separate, its stdout and
// stderr.
func (p *Proxy) Logs() string {
	paths := []string{p.ErrorLog}
	if p.output != p.ErrorLog {
		paths = append(paths, p.output)
	}
	var b strings.Builder
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				fmt.Fprintf(&b, "--- %s: %v\n", path, err)
			}
			continue
		}
		fmt.Fprintf(&b, "--- %s (%d bytes)\n%s", filepath.Base(path), len(data), data)
	}
	return b.String()
}
