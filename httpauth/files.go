package httpauth

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// readFiles reads path, or the regular files of the directory path, into
// one byte string to hash and parse: each non-blank file as its name, a
// NUL, its length and its content. Nothing non-blank reads as empty.
func readFiles(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	names := []string{path}
	if info.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		names = names[:0]
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				names = append(names, filepath.Join(path, e.Name()))
			}
		}
		slices.Sort(names)
	}
	var out []byte
	for _, name := range names {
		if info, err := os.Stat(name); err != nil || !info.Mode().IsRegular() {
			continue // a subdirectory, or a link gone in the meantime
		}
		content, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if blank(content) {
			continue
		}
		out = append(out, filepath.Base(name)...)
		out = append(out, 0)
		out = binary.BigEndian.AppendUint64(out, uint64(len(content)))
		out = append(out, content...)
	}
	return out, nil
}

// frames yields the files readFiles framed.
func frames(data []byte) func(yield func(string, []byte) bool) {
	return func(yield func(string, []byte) bool) {
		for len(data) > 0 {
			name, rest, ok := bytes.Cut(data, []byte{0})
			if !ok || len(rest) < 8 {
				return
			}
			n := binary.BigEndian.Uint64(rest)
			rest = rest[8:]
			if uint64(len(rest)) < n {
				return
			}
			if !yield(string(name), rest[:n]) {
				return
			}
			data = rest[n:]
		}
	}
}
