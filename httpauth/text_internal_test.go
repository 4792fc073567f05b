package httpauth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTruncateEdges(t *testing.T) {
	s32 := strings.Repeat("x", 32)
	assert.Equal(t, s32, truncate(s32))
	assert.Equal(t, s32+"…", truncate(s32+"y"))
	cn := strings.Repeat("x", 31) + "é" // the cut falls inside é
	assert.Equal(t, strings.Repeat("x", 31)+"…", truncate(cn), "never half a character")
}
