package main

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

// server is an HTTPS server whose Close also ends the WebSocket connections
// it upgraded: http.Server's Close and Shutdown forget a connection once it
// is hijacked, so the handlers are counted here and their contexts end when
// Close begins.
type server struct {
	URL string // https://127.0.0.1:port

	srv    *http.Server
	served chan error // Serve's result
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	active    sync.WaitGroup
	closeOnce sync.Once
	err       error
}

// startServer listens on addr and serves h over TLS. The listener speaks
// HTTP/1.1 only, which a WebSocket upgrade needs.
func startServer(addr string, tlsConfig *tls.Config, h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{URL: "https://" + ln.Addr().String(), served: make(chan error, 1), cancel: cancel}
	s.srv = &http.Server{
		Handler:           s.track(h),
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { s.served <- s.srv.Serve(tls.NewListener(ln, tlsConfig)) }()
	return s, nil
}

// track counts the requests in flight, and refuses new ones once Close
// has begun.
func (s *server) track(h http.Handler) http.Handler {
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

// Close stops the server, ends every connection it upgraded and waits for
// their handlers to return.
func (s *server) Close() error {
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
	})
	return s.err
}

// lockedWriter serializes writes from the server's logger and the devices.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
