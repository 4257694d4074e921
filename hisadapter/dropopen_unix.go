//go:build !windows

package hisadapter

import (
	"fmt"
	"os"
	"syscall"
)

// openInput opens a drop folder file for reading without following a symbolic link
// (O_NOFOLLOW) and without blocking on a FIFO (O_NONBLOCK), and checks on the open
// file itself (fstat) that it is a regular file: a file swapped for a link, a FIFO or
// a device between the listing and the open is refused, never read, and so is a file
// with more than one hard link (a link to a file outside the folder: reading it, and
// chmodding it before the move, would reach that file).
func openInput(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a regular file (%s): %w", path, info.Mode().Type(), errNotRegular)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && uint64(st.Nlink) != 1 {
		f.Close()
		return nil, nil, fmt.Errorf("%s has %d hard links, want 1: %w", path, uint64(st.Nlink), errNotRegular)
	}
	return f, info, nil
}

// sameListed checks that the opened file is the one listed: the same device and
// inode (every Unix file system has them).
func sameListed(path string, listed, opened os.FileInfo) error {
	if !os.SameFile(listed, opened) {
		return fmt.Errorf("%s was swapped for another file since it was listed: %w", path, errNotRegular)
	}
	return nil
}

// restrictFile makes the open input readable by the service account only (0600)
// before it moves to done/ or error/; it fails harmlessly when the HIS's account owns
// the file, and the folders themselves are 0700 then.
func restrictFile(f *os.File) error { return f.Chmod(0o600) }

// restrictDir makes done/ or error/ 0700 even when an older version made it 0755.
func restrictDir(path string) error { return os.Chmod(path, 0o700) }
