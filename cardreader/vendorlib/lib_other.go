//go:build !linux && !windows

package vendorlib

type handle struct{}

func openLib(string) (handle, error) { return handle{}, ErrUnsupported }

func (handle) sym(string) (uintptr, error) { return 0, ErrUnsupported }

func (handle) close() error { return nil }

func call(uintptr, ...uintptr) int32 { return -1 }
