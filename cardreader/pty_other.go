//go:build !linux

package cardreader

// PTY is a pseudo-terminal standing in for a reader's serial port. It exists on Linux
// only; elsewhere OpenPTY fails with ErrPTYUnsupported.
type PTY struct{}

// OpenPTY fails on this platform: on Windows pair two virtual COM ports with com0com
// and run the simulator on one of them.
func OpenPTY(link string) (*PTY, error) { return nil, ErrPTYUnsupported }

// Path is "" on this platform.
func (p *PTY) Path() string { return "" }

// Link is "" on this platform.
func (p *PTY) Link() string { return "" }

// Read fails with ErrPTYUnsupported.
func (p *PTY) Read([]byte) (int, error) { return 0, ErrPTYUnsupported }

// Write fails with ErrPTYUnsupported.
func (p *PTY) Write([]byte) (int, error) { return 0, ErrPTYUnsupported }

// Unplug fails with ErrPTYUnsupported.
func (p *PTY) Unplug() error { return ErrPTYUnsupported }

// Replug fails with ErrPTYUnsupported.
func (p *PTY) Replug() error { return ErrPTYUnsupported }

// Close does nothing.
func (p *PTY) Close() error { return nil }
