package cardreader

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// PTY is a pseudo-terminal standing in for a reader's serial port: the agent opens
// its slave side (Path, or the stable Link) through tarm/serial like any tty, and a
// Simulator reads and writes the master side through the PTY itself. Unplug and
// Replug act like pulling and putting back a USB reader. Safe for concurrent use.
type PTY struct {
	link string

	mu     sync.Mutex
	cond   *sync.Cond
	master *os.File // nil while unplugged
	slave  *os.File // held open so the master never sees a hang-up of its own
	path   string
	closed bool
}

// OpenPTY opens a pseudo-terminal with its slave in raw mode (no echo, no line
// editing: bytes pass as they are). When link is not empty, link becomes a symlink to
// the slave's /dev/pts/N and follows it across Replug, so the agent's configuration
// can name one stable path.
func OpenPTY(link string) (*PTY, error) {
	p := &PTY{link: link}
	p.cond = sync.NewCond(&p.mu)
	if err := p.plug(); err != nil {
		return nil, err
	}
	return p, nil
}

// plug opens a new pseudo-terminal and points the link at it; p.mu is held or p is new.
func (p *PTY) plug() error {
	m, s, err := pty.Open()
	if err != nil {
		return fmt.Errorf("open pseudo-terminal: %w", err)
	}
	if err := makeRaw(s); err != nil {
		m.Close()
		s.Close()
		return fmt.Errorf("raw mode on %s: %w", s.Name(), err)
	}
	if m, err = pollable(m); err != nil {
		s.Close()
		return fmt.Errorf("open pseudo-terminal: %w", err)
	}
	if p.link != "" {
		tmp := p.link + ".new"
		_ = os.Remove(tmp)
		if err := os.Symlink(s.Name(), tmp); err != nil {
			m.Close()
			s.Close()
			return fmt.Errorf("link %s: %w", p.link, err)
		}
		if err := os.Rename(tmp, p.link); err != nil {
			_ = os.Remove(tmp)
			m.Close()
			s.Close()
			return fmt.Errorf("link %s: %w", p.link, err)
		}
	}
	p.master, p.slave, p.path = m, s, s.Name()
	return nil
}

// pollable returns m's descriptor as a non-blocking file the Go runtime polls, and
// closes m. creack/pty hands the master over in blocking mode, where Close cannot end
// a Read in progress (the descriptor stays open until the Read returns, so the agent
// would never see the unplug); a polled file's Close ends it at once.
func pollable(m *os.File) (*os.File, error) {
	defer m.Close()
	rc, err := m.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var ioErr error
	if err := rc.Control(func(old uintptr) {
		fd, ioErr = unix.Dup(int(old))
	}); err != nil {
		return nil, err
	}
	if ioErr != nil {
		return nil, ioErr
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), m.Name()), nil
}

func makeRaw(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	err = rc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			ioErr = err
			return
		}
		// cfmakeraw(3)
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN] = 1
		t.Cc[unix.VTIME] = 0
		ioErr = unix.IoctlSetTermios(int(fd), unix.TCSETS, t)
	})
	if err != nil {
		return err
	}
	return ioErr
}

// Path is the slave device the agent opens (/dev/pts/N); it changes on Replug and is
// "" while unplugged.
func (p *PTY) Path() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.path
}

// Link is the stable symlink given to OpenPTY ("" if none).
func (p *PTY) Link() string { return p.link }

// Read reads what the agent wrote. While unplugged it waits for Replug; it returns an
// error only once the PTY is closed.
func (p *PTY) Read(b []byte) (int, error) {
	for {
		p.mu.Lock()
		for p.master == nil && !p.closed {
			p.cond.Wait()
		}
		if p.closed {
			p.mu.Unlock()
			return 0, os.ErrClosed
		}
		m := p.master
		p.mu.Unlock()
		n, err := m.Read(b)
		if err == nil || n > 0 {
			return n, nil
		}
		p.mu.Lock()
		replaced := p.master != m || p.closed
		p.mu.Unlock()
		if !replaced {
			return 0, fmt.Errorf("read pseudo-terminal: %w", err)
		}
	}
}

// Write sends bytes to the agent; it fails with ErrUnplugged while unplugged.
func (p *PTY) Write(b []byte) (int, error) {
	p.mu.Lock()
	m := p.master
	p.mu.Unlock()
	if m == nil {
		return 0, ErrUnplugged
	}
	n, err := m.Write(b)
	if err != nil {
		return n, fmt.Errorf("write pseudo-terminal: %w", err)
	}
	return n, nil
}

// Unplug closes the pseudo-terminal and removes the link, as pulling a USB reader
// removes its device: the agent's reads stop and it must reopen.
func (p *PTY) Unplug() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unplug()
}

func (p *PTY) unplug() error {
	if p.master == nil {
		return nil
	}
	err := errors.Join(p.master.Close(), p.slave.Close())
	p.master, p.slave, p.path = nil, nil, ""
	if p.link != "" {
		if rerr := os.Remove(p.link); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// Replug opens a new pseudo-terminal (a new /dev/pts/N) and points the link at it.
func (p *PTY) Replug() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return os.ErrClosed
	}
	if err := p.unplug(); err != nil {
		return err
	}
	if err := p.plug(); err != nil {
		return err
	}
	p.cond.Broadcast()
	return nil
}

// Close unplugs for good; a blocked Read returns.
func (p *PTY) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	err := p.unplug()
	p.cond.Broadcast()
	return err
}
