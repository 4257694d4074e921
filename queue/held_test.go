package queue

import (
	"path/filepath"
	"testing"
	"time"
)

// A store file open in this process is held; closed, it is not; a missing file is
// not held.
func TestHeld_WhileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	if Held(path, 50*time.Millisecond) {
		t.Fatal("missing file: got held; want not held")
	}
	s, err := Open(path, &Options{NoSweep: true})
	if err != nil {
		t.Fatal(err)
	}
	if !Held(path, 50*time.Millisecond) {
		t.Error("open store: got not held; want held")
	}
	s.Close()
	if Held(path, 50*time.Millisecond) {
		t.Error("closed store: got held; want not held")
	}
}
