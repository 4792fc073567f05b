//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The children of TestTenThousandLiveConnections are the test binary
// itself, run again with these variables set: the server and the clients
// must live in separate processes, since 10,000 connections take 10,000
// descriptors on each side and one process may hold at most 20,000 here.
const (
	liveRoleEnv  = "CERTGATE_LIVE_ROLE"  // "server" or "client"
	liveDirEnv   = "CERTGATE_LIVE_DIR"   // the PKI directory
	liveModeEnv  = "CERTGATE_LIVE_MODE"  // server: "gated" or "bare"
	liveAddrEnv  = "CERTGATE_LIVE_ADDR"  // client: the server's host:port
	liveConnsEnv = "CERTGATE_LIVE_CONNS" // client: how many connections
)

// livePrefix starts every protocol line a child writes to stdout; other
// lines (the testing package's own, a panic) are kept for diagnostics.
// The parent writes requests to the child's stdin as bare JSON lines, and
// a child ends its role when stdin closes.
const livePrefix = "certgate-live "

// liveRequest is a command from the parent. Each gets exactly one reply.
type liveRequest struct {
	Cmd string `json:"cmd"` // "stats", "settle", "echo" or "closes"
	// Want is the goroutine count "settle" waits for, or the number of
	// closed connections "closes" waits for.
	Want int `json:"want,omitempty"`
	// Wait bounds that wait.
	Wait time.Duration `json:"wait,omitempty"`
}

// liveProc is a running child, seen from the parent.
type liveProc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan []byte   // protocol lines, prefix stripped; closed at EOF
	exit  chan struct{} // closed once the child has exited

	mu    sync.Mutex
	other []string // the first lines of other output, for diagnostics
}

// maxOtherLines caps the diagnostics kept from one child: a failing
// client might otherwise report 10,000 lines.
const maxOtherLines = 200

// startLiveProc re-runs this test in a child with the given role and
// extra environment ("KEY=value"), and stops it when the test ends.
func startLiveProc(tb testing.TB, name, role string, env ...string) *liveProc {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestTenThousandLiveConnections$", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), append([]string{liveRoleEnv + "=" + role}, env...)...)
	stdin, err := cmd.StdinPipe()
	require.NoError(tb, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(tb, err)
	require.NoError(tb, cmd.Start())

	p := &liveProc{name: name, cmd: cmd, stdin: stdin, lines: make(chan []byte, 16), exit: make(chan struct{})}
	var readers sync.WaitGroup
	readers.Go(func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		// A reply lists up to one record per connection.
		sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
		for sc.Scan() {
			if line, ok := bytes.CutPrefix(sc.Bytes(), []byte(livePrefix)); ok {
				p.lines <- bytes.Clone(line)
			} else {
				p.keep(sc.Text())
			}
		}
	})
	readers.Go(func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.keep("stderr: " + sc.Text())
		}
	})
	go func() {
		readers.Wait() // Wait closes the pipes: read them to the end first
		_ = cmd.Wait()
		close(p.exit)
	}()
	tb.Cleanup(func() { p.stop(tb) })
	return p
}

func (p *liveProc) keep(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.other) < maxOtherLines {
		p.other = append(p.other, line)
	}
}

// output is the child's other output so far, for a failure message.
func (p *liveProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.other, "\n")
}

// next decodes the child's next protocol line into reply, failing the test
// if none comes within wait.
func (p *liveProc) next(tb testing.TB, wait time.Duration, reply any) {
	tb.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			<-p.exit
			tb.Fatalf("%s exited (%v) without replying; its output:\n%s", p.name, p.cmd.ProcessState, p.output())
		}
		require.NoError(tb, json.Unmarshal(line, reply), "%s replied %.200q", p.name, line)
	case <-time.After(wait):
		tb.Fatalf("%s did not reply within %v; its output:\n%s", p.name, wait, p.output())
	}
}

// call sends req and decodes the reply, which must come within
// req.Wait plus wait.
func (p *liveProc) call(tb testing.TB, wait time.Duration, req liveRequest, reply any) {
	tb.Helper()
	b, err := json.Marshal(req)
	require.NoError(tb, err)
	_, err = p.stdin.Write(append(b, '\n'))
	require.NoError(tb, err, "%s: send %s", p.name, req.Cmd)
	p.next(tb, req.Wait+wait, reply)
}

// stop closes the child's stdin, which ends its role, and kills it if it
// has not exited within a bound: a client closing 10,000 connections
// needs a moment.
func (p *liveProc) stop(tb testing.TB) {
	tb.Helper()
	_ = p.stdin.Close()
	select {
	case <-p.exit:
		return
	case <-time.After(30 * time.Second):
	}
	tb.Errorf("%s did not exit within 30 s of its stdin closing; killing it", p.name)
	_ = p.cmd.Process.Kill()
	<-p.exit
}

// liveRole is a child's end of the protocol.
type liveRole struct {
	in *bufio.Scanner
}

func newLiveRole() *liveRole { return &liveRole{in: bufio.NewScanner(os.Stdin)} }

// send writes one protocol line. Only the role's own goroutine sends, so
// lines never interleave.
func (r *liveRole) send(tb testing.TB, v any) {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	_, err = fmt.Fprintf(os.Stdout, "%s%s\n", livePrefix, b)
	require.NoError(tb, err)
}

// recv returns the parent's next request, or false once stdin closes.
func (r *liveRole) recv(tb testing.TB) (liveRequest, bool) {
	tb.Helper()
	var req liveRequest
	if !r.in.Scan() {
		return req, false
	}
	require.NoError(tb, json.Unmarshal(r.in.Bytes(), &req))
	return req, true
}
