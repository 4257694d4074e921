package vendorlib

import (
	"fmt"

	"github.com/ebitengine/purego"
)

// handle is a library loaded with dlopen (purego, no cgo).
type handle uintptr

func openLib(path string) (handle, error) {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return 0, err
	}
	return handle(h), nil
}

func (h handle) sym(name string) (uintptr, error) {
	p, err := purego.Dlsym(uintptr(h), name)
	if err != nil {
		return 0, err
	}
	if p == 0 {
		return 0, fmt.Errorf("symbol %s is NULL", name)
	}
	return p, nil
}

func (h handle) close() error { return purego.Dlclose(uintptr(h)) }

// call calls a cdecl function returning int.
func call(fn uintptr, args ...uintptr) int32 {
	r1, _, _ := purego.SyscallN(fn, args...)
	return int32(r1)
}
