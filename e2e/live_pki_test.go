//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/certgate/certgate/internal/testpki"
)

// Files of the PKI directory the parent of TestTenThousandLiveConnections
// writes and its child processes read.
const (
	liveRootFile      = "root.pem"
	liveServerFile    = "server.pem"
	liveServerKeyFile = "server-key.pem"
	liveClientsFile   = "clients.pem" // every client leaf, in index order
	liveClientKeyFile = "client-key.pem"
	liveCRLFile       = "root.crl"
)

// livePKI is one root that issues the server's certificate and n client
// certificates. The clients share one ECDSA key: signing a certificate
// costs microseconds, generating a key far more, and the gate tells the
// clients apart by certificate (serial), not by key.
type livePKI struct {
	root    *testpki.Authority
	clients []*x509.Certificate // client i has serial liveSerial(i)
}

// liveSerial is client i's serial: distinct, and easy to read in a CRL.
func liveSerial(i int) *big.Int { return big.NewInt(int64(1_000_000 + i)) }

// writeLivePKI mints the PKI for n clients into dir, with a CRL that
// revokes nothing.
func writeLivePKI(tb testing.TB, dir string, n int) *livePKI {
	tb.Helper()
	root, err := testpki.NewRoot()
	require.NoError(tb, err)
	server, err := root.Server()
	require.NoError(tb, err)
	serverKey, err := server.KeyPEM()
	require.NoError(tb, err)
	clientKey := testpki.ECKey(tb, elliptic.P256())
	clientKeyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	require.NoError(tb, err)

	p := &livePKI{root: root, clients: make([]*x509.Certificate, n)}
	clientsPEM := make([]byte, 0, n*800)
	for i := range n {
		tmpl := testpki.ClientTemplate(fmt.Sprintf("client-%d", i))
		tmpl.SerialNumber = liveSerial(i)
		p.clients[i] = testpki.Sign(tb, tmpl, root.Cert, &clientKey.PublicKey, root.Key)
		clientsPEM = append(clientsPEM, testpki.PEM(p.clients[i])...)
	}
	files := map[string][]byte{
		liveRootFile:      root.PEM(),
		liveServerFile:    server.ChainPEM(),
		liveServerKeyFile: serverKey,
		liveClientsFile:   clientsPEM,
		liveClientKeyFile: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: clientKeyDER}),
	}
	for name, data := range files {
		require.NoError(tb, os.WriteFile(filepath.Join(dir, name), data, 0o600))
	}
	p.writeCRL(tb, dir, 1)
	return p
}

// writeCRL replaces the CRL in dir by one numbered number that revokes the
// given clients. It writes a temporary file and renames it over the old
// one, so that the watcher reads either list whole, never half a file.
func (p *livePKI) writeCRL(tb testing.TB, dir string, number int64, revoked ...int) {
	tb.Helper()
	leaves := make([]*testpki.Leaf, len(revoked))
	for k, i := range revoked {
		leaves[k] = &testpki.Leaf{Cert: p.clients[i]}
	}
	crl, err := p.root.CRL(number, leaves...)
	require.NoError(tb, err)
	tmp, err := os.CreateTemp(dir, ".crl-*")
	require.NoError(tb, err)
	_, err = tmp.Write(crl)
	require.NoError(tb, errors.Join(err, tmp.Close()))
	require.NoError(tb, os.Rename(tmp.Name(), filepath.Join(dir, liveCRLFile)))
}

// readPEMFile returns the DER of every block of type typ in dir/name.
func readPEMFile(dir, name, typ string) ([][]byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	var ders [][]byte
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type == typ {
			ders = append(ders, b.Bytes)
		}
	}
	if len(ders) == 0 {
		return nil, fmt.Errorf("no %s in %s", typ, name)
	}
	return ders, nil
}

// readRootPool is the root of dir as a pool, for either side to verify
// the other.
func readRootPool(dir string) (*x509.CertPool, error) {
	ders, err := readPEMFile(dir, liveRootFile, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	root, err := x509.ParseCertificate(ders[0])
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return pool, nil
}

// readClientCerts returns the client certificates of dir, in index order,
// each with the shared key.
func readClientCerts(dir string) ([]tls.Certificate, error) {
	ders, err := readPEMFile(dir, liveClientsFile, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	keyDER, err := readPEMFile(dir, liveClientKeyFile, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(keyDER[0])
	if err != nil {
		return nil, err
	}
	if _, ok := key.(*ecdsa.PrivateKey); !ok {
		return nil, fmt.Errorf("client key is a %T, want ECDSA", key)
	}
	certs := make([]tls.Certificate, len(ders))
	for i, der := range ders {
		certs[i] = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	return certs, nil
}
