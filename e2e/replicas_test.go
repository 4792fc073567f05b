//go:build e2e

package e2e

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/certgate/certgate/internal/testpki"
)

// replicaReload is the replicas' -reload: how often each looks at the
// mounted files.
const replicaReload = 500 * time.Millisecond

// TestReplicasCloseRevokedClient runs three replicas of
// examples/kubernetes over one directory in the kubelet's volume layout,
// each with two live clients, and revokes one client the way an operator
// would with kubectl apply: the kubelet swaps ..data. Every replica must
// close the revoked client's connection by itself, with 1008 and the
// reason, within the reload interval and a second, and keep the other.
func TestReplicasCloseRevokedClient(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })

	pki := testpki.MustSet(t)
	bin := buildExample(t, "kubernetes")
	tlsDir := t.TempDir()
	serverKey, err := pki.Server.KeyPEM()
	require.NoError(t, err)
	writeFile(t, tlsDir, "tls.crt", pki.Server.ChainPEM())
	writeFile(t, tlsDir, "tls.key", serverKey)

	// Alice (A) will be revoked, Bob (B) stays. CRLFiles wants a CRL from
	// every CA of the chain: the intermediate's for the leaves, the root's
	// for the intermediate.
	vol := newKubeletVolume(t, map[string][]byte{
		"ca.pem":  pki.Root.PEM(),
		"crl.pem": replicaCRLs(t, pki, 1),
	})

	replicas := make([]*replica, 3)
	for i := range replicas {
		name := fmt.Sprintf("replica %d", i)
		replicas[i] = startReplica(t, name, bin, "-mode", "passthrough", "-addr", "127.0.0.1:0",
			"-client-ca", vol.path("ca.pem"), "-crl", vol.path("crl.pem"), "-reload", replicaReload.String(),
			"-tls-cert", filepath.Join(tlsDir, "tls.crt"), "-tls-key", filepath.Join(tlsDir, "tls.key"))
	}

	type closed struct {
		err error
		at  time.Time
	}
	var alices, bobs []*websocket.Conn
	ends := make([]chan closed, len(replicas))
	for i, r := range replicas {
		alices = append(alices, dialReplica(t, pki, r, pki.Alice))
		bobs = append(bobs, dialReplica(t, pki, r, pki.Bob))
		ends[i] = make(chan closed, 1)
		go func(conn *websocket.Conn, end chan<- closed) {
			// Only a reading client sees the close frame. Every read is
			// bounded, so this goroutine ends even if no close comes.
			_ = conn.SetReadDeadline(time.Now().Add(2 * gateTimeout))
			_, _, err := conn.ReadMessage()
			end <- closed{err, time.Now()}
		}(alices[i], ends[i])
	}

	swapped := vol.update(t, map[string][]byte{
		"ca.pem":  pki.Root.PEM(),
		"crl.pem": replicaCRLs(t, pki, 2, pki.Alice),
	})

	bound := replicaReload + time.Second
	deadline := swapped.Add(gateTimeout)
	for i := range replicas {
		select {
		case c := <-ends[i]:
			took := c.at.Sub(swapped)
			t.Logf("replica %d closed alice %v after the swap: %v", i, took.Round(time.Millisecond), c.err)
			var ce *websocket.CloseError
			if assert.ErrorAs(t, c.err, &ce, "replica %d", i) {
				assert.Equal(t, websocket.ClosePolicyViolation, ce.Code, "replica %d", i)
				assert.Equal(t, "certificate revoked", ce.Text, "replica %d", i)
			}
			assert.LessOrEqual(t, took, bound, "replica %d closed alice later than the reload interval and a second", i)
		case <-time.After(time.Until(deadline)):
			t.Errorf("replica %d kept alice's connection %v after the swap", i, gateTimeout)
		}
	}

	for i, r := range replicas {
		assert.NoError(t, echoOnce(bobs[i], "still here"), "replica %d: bob's connection", i)
		_, resp, err := websocketDialer(pki, pki.Alice).Dial("wss://"+r.Addr+"/ws", nil)
		if assert.ErrorIs(t, err, websocket.ErrBadHandshake, "replica %d: alice reconnecting", i) {
			assert.Equal(t, 401, resp.StatusCode, "replica %d: alice reconnecting", i)
			resp.Body.Close()
		}
	}
}

// replicaCRLs is the PEM of two CRLs numbered n: the root's, empty, and
// the intermediate's, revoking leaves.
func replicaCRLs(t *testing.T, pki *testpki.Set, n int64, revoked ...*testpki.Leaf) []byte {
	t.Helper()
	root, err := pki.Root.CRL(n)
	require.NoError(t, err)
	inter, err := pki.Intermediate.CRL(n, revoked...)
	require.NoError(t, err)
	return append(root, inter...)
}

func websocketDialer(pki *testpki.Set, leaf *testpki.Leaf) *websocket.Dialer {
	return &websocket.Dialer{
		HandshakeTimeout: gateTimeout,
		TLSClientConfig: &tls.Config{
			RootCAs:      pki.Root.Pool(),
			Certificates: []tls.Certificate{leaf.TLSCertificate()},
		},
	}
}

// dialReplica opens a WebSocket to r as leaf, checks that it echoes and
// closes it when the test ends.
func dialReplica(t *testing.T, pki *testpki.Set, r *replica, leaf *testpki.Leaf) *websocket.Conn {
	t.Helper()
	conn, resp, err := websocketDialer(pki, leaf).DialContext(t.Context(), "wss://"+r.Addr+"/ws", nil)
	require.NoError(t, err)
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, echoOnce(conn, "hello"))
	return conn
}

// echoOnce sends msg on conn and wants it back within gateTimeout.
func echoOnce(conn *websocket.Conn, msg string) error {
	if err := conn.SetWriteDeadline(time.Now().Add(gateTimeout)); err != nil {
		return err
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		return err
	}
	if err := conn.SetReadDeadline(time.Now().Add(gateTimeout)); err != nil {
		return err
	}
	_, got, err := conn.ReadMessage()
	if err != nil {
		return err
	}
	if string(got) != msg {
		return fmt.Errorf("echo: got %q, want %q", got, msg)
	}
	return nil
}
