//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// kubeletVolume is a directory laid out as the kubelet lays out a mounted
// ConfigMap, Secret or projected volume (its AtomicWriter): the files live
// in a timestamped directory, ..data links to it, and each visible name
// links through ..data. An update writes a new timestamped directory and
// renames a new link over ..data, so a reader sees the old files or the
// new ones, never a mix.
type kubeletVolume struct {
	dir     string
	current string // name of the timestamped directory ..data points to
	version int
}

// newKubeletVolume writes files in the kubelet's layout into a new
// directory.
func newKubeletVolume(t *testing.T, files map[string][]byte) *kubeletVolume {
	t.Helper()
	v := &kubeletVolume{dir: t.TempDir()}
	v.current = v.writeVersion(t, files)
	require.NoError(t, os.Symlink(v.current, filepath.Join(v.dir, "..data")))
	for name := range files {
		require.NoError(t, os.Symlink(filepath.Join("..data", name), filepath.Join(v.dir, name)))
	}
	return v
}

// path is the visible path of a file, the one a container reads.
func (v *kubeletVolume) path(name string) string { return filepath.Join(v.dir, name) }

// update swaps in new content for the same file names as the kubelet does
// and returns the moment the swap took effect (the rename).
func (v *kubeletVolume) update(t *testing.T, files map[string][]byte) time.Time {
	t.Helper()
	next := v.writeVersion(t, files)
	tmp := filepath.Join(v.dir, "..data_tmp")
	require.NoError(t, os.Symlink(next, tmp))
	require.NoError(t, os.Rename(tmp, filepath.Join(v.dir, "..data"))) // atomic
	swapped := time.Now()
	require.NoError(t, os.RemoveAll(filepath.Join(v.dir, v.current)))
	v.current = next
	return swapped
}

// writeVersion writes files into a new timestamped directory and returns
// its name. The names are fixed, not the clock's, so runs are alike.
func (v *kubeletVolume) writeVersion(t *testing.T, files map[string][]byte) string {
	t.Helper()
	v.version++
	name := fmt.Sprintf("..2026_11_29_12_00_%02d.%09d", v.version-1, v.version)
	require.NoError(t, os.Mkdir(filepath.Join(v.dir, name), 0o755))
	for file, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(v.dir, name, file), data, 0o644))
	}
	return name
}
