//go:build windows

package hisadapter

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// openInput opens a drop folder file for reading without following a reparse point
// (symbolic link, junction: FILE_FLAG_OPEN_REPARSE_POINT) and checks on the open
// handle that it is a plain file: a file swapped for a link or a device between the
// listing and the open is refused, never read, and so is a file with more than one
// hard link (a link to a file outside the folder).
func openInput(path string) (*os.File, os.FileInfo, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, nil, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var bhfi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &bhfi); err != nil {
		windows.CloseHandle(h)
		return nil, nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if bhfi.FileAttributes&(windows.FILE_ATTRIBUTE_REPARSE_POINT|windows.FILE_ATTRIBUTE_DIRECTORY|windows.FILE_ATTRIBUTE_DEVICE) != 0 {
		windows.CloseHandle(h)
		return nil, nil, fmt.Errorf("%s is not a plain file (attributes %#x): %w", path, bhfi.FileAttributes, errNotRegular)
	}
	if bhfi.NumberOfLinks != 1 {
		windows.CloseHandle(h)
		return nil, nil, fmt.Errorf("%s has %d hard links, want 1: %w", path, bhfi.NumberOfLinks, errNotRegular)
	}
	if t, err := windows.GetFileType(h); err != nil || t != windows.FILE_TYPE_DISK {
		windows.CloseHandle(h)
		return nil, nil, fmt.Errorf("%s is not a disk file: %w", path, errNotRegular)
	}
	f := os.NewFile(uintptr(h), path)
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// sameListed checks that the opened file is the one listed by what every volume has:
// a fresh Lstat of the path is a plain file with the size and modification time of the
// open handle and of the listing, and the same volume and file index where the volume
// provides one. os.SameFile on the directory listing alone needs file IDs that Wine's
// drives, FAT/exFAT volumes and some network shares do not report.
func sameListed(path string, listed, opened os.FileInfo) error {
	fresh, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("%s is gone since it was opened: %w", path, errNotRegular)
	}
	if !fresh.Mode().IsRegular() {
		return fmt.Errorf("%s is no longer a plain file (%s): %w", path, fresh.Mode().Type(), errNotRegular)
	}
	for _, other := range []os.FileInfo{listed, fresh} {
		if other.Size() != opened.Size() || !other.ModTime().Equal(opened.ModTime()) {
			return fmt.Errorf("%s was swapped for another file since it was listed (size or time differ): %w", path, errNotRegular)
		}
	}
	if !os.SameFile(fresh, opened) {
		return fmt.Errorf("%s was swapped for another file since it was opened (file index differs): %w", path, errNotRegular)
	}
	return nil
}

// restrictFile does nothing on Windows: the files inherit the ACL of the data folder
// (ProgramData), which the installer restricts to the service account and
// administrators.
func restrictFile(*os.File) error { return nil }

// restrictDir does nothing on Windows, for the same reason.
func restrictDir(string) error { return nil }
