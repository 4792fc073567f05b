package httpauth

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidHeaderNameEdges(t *testing.T) {
	for _, n := range []string{"a", "z", "A", "Z", "0", "9", "X-SSL-Client-Cert", "!#$%&'*+-.^_`|~"} {
		assert.True(t, validHeaderName(n), "%q", n)
	}
	for _, n := range []string{"", "@", "[", "x{", "{", "/", ":", "X-Cert:", "X Cert", "é", "\x7f"} {
		assert.False(t, validHeaderName(n), "%q", n)
	}
}
