//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
)

// TestLoadAndLeak drives 2,000 upgrades at concurrency 64 through a gated
// gorilla server over loopback TLS, half of them refused (forged, expired,
// denied), then checks that no status was unexpected, that the server
// closed every refused connection, and that goroutines and heap return to
// their baseline once the clients are gone.
func TestLoadAndLeak(t *testing.T) {
	const total, concurrency = 2000, 64
	pki := testpki.MustSet(t)
	mallory, err := pki.Intermediate.Leaf(testpki.WithCN("mallory"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := httpauth.New(httpauth.Config{Roots: pki.Root.Pool(), Authorize: httpauth.AllowCN("alice", "bob")})
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Int64
	srv := httptest.NewUnstartedServer(gorilla.Handler(a, nil, func(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity) {
		defer conn.Close()
		served.Add(1)
		mt, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		_ = conn.WriteMessage(mt, append([]byte(id.Certificate.Subject.CommonName+":"), msg...))
	}))
	if srv.TLS, err = a.TLSConfig(pki.Server.TLSCertificate()); err != nil {
		t.Fatal(err)
	}
	srv.StartTLS()
	defer srv.Close()

	baseGoroutines, baseHeap := settle()

	kinds := []struct {
		name   string
		leaf   *testpki.Leaf
		status int
	}{
		{"alice", pki.Alice, 101},
		{"forged", pki.Forged, 401},
		{"bob", pki.Bob, 101},
		{"expired", pki.Expired, 401},
		{"alice", pki.Alice, 101},
		{"denied", mallory, 403},
		{"bob", pki.Bob, 101},
		{"forged", pki.Forged, 401},
	}
	var (
		accepted, refused atomic.Int64
		mu                sync.Mutex
		failures          []string
		wg                sync.WaitGroup
	)
	jobs := make(chan int)
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for i := range jobs {
				k := kinds[i%len(kinds)]
				var err error
				if k.status == 101 {
					err = loadUpgrade(srv.Listener.Addr().String(), pki, k.leaf)
					if err == nil {
						accepted.Add(1)
					}
				} else {
					err = loadRefused(srv.Listener.Addr().String(), pki, k.leaf, k.status)
					if err == nil {
						refused.Add(1)
					}
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%d %s: %v", i, k.name, err))
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
	elapsed := time.Since(start)

	if len(failures) > 0 {
		t.Fatalf("%d of %d upgrades went wrong; first: %s", len(failures), total, failures[0])
	}
	if served.Load() != accepted.Load() {
		t.Errorf("server served %d connections, clients saw %d accepted", served.Load(), accepted.Load())
	}

	goroutines, heap := settleTo(baseGoroutines)
	t.Logf("load: %d upgrades in %v = %.0f upgrades/s at concurrency %d; accepted %d, refused %d",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), concurrency, accepted.Load(), refused.Load())
	t.Logf("leak: goroutines %d -> %d; heap %.1f MiB -> %.1f MiB", baseGoroutines, goroutines, mib(baseHeap), mib(heap))
	if goroutines > baseGoroutines {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines did not return to baseline: %d > %d\n%s", goroutines, baseGoroutines, buf[:runtime.Stack(buf, true)])
	}
	// Near baseline: the TLS session caches and the Authenticator may keep
	// a little; a leak of one connection's buffers per request would be
	// tens of MiB after 2,000 upgrades.
	if heap > baseHeap+8<<20 {
		t.Errorf("heap did not return near baseline: %.1f MiB > %.1f MiB + 8 MiB", mib(heap), mib(baseHeap))
	}
}

func loadTLSConfig(pki *testpki.Set, leaf *testpki.Leaf) *tls.Config {
	cert := leaf.TLSCertificate()
	return &tls.Config{
		RootCAs:    pki.Root.Pool(),
		MinVersion: tls.VersionTLS12,
		// Send the certificate even when the server's CA list does not
		// name its issuer, as curl does; Go would otherwise send none.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		ClientSessionCache:   nil, // a full handshake every time
	}
}

// loadUpgrade performs an accepted upgrade and one echo.
func loadUpgrade(addr string, pki *testpki.Set, leaf *testpki.Leaf) error {
	d := websocket.Dialer{TLSClientConfig: loadTLSConfig(pki, leaf), HandshakeTimeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := d.DialContext(ctx, "wss://"+addr+"/ws", nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("status %d: %w", resp.StatusCode, err)
		}
		return err
	}
	defer conn.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := conn.WriteMessage(websocket.TextMessage, []byte("ping")); err != nil {
		return err
	}
	_, msg, err := conn.ReadMessage()
	if err != nil {
		return err
	}
	if want := leaf.Cert.Subject.CommonName + ":ping"; string(msg) != want {
		return fmt.Errorf("echo %q, want %q", msg, want)
	}
	return conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
}

// loadRefused sends an upgrade request on a raw TLS connection, checks the
// raw refusal and that the server then closes the connection.
func loadRefused(addr string, pki *testpki.Set, leaf *testpki.Leaf, want int) error {
	d := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, loadTLSConfig(pki, leaf))
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("status %d, want %d", resp.StatusCode, want)
	}
	if !resp.Close { // net/http folds "Connection: close" into Close
		return errors.New("refusal without Connection: close")
	}
	// The server must close: the next read ends, it does not time out.
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("connection not closed by the server after the refusal: %v", err)
	}
	return nil
}

// settle returns the goroutine count and live heap once the runtime is quiet.
func settle() (int, uint64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}

// settleTo waits (bounded) for the goroutine count to fall to target, as
// server-side handlers finish after their clients are gone.
func settleTo(target int) (int, uint64) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, heap := settle()
		if n <= target || time.Now().After(deadline) {
			return n, heap
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
