package httpauth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSanitizeEdges(t *testing.T) {
	assert.Equal(t, " a", sanitize("\x1f a"), "0x20 is kept, 0x1f removed")
	assert.Equal(t, "~", sanitize("~\x7f"), "DEL removed")
	assert.Equal(t, "\u00a0", sanitize("\u009f\u00a0"), "C1 removed, NBSP kept")
	exact := strings.Repeat("a", MaxPublicText)
	assert.Equal(t, exact, sanitize(exact))
	assert.Equal(t, exact, sanitize(exact+"b"))
	// A two-byte rune that would end at MaxPublicText+1 is dropped whole.
	assert.Equal(t, strings.Repeat("a", MaxPublicText-1), sanitize(strings.Repeat("a", MaxPublicText-1)+"é"))
}
