// Package demoserver holds the server plumbing the runnable examples share, so
// each example's main.go shows only what certgate is about. Only the
// examples import it.
package demoserver

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is an HTTP or HTTPS server whose Close also ends the connections
// it hijacked (WebSockets, and the proxy's tunnels for them): http.Server's
// Close and Shutdown forget a connection once it is hijacked, so the
// handlers are counted here and their contexts end when Close begins.
type Server struct {
	URL        string // https://127.0.0.1:port, or http:// without TLS
	AfterClose func() // optional, run once the server is closed

	srv    *http.Server
	served chan error // Serve's result
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	active    sync.WaitGroup
	closeOnce sync.Once
	err       error
}

// Start listens on addr and serves h, over TLS when tlsConfig is
// set. It speaks HTTP/1.1 only, which a WebSocket upgrade needs.
func Start(addr string, tlsConfig *tls.Config, h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{URL: "http://" + ln.Addr().String(), served: make(chan error, 1), cancel: cancel}
	if tlsConfig != nil {
		s.URL = "https://" + ln.Addr().String()
		ln = tls.NewListener(ln, tlsConfig)
	}
	s.srv = &http.Server{
		Handler:           s.track(h),
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// track counts the requests in flight, and refuses new ones once Close
// has begun.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		s.active.Add(1)
		s.mu.Unlock()
		defer s.active.Done()
		h.ServeHTTP(w, r)
	})
}

// Close stops the server, ends every connection it hijacked and waits for
// their handlers to return.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		s.err = s.srv.Close()
		s.active.Wait()
		if err := <-s.served; !errors.Is(err, http.ErrServerClosed) {
			s.err = errors.Join(s.err, err)
		}
		if s.AfterClose != nil {
			s.AfterClose()
		}
	})
	return s.err
}

// LockedWriter serializes writes from several goroutines to W.
type LockedWriter struct {
	mu sync.Mutex
	W  io.Writer
}

// Write writes p to W while holding the lock.
func (l *LockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.W.Write(p)
}
