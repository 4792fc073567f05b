package testpki

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// handshakeResult is what each side of a test handshake saw.
type handshakeResult struct {
	server    tls.ConnectionState
	serverErr error
	clientErr error
}

// handshake runs one real TLS handshake on loopback: the server presents
// srv and requires a client certificate verified against clientCAs; the
// client presents client (none if nil) and verifies the server against
// serverRoots. version pins the TLS version.
//
// With force the client sends its certificate whatever the server asked
// for, as an attacker would; otherwise crypto/tls sends it only when its
// chain leads to one of the CAs the server named, which is what proves the
// chain from TLSCertificate is complete.
func handshake(t *testing.T, srv *Leaf, clientCAs *x509.CertPool, client *Leaf, force bool, serverRoots *x509.CertPool, version uint16) handshakeResult {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	deadline := time.Now().Add(10 * time.Second)

	type serverSide struct {
		state tls.ConnectionState
		err   error
	}
	done := make(chan serverSide, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- serverSide{err: err}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(deadline)
		conn := tls.Server(c, &tls.Config{
			Certificates: []tls.Certificate{srv.TLSCertificate()},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    clientCAs,
			MinVersion:   version,
			MaxVersion:   version,
		})
		err = conn.HandshakeContext(t.Context())
		if err == nil {
			// Proves to the client that the server accepted it; in TLS
			// 1.3 the client's handshake ends before the server's check.
			_, err = conn.Write([]byte("ok"))
		}
		done <- serverSide{conn.ConnectionState(), err}
	}()

	cfg := &tls.Config{
		RootCAs:    serverRoots,
		ServerName: "localhost",
		MinVersion: version,
		MaxVersion: version,
	}
	if client != nil {
		tc := client.TLSCertificate()
		cfg.Certificates = []tls.Certificate{tc}
		if force {
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return &tc, nil
			}
		}
	}
	var res handshakeResult
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(deadline)
	conn := tls.Client(c, cfg)
	if res.clientErr = conn.HandshakeContext(t.Context()); res.clientErr == nil {
		buf := make([]byte, 2)
		_, res.clientErr = io.ReadFull(conn, buf)
	}
	s := <-done
	res.server, res.serverErr = s.state, s.err
	return res
}

var tlsVersions = []struct {
	name    string
	version uint16
}{
	{"TLS 1.2", tls.VersionTLS12},
	{"TLS 1.3", tls.VersionTLS13},
}

func TestTLSHandshakeKeyTypes(t *testing.T) {
	t.Parallel()
	for _, kt := range []KeyType{ECDSA, RSA, Ed25519} {
		t.Run(kt.String(), func(t *testing.T) {
			t.Parallel()
			key := WithKey(kt)
			root, err := NewRoot(key)
			require.NoError(t, err)
			inter, err := root.Intermediate(key)
			require.NoError(t, err)
			client, err := inter.Leaf(key, WithCN("alice"))
			require.NoError(t, err)
			srv, err := root.Server(key)
			require.NoError(t, err)

			for _, v := range tlsVersions {
				t.Run(v.name, func(t *testing.T) {
					t.Parallel()
					res := handshake(t, srv, root.Pool(), client, false, root.Pool(), v.version)
					require.NoError(t, res.serverErr)
					require.NoError(t, res.clientErr)

					st := res.server
					assert.Equal(t, v.version, st.Version)
					require.Len(t, st.PeerCertificates, 2, "leaf and intermediate sent, root not")
					assert.Equal(t, client.Cert.Raw, st.PeerCertificates[0].Raw)
					assert.Equal(t, inter.Cert.Raw, st.PeerCertificates[1].Raw)
					require.Len(t, st.VerifiedChains, 1)
					assert.Equal(t, []*x509.Certificate{client.Cert, inter.Cert, root.Cert}, st.VerifiedChains[0])
				})
			}
		})
	}
}

func TestTLSHandshakeRefused(t *testing.T) {
	t.Parallel()
	s := MustSet(t)

	tests := []struct {
		name   string
		client *Leaf
		check  func(t *testing.T, err error)
	}{
		{"self-signed forgery", s.Forged, unknownAuthority},
		{"unknown CA", s.Stranger, unknownAuthority},
		{"expired leaf", s.Expired, invalidBecause(x509.Expired)},
		{"not yet valid leaf", s.NotYetValid, invalidBecause(x509.Expired)},
		{"server-only key usage", s.ServerOnly, invalidBecause(x509.IncompatibleUsage)},
		{"no client certificate", nil, func(t *testing.T, err error) {
			assert.ErrorContains(t, err, "client didn't provide a certificate")
		}},
	}
	for _, tt := range tests {
		for _, v := range tlsVersions {
			t.Run(tt.name+"/"+v.name, func(t *testing.T) {
				t.Parallel()
				res := handshake(t, s.Server, s.Root.Pool(), tt.client, true, s.Root.Pool(), v.version)
				require.Error(t, res.serverErr)
				tt.check(t, res.serverErr)
				assert.Error(t, res.clientErr, "client must see the refusal")
			})
		}
	}
}

func TestTLSHandshakeSetAccepts(t *testing.T) {
	t.Parallel()
	s := MustSet(t)
	for _, l := range []*Leaf{s.Alice, s.Bob} {
		t.Run(l.Cert.Subject.CommonName, func(t *testing.T) {
			t.Parallel()
			res := handshake(t, s.Server, s.Root.Pool(), l, false, s.Root.Pool(), tls.VersionTLS13)
			require.NoError(t, res.serverErr)
			require.NoError(t, res.clientErr)
			require.NotEmpty(t, res.server.VerifiedChains)
			assert.Equal(t, l.Cert.Raw, res.server.VerifiedChains[0][0].Raw)
		})
	}
}
