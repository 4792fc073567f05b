package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
)

// KeyType selects the algorithm of a generated key. The zero value is ECDSA.
type KeyType int

const (
	// ECDSA is an ECDSA key on P-256, the default: fast to generate.
	ECDSA KeyType = iota
	// RSA is a 2048-bit RSA key. Generating one takes far longer than the
	// others, so ask for it only where RSA itself is under test.
	RSA
	// Ed25519 is an Ed25519 key.
	Ed25519
)

// String returns the name of the key type, such as "ECDSA".
func (t KeyType) String() string {
	switch t {
	case ECDSA:
		return "ECDSA"
	case RSA:
		return "RSA"
	case Ed25519:
		return "Ed25519"
	default:
		return fmt.Sprintf("KeyType(%d)", int(t))
	}
}

// generate returns a fresh private key of type t.
func (t KeyType) generate() (crypto.Signer, error) {
	switch t {
	case ECDSA:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("testpki: generate ECDSA key: %w", err)
		}
		return k, nil
	case RSA:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("testpki: generate RSA key: %w", err)
		}
		return k, nil
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("testpki: generate Ed25519 key: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("testpki: unknown key type %d", int(t))
	}
}
