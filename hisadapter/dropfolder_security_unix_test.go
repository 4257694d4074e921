//go:build !windows

package hisadapter

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

// Issue 17 point 5: done/ and error/ were 0755 and .err files 0644, so moved CSVs
// with names and card numbers were readable by every local user.
func TestDropFolder_PrivateFolders(t *testing.T) {
	sink := newMemSink(mustMapping(t, "good.csv"))
	d, clock := newDropFolder(t, sink)
	// An older version made done/ 0755: it is tightened at start.
	if err := os.Mkdir(filepath.Join(d.Dir, "done"), 0o755); err != nil {
		t.Fatal(err)
	}
	dropFile(t, d.Dir, "good.csv", "good.csv")
	dropFile(t, d.Dir, "mixed.csv", "mixed.csv")
	scanFor(t, d, clock)
	for path, want := range map[string]os.FileMode{
		"done":                0o700,
		"error":               0o700,
		"done/good.csv":       0o600,
		"error/mixed.csv":     0o600,
		"error/mixed.csv.err": 0o600,
	} {
		if got := mode(t, filepath.Join(d.Dir, path)); got != want {
			t.Errorf("%s: mode %v; want %v", path, got, want)
		}
	}
}

// An entry listed as a plain file and then swapped for a symbolic link (to a file the
// HIS account must not make the agent read) is refused: O_NOFOLLOW, never followed.
func TestDropFolder_SwappedForSymlink(t *testing.T) {
	sink := newMemSink(nil)
	d, _ := newDropFolder(t, sink)
	if err := d.init(); err != nil {
		t.Fatal(err)
	}
	dropFile(t, d.Dir, "good.csv", "a.csv")
	info, err := os.Lstat(filepath.Join(d.Dir, "a.csv"))
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "secret.csv")
	if err := os.Rename(filepath.Join(d.Dir, "a.csv"), secret); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(d.Dir, "a.csv")); err != nil {
		t.Fatal(err)
	}
	if d.take(context.Background(), "a.csv", info) {
		t.Error("a symbolic link was taken")
	}
	if _, calls := sink.count(); calls != 0 {
		t.Errorf("Sink called %d times: the link was followed", calls)
	}
	if exists(filepath.Join(d.Dir, "done", "a.csv")) {
		t.Error("the link was moved to done/")
	}
}

// An entry swapped for a FIFO is refused at once: opening it does not block the scan
// (O_NONBLOCK) and fstat shows it is not a regular file.
func TestDropFolder_SwappedForFIFO(t *testing.T) {
	sink := newMemSink(nil)
	d, _ := newDropFolder(t, sink)
	if err := d.init(); err != nil {
		t.Fatal(err)
	}
	dropFile(t, d.Dir, "good.csv", "f.csv")
	path := filepath.Join(d.Dir, "f.csv")
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if d.take(context.Background(), "f.csv", info) {
		t.Error("a FIFO was taken")
	}
	if _, calls := sink.count(); calls != 0 {
		t.Errorf("Sink called %d times", calls)
	}
}

// The same name holding another regular file than the one listed (replaced between
// the listing and the open) is not taken on the listing's word.
func TestDropFolder_ReplacedFile(t *testing.T) {
	sink := newMemSink(nil)
	d, _ := newDropFolder(t, sink)
	if err := d.init(); err != nil {
		t.Fatal(err)
	}
	dropFile(t, d.Dir, "good.csv", "r.csv")
	info, err := os.Lstat(filepath.Join(d.Dir, "r.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// The listed file lives on under another name, so its inode stays in use and the
	// new r.csv is certainly another file (a freed inode may be handed out again).
	if err := os.Rename(filepath.Join(d.Dir, "r.csv"), filepath.Join(d.Dir, "keep.tmp")); err != nil {
		t.Fatal(err)
	}
	dropFile(t, d.Dir, "good.csv", "r.csv")
	if d.take(context.Background(), "r.csv", info) {
		t.Error("a replaced file was taken on the old listing")
	}
}

func TestOpenInput(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "p.csv")
	if err := os.WriteFile(plain, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, info, err := openInput(plain)
	if err != nil || !info.Mode().IsRegular() {
		t.Fatalf("plain file: got %v, %v; want it opened", info, err)
	}
	f.Close()
	link := filepath.Join(dir, "l.csv")
	if err := os.Symlink(plain, link); err != nil {
		t.Fatal(err)
	}
	if f, _, err := openInput(link); err == nil {
		f.Close()
		t.Error("symbolic link opened")
	}
	if f, _, err := openInput(dir); err == nil {
		f.Close()
		t.Error("directory opened as an input")
	}
}

// Issue 29 finding 4: `ln /elsewhere/secret.txt drop/h.csv` made the agent read the
// file and chmod the original outside the folder to 0600 (shared inode). A file with
// more than one hard link is refused, left in place and unchanged.
func TestDropFolder_HardLinkRefused(t *testing.T) {
	sink := newMemSink(nil)
	d, clock := newDropFolder(t, sink)
	secret := filepath.Join(t.TempDir(), "secret.csv")
	writeDrop(t, filepath.Dir(secret), "secret.csv", 1)
	if err := os.Link(secret, filepath.Join(d.Dir, "h.csv")); err != nil {
		t.Fatal(err)
	}
	scanFor(t, d, clock)
	if _, calls := sink.count(); calls != 0 {
		t.Errorf("Sink called %d times: the hard link was read", calls)
	}
	if got := mode(t, secret); got != 0o644 {
		t.Errorf("the linked file outside the folder has mode %v; want 0644 (untouched)", got)
	}
	if !exists(filepath.Join(d.Dir, "h.csv")) {
		t.Error("the hard link was moved; want it left in place")
	}
}
