//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// buildExample compiles the program under examples/<name> into a temporary
// directory and returns the binary's path.
func buildExample(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, "./examples/"+name)
	cmd.Dir = moduleRoot(t)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// moduleRoot is the nearest directory above the working directory (e2e/
// under go test) that holds go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for range 10 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		dir = filepath.Dir(dir)
	}
	require.FailNow(t, "no go.mod above the working directory")
	return ""
}

// replica is one server process started from a built example. It must log
// JSON records on stdout, one of them {"msg":"listening","addr":...}.
type replica struct {
	Addr   string
	cmd    *exec.Cmd
	out    *replicaLog
	exited chan struct{}
	err    error // set before exited is closed
}

// startReplica runs bin with args until the test ends, and waits for its
// address. Its output is logged if the test fails.
func startReplica(t *testing.T, name, bin string, args ...string) *replica {
	t.Helper()
	r := &replica{
		cmd:    exec.Command(bin, args...),
		out:    &replicaLog{addr: make(chan string, 1)},
		exited: make(chan struct{}),
	}
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	require.NoError(t, r.cmd.Start())
	go func() {
		r.err = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, r.out.String())
		}
	})
	select {
	case r.Addr = <-r.out.addr:
		return r
	case <-r.exited:
		require.FailNow(t, name+" exited before listening", "%v\n%s", r.err, r.out.String())
	case <-time.After(gateTimeout):
		require.FailNow(t, name+" did not log its address", "%s", r.out.String())
	}
	return nil
}

// stop asks the process to end as Kubernetes does (SIGTERM) and kills it
// if it has not within a few seconds.
func (r *replica) stop() {
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = r.cmd.Process.Kill()
	}
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// replicaLog collects a replica's output and passes on the address of its
// "listening" record.
type replicaLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	scanned int // bytes of buf already split into lines
	addr    chan string
	found   bool
}

func (l *replicaLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for !l.found {
		line, _, ok := bytes.Cut(l.buf.Bytes()[l.scanned:], []byte("\n"))
		if !ok {
			break
		}
		l.scanned += len(line) + 1
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
			l.found = true
			l.addr <- rec.Addr
		}
	}
	return len(p), nil
}

func (l *replicaLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.TrimSpace(l.buf.String())
}
