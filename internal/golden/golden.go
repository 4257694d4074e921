// Package golden compares a test's output with a file under testdata/ and rewrites
// the file when the tests run with -update, for every package's golden tests.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Update reports whether the tests run with -update.
func Update() bool { return *update }

// Check compares got with the file at path (relative to the package: "testdata/x"),
// or writes got there under -update.
func Check(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden file %s: %v (go test -update creates it)", path, err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs (go test -update rewrites it after review):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
