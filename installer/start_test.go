package installer

import (
	"os"
	"path/filepath"
	"testing"
)

// A failed start shows what this start logged, not an older failure.
func TestFileTail_SinceOffset(t *testing.T) {
	p := filepath.Join(t.TempDir(), "agent.err")
	old := "old failure 1\nold failure 2\n"
	if err := os.WriteFile(p, []byte(old+"this start: port taken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := fileTail(p, int64(len(old)), 15); got != "this start: port taken" {
		t.Errorf("since the mark: got %q; want only this start's line", got)
	}
	if got := fileTail(p, 0, 2); got != "old failure 2\nthis start: port taken" {
		t.Errorf("last 2 lines: got %q", got)
	}
	if got := fileTail(p, 1<<20, 15); got == "" {
		t.Errorf("a file shorter than the mark (rotated): got nothing; want all of it")
	}
	if got := fileTail(filepath.Join(t.TempDir(), "none"), 0, 15); got != "" {
		t.Errorf("a missing file: got %q; want nothing", got)
	}
}
