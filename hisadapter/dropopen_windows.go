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
// listing and the open is refused, never read.
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

// restrictFile does nothing on Windows: the files inherit the ACL of the data folder
// (ProgramData), which the installer restricts to the service account and
// administrators.
func restrictFile(*os.File) error { return nil }

// restrictDir does nothing on Windows, for the same reason.
func restrictDir(string) error { return nil }
