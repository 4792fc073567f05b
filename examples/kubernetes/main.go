// Kubernetes is a WebSocket echo server (GET /ws) to run as several
// replicas. Each replica reads the client CAs and the CRLs from files
// Kubernetes mounts from a Secret and a ConfigMap, and closes those of its
// own live connections that no longer pass when the files change; replicas
// never talk to each other. -mode ingress takes the certificate from
// ingress-nginx's ssl-client-cert header, believed only from
// -trusted-proxies; -mode passthrough serves TLS itself. GET /healthz is for
// the kubelet's probes. Flags fall back to the environment variables named
// in -help.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
)

type config struct {
	addr, mode, caPath, crlPath, reload string
	proxies, certPath, keyPath          string
}

func main() {
	var c config
	str := func(p *string, name, env, def, usage string) {
		if v, ok := os.LookupEnv(env); ok {
			def = v
		}
		flag.StringVar(p, name, def, usage+" ($"+env+")")
	}
	str(&c.addr, "addr", "LISTEN_ADDR", ":8443", "address to listen on")
	str(&c.mode, "mode", "MODE", "ingress", "ingress (behind ingress-nginx) or passthrough (TLS here)")
	str(&c.caPath, "client-ca", "CLIENT_CA", "/etc/certgate/ca/ca.pem", "PEM bundle of the CAs that issue client certificates")
	str(&c.crlPath, "crl", "CRL_PATH", "/etc/certgate/crl", "CRL file, or a directory of CRL files")
	str(&c.reload, "reload", "RELOAD_INTERVAL", "10s", "how often to look for changed CA and CRL files")
	str(&c.proxies, "trusted-proxies", "TRUSTED_PROXIES", "", "ingress mode: comma-separated CIDRs of the ingress controller pods")
	str(&c.certPath, "tls-cert", "TLS_CERT", "/etc/certgate/tls/tls.crt", "passthrough mode: server certificate chain, PEM")
	str(&c.keyPath, "tls-key", "TLS_KEY", "/etc/certgate/tls/tls.key", "passthrough mode: server key, PEM")
	flag.Parse()

	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, c, log); err != nil {
		log.Error("exit", "err", err)
		os.Exit(1)
	}
}

// errShutdown ends the connections when the pod is asked to stop.
var errShutdown = errors.New("server shutting down")

// run serves until ctx ends, then closes live connections with 1001 so
// clients reconnect to another replica.
func run(ctx context.Context, c config, log *slog.Logger) error {
	base, stopAll := context.WithCancelCause(context.Background())
	defer stopAll(errShutdown)
	var live sync.WaitGroup
	srv, err := newServer(c, log, &live)
	if err != nil {
		return err
	}
	srv.BaseContext = func(net.Listener) context.Context { return base }
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "mode", c.mode)
	if srv.TLSConfig != nil {
		ln = tls.NewListener(ln, srv.TLSConfig) // HTTP/1.1 only: HTTP/2 cannot hijack
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx) // hijacked WebSockets are not its to wait for
	stopAll(errShutdown)
	live.Wait() // each echo gets a second for its close frame
	return err
}

// newServer builds the Authenticator from c and the routes around it.
func newServer(c config, log *slog.Logger, live *sync.WaitGroup) (*http.Server, error) {
	reload, err := time.ParseDuration(c.reload)
	if err != nil {
		return nil, fmt.Errorf("reload interval: %w", err)
	}
	// Kubernetes swaps a mounted Secret or ConfigMap by renaming its ..data
	// link, so each check sees the whole old or the whole new content.
	roots, err := httpauth.NewFileRoots(c.caPath, reload, httpauth.WithReloadLogger(log))
	if err != nil {
		return nil, err
	}
	crls, err := httpauth.NewCRLFiles(c.crlPath, reload, httpauth.WithReloadLogger(log))
	if err != nil {
		return nil, err
	}
	cfg := httpauth.Config{RootsProvider: roots, Revocation: []httpauth.RevocationChecker{crls}, Logger: log}
	if c.mode == "ingress" {
		var trusted []netip.Prefix
		for _, s := range strings.Split(c.proxies, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("trusted proxies: %w", err)
			}
			trusted = append(trusted, p)
		}
		// ingress-nginx sends $ssl_client_escaped_cert in ssl-client-cert only
		// with auth-tls-pass-certificate-to-upstream: "true"; without it, a
		// client's own ssl-client-cert header passes through unchanged.
		cfg.Source = httpauth.Source{Header: "ssl-client-cert", Encoding: httpauth.URLPEM,
			VerifyHeader: "ssl-client-verify", VerifyValue: "SUCCESS", TrustedProxies: trusted}
	} else if c.mode != "passthrough" {
		return nil, fmt.Errorf("mode %q: want ingress or passthrough", c.mode)
	}
	a, err := httpauth.New(cfg)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	ws := gorilla.Handler(a, nil, func(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity) {
		echo(ctx, conn, id, log)
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		live.Add(1) // before the upgrade, while Shutdown still waits for r
		defer live.Done()
		ws.ServeHTTP(w, r)
	})
	srv := &http.Server{Addr: c.addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if c.mode == "passthrough" {
		cert, err := tls.LoadX509KeyPair(c.certPath, c.keyPath)
		if err != nil {
			return nil, err
		}
		if srv.TLSConfig, err = a.TLSConfig(cert); err != nil {
			return nil, err
		}
	}
	return srv, nil
}

// echo sends every message back. certgate closes the connection with 1008
// when the certificate expires, is revoked or its CA is withdrawn.
func echo(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity, log *slog.Logger) {
	defer conn.Close()
	cn, _ := id.CommonName()
	log.Info("connected", "cn", cn, "fingerprint", id.Fingerprint)
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(context.Cause(ctx), errShutdown) {
			msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, errShutdown.Error())
			_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			_ = conn.Close()
		}
	})
	defer stop()
	for {
		typ, msg, err := conn.ReadMessage()
		if err != nil || conn.WriteMessage(typ, msg) != nil {
			return
		}
	}
}
