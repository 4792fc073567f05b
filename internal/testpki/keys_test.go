package testpki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyTypeGenerate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		kt    KeyType
		check func(t *testing.T, key any)
	}{
		{"ECDSA P-256 by default", ECDSA, func(t *testing.T, key any) {
			k, ok := key.(*ecdsa.PrivateKey)
			require.True(t, ok, "got %T", key)
			assert.Equal(t, elliptic.P256(), k.Curve)
		}},
		{"RSA 2048", RSA, func(t *testing.T, key any) {
			k, ok := key.(*rsa.PrivateKey)
			require.True(t, ok, "got %T", key)
			assert.Equal(t, 2048, k.N.BitLen())
		}},
		{"Ed25519", Ed25519, func(t *testing.T, key any) {
			_, ok := key.(ed25519.PrivateKey)
			assert.True(t, ok, "got %T", key)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, err := tt.kt.generate()
			require.NoError(t, err)
			tt.check(t, key)
		})
	}
}

func TestKeyTypeZeroIsECDSA(t *testing.T) {
	t.Parallel()
	var kt KeyType
	assert.Equal(t, ECDSA, kt)
}

func TestKeyTypeUnknown(t *testing.T) {
	t.Parallel()
	_, err := KeyType(42).generate()
	assert.EqualError(t, err, "testpki: unknown key type 42")

	_, err = NewRoot(WithKey(KeyType(-1)))
	assert.EqualError(t, err, "testpki: unknown key type -1")
}

func TestKeyTypeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kt   KeyType
		want string
	}{
		{"ecdsa", ECDSA, "ECDSA"},
		{"rsa", RSA, "RSA"},
		{"ed25519", Ed25519, "Ed25519"},
		{"unknown", KeyType(9), "KeyType(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, tt.kt.String())
		})
	}
}
