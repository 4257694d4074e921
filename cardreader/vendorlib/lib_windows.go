package vendorlib

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// handle is a DLL loaded with LoadLibrary.
type handle struct{ dll *windows.DLL }

func openLib(path string) (handle, error) {
	d, err := windows.LoadDLL(path)
	if err != nil {
		return handle{}, err
	}
	return handle{d}, nil
}

func (h handle) sym(name string) (uintptr, error) {
	p, err := h.dll.FindProc(name)
	if err != nil {
		return 0, err
	}
	return p.Addr(), nil
}

func (h handle) close() error { return h.dll.Release() }

// call calls a stdcall function returning int (on windows/amd64 and arm64 there is one
// calling convention; on windows/386 SyscallN is stdcall, what the vendors' DLLs use).
func call(fn uintptr, args ...uintptr) int32 {
	r1, _, _ := syscall.SyscallN(fn, args...)
	return int32(r1)
}
