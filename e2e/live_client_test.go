//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// Bounds of the client role. Dialing 64 at a time keeps the server's
// accept queue short, and a dial that still fails (a reset under load) is
// tried again a few times before it counts as failed.
const (
	dialConcurrency = 64
	dialAttempts    = 5
	dialTimeout     = 15 * time.Second
	connectTimeout  = 3 * time.Minute // all the dials together
	writeTimeout    = 10 * time.Second
	maxSilent       = 20 // connections listed by an echo report
)

// clientHello is the client role's first line, once every dial ended.
type clientHello struct {
	Connected  int           `json:"connected"`
	Failed     int           `json:"failed"`
	FirstError string        `json:"first_error,omitempty"`
	Elapsed    time.Duration `json:"elapsed"`
}

// echoReport is the reply to "echo": one message on every connection
// still open, and how many came back.
type echoReport struct {
	Sent        int   `json:"sent"`
	Echoed      int   `json:"echoed"`
	WriteErrors int   `json:"write_errors"`
	Silent      []int `json:"silent,omitempty"` // the first few without an echo
}

// closeRecord is how one connection ended, seen by the client.
type closeRecord struct {
	Conn int `json:"conn"`
	// Code and Reason are the server's close frame; Code is -1 and Reason
	// the error when the connection failed without one.
	Code   int    `json:"code"`
	Reason string `json:"reason"`
	At     int64  `json:"at"` // Unix nanoseconds, for the parent to compare with its clock
}

// closesReport is the reply to "closes": every connection ended so far.
type closesReport struct {
	Closes []closeRecord `json:"closes"`
}

// liveClient holds the client role's connections.
type liveClient struct {
	conns []*liveConn // by index; nil where the dial failed

	echoed  atomic.Int64
	echoNew chan struct{} // a token after each echo, for waiters

	mu       sync.Mutex
	closes   []closeRecord
	closeNew chan struct{} // a token after each close, for waiters

	readers sync.WaitGroup
}

// liveConn is one connection with its reader's view of it.
type liveConn struct {
	ws     *websocket.Conn
	echoes atomic.Int64
	closed atomic.Bool
}

// runLiveClient is the client role: it opens one connection per
// certificate (up to the number the environment asks for), reports, and
// answers the parent's requests until its stdin closes.
func runLiveClient(t *testing.T) {
	dir := os.Getenv(liveDirEnv)
	n, err := strconv.Atoi(os.Getenv(liveConnsEnv))
	require.NoError(t, err)
	certs, err := readClientCerts(dir)
	require.NoError(t, err)
	require.LessOrEqual(t, n, len(certs), "fewer certificates than connections")
	pool, err := readRootPool(dir)
	require.NoError(t, err)

	c := &liveClient{conns: make([]*liveConn, n), echoNew: make(chan struct{}, 1), closeNew: make(chan struct{}, 1)}
	defer c.closeAll()
	hello := c.dialAll(os.Getenv(liveAddrEnv), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, certs[:n])

	role := newLiveRole()
	role.send(t, hello)
	for {
		req, ok := role.recv(t)
		if !ok {
			return
		}
		switch req.Cmd {
		case "echo":
			role.send(t, c.echoAll(req.Wait))
		case "closes":
			role.send(t, c.waitCloses(req.Want, req.Wait))
		default:
			t.Fatalf("client: unknown command %q", req.Cmd)
		}
	}
}

// dialAll connects client i with certs[i], dialConcurrency at a time, and
// starts each connection's reader.
func (c *liveClient) dialAll(addr string, base *tls.Config, certs []tls.Certificate) clientHello {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	var (
		mu      sync.Mutex
		hello   clientHello
		workers sync.WaitGroup
	)
	jobs := make(chan int)
	for range dialConcurrency {
		workers.Go(func() {
			for i := range jobs {
				ws, err := dialRetrying(ctx, addr, base, &certs[i])
				mu.Lock()
				if err != nil {
					hello.Failed++
					if hello.FirstError == "" {
						hello.FirstError = fmt.Sprintf("conn %d: %v", i, err)
					}
				} else {
					hello.Connected++
				}
				mu.Unlock()
				if err == nil {
					lc := &liveConn{ws: ws}
					c.conns[i] = lc
					c.readers.Go(func() { c.read(i, lc) })
				}
			}
		})
	}
	for i := range certs {
		jobs <- i
	}
	close(jobs)
	workers.Wait()
	hello.Elapsed = time.Since(start)
	return hello
}

