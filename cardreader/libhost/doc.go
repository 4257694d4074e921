// Package libhost runs a vendor's reader library in a child process of its own, so
// that a hang or a crash in vendor code restarts that child, never the agent
// (serial-reader.md). The child is `settle-agent reader-host --stdio`: it loads the
// library (package vendorlib), calls it from one locked OS thread, and answers
// requests framed on its stdin and stdout (proto.go). The parent side, Host, starts
// the child, opens and initialises the library once per child, gives every call a
// deadline, kills a child that overruns it, and restarts a dead child with backoff,
// keeping a State that the status page, the metrics and `doctor` show.
package libhost

import "errors"

// Errors a caller decides on with errors.Is. Their text is what IT reads on the status
// page and in `doctor`.
var (
	// ErrHung marks a call the library did not finish within its deadline; the child
	// was killed and is restarted with backoff.
	ErrHung = errors.New("the reader library did not answer in time; its process was stopped and is restarted")

	// ErrCrashed marks a child that died (a crash in vendor code); it is restarted
	// with backoff.
	ErrCrashed = errors.New("the reader library crashed; its process is restarted")

	// ErrRestarting marks a call made while the child waits out its restart backoff.
	ErrRestarting = errors.New("the reader library is being restarted after a fault; try again in a moment")

	// ErrLibrary marks a library that could not be opened or initialised; the message
	// says why (path, bitness, missing export, Init's own error text).
	ErrLibrary = errors.New("the reader library could not be opened or initialised")

	// ErrProtocol marks a frame on the child's pipes that is not the protocol.
	ErrProtocol = errors.New("reader-host protocol error")

	// ErrFrameTooLong marks a frame over MaxFrame bytes.
	ErrFrameTooLong = errors.New("reader-host frame too long")

	// ErrClosed marks a call on a Host that was closed.
	ErrClosed = errors.New("the reader host was closed")
)
