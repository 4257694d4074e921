// Package vendorlib loads a reader vendor's library at run time, without cgo, and calls
// the functions of the national interfaces it implements (serial-reader.md): on
// Windows with the system's LoadLibrary (golang.org/x/sys/windows, stdcall), on Linux
// with github.com/ebitengine/purego (cdecl).
//
// It knows the C signatures and the buffer sizes of each interface, and nothing of
// cards: callers get the raw bytes (GBK) the library wrote. A vendor library can hang
// or crash the process it is loaded in, so the agent loads it only inside the small
// child process `settle-agent reader-host` (package libhost), on one locked OS thread.
package vendorlib

import "errors"

// Errors a caller decides on with errors.Is. Their text is what IT reads in `doctor`.
var (
	// ErrUnsupported marks a platform this package cannot load libraries on.
	ErrUnsupported = errors.New("vendor reader libraries can be loaded on Windows and Linux only")

	// ErrOpen marks a library file that could not be loaded (missing, wrong bitness,
	// missing dependencies).
	ErrOpen = errors.New("the reader library could not be loaded: check the path, that its bitness matches reader-host's (32-bit DLLs need the windows/386 reader-host), and that the vendor's other files sit next to it")

	// ErrSymbol marks a library that does not export a function its interface needs.
	ErrSymbol = errors.New("the reader library does not export the function its interface needs: check the interface setting (heasec or sscard)")

	// ErrInterface marks an interface name this package does not know.
	ErrInterface = errors.New(`unknown reader library interface: want "heasec", "sscard" or "nationec"`)

	// ErrClosed marks a call on a library that was closed.
	ErrClosed = errors.New("the reader library was closed")
)