// dialRetrying opens one connection presenting cert, trying again after
// a failure until dialAttempts or ctx ends.
func dialRetrying(ctx context.Context, addr string, base *tls.Config, cert *tls.Certificate) (*websocket.Conn, error) {
	cfg := base.Clone()
	// Present the certificate whatever CA list the server sends.
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	d := websocket.Dialer{TLSClientConfig: cfg, HandshakeTimeout: dialTimeout}
	var err error
	for attempt := range dialAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, errors.Join(err, ctx.Err())
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			}
		}
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		var ws *websocket.Conn
		ws, _, err = d.DialContext(dctx, "wss://"+addr+"/", nil)
		cancel()
		if err == nil {
			return ws, nil
		}
	}
	return nil, err
}

// read counts lc's echoes until it ends, then records how.
func (c *liveClient) read(i int, lc *liveConn) {
	for {
		_, _, err := lc.ws.ReadMessage()
		if err != nil {
			rec := closeRecord{Conn: i, Code: -1, Reason: err.Error(), At: time.Now().UnixNano()}
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				rec.Code, rec.Reason = ce.Code, ce.Text
			}
			lc.closed.Store(true)
			_ = lc.ws.Close()
			c.mu.Lock()
			c.closes = append(c.closes, rec)
			c.mu.Unlock()
			token(c.closeNew)
			return
		}
		lc.echoes.Add(1)
		c.echoed.Add(1)
		token(c.echoNew)
	}
}

// token leaves a token in ch unless one is already waiting.
func token(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// echoAll sends one message on every open connection, dialConcurrency at
// a time, and waits up to wait for the echoes.
func (c *liveClient) echoAll(wait time.Duration) echoReport {
	var (
		rep     echoReport
		mu      sync.Mutex
		workers sync.WaitGroup
	)
	before := c.echoed.Load()
	marks := make([]int64, len(c.conns))
	sent := make([]bool, len(c.conns))
	jobs := make(chan int)
	for range dialConcurrency {
		workers.Go(func() {
			for i := range jobs {
				lc := c.conns[i]
				marks[i] = lc.echoes.Load()
				_ = lc.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
				err := lc.ws.WriteMessage(websocket.TextMessage, []byte("ping"))
				mu.Lock()
				if err != nil {
					rep.WriteErrors++
				} else {
					rep.Sent++
					sent[i] = true
				}
				mu.Unlock()
			}
		})
	}
	for i, lc := range c.conns {
		if lc != nil && !lc.closed.Load() {
			jobs <- i
		}
	}
	close(jobs)
	workers.Wait()

	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for c.echoed.Load()-before < int64(rep.Sent) {
		select {
		case <-c.echoNew:
		case <-deadline.C:
			goto report
		}
	}
report:
	for i, lc := range c.conns {
		if !sent[i] {
			continue
		}
		if lc.echoes.Load() > marks[i] {
			rep.Echoed++
		} else if len(rep.Silent) < maxSilent {
			rep.Silent = append(rep.Silent, i)
		}
	}
	return rep
}

// waitCloses waits up to wait for at least want connections to have
// ended, and reports every one that has.
func (c *liveClient) waitCloses(want int, wait time.Duration) closesReport {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		n := len(c.closes)
		c.mu.Unlock()
		if n >= want {
			break
		}
		select {
		case <-c.closeNew:
			continue
		case <-deadline.C:
		}
		break
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rep := closesReport{Closes: slices.Clone(c.closes)}
	slices.SortFunc(rep.Closes, func(a, b closeRecord) int { return a.Conn - b.Conn })
	return rep
}

// closeAll closes every connection, the way a client that just goes away
// would, and waits for the readers to notice.
func (c *liveClient) closeAll() {
	for _, lc := range c.conns {
		if lc != nil {
			_ = lc.ws.Close()
		}
	}
	c.readers.Wait()
}
