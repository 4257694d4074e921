package cardreader

import (
	"path/filepath"
	"testing"

	"github.com/settle-agent/settle-agent/internal/golden"
)

// checkGolden compares got with testdata/name, or rewrites it under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}
