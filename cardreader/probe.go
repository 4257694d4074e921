package cardreader

import (
	"context"
	"fmt"

	"github.com/settle-agent/settle-agent/cardreader/libhost"
)

// Probe opens cfg's port once, PINGs a frame reader and closes the port again,
// returning the reader's firmware version: the check `settle-agent doctor` makes
// before go-live. A line scanner cannot be asked anything: opening its port is the
// whole check and the firmware is "". The port must not be held by a running agent.
func Probe(ctx context.Context, cfg Config, o *Options) (firmware string, err error) {
	r, err := New(cfg, o)
	if err != nil {
		return "", err
	}
	rw, err := r.o.Open(r.cfg)
	if err != nil {
		return "", openError(err)
	}
	c := &conn{rw: rw, replies: make(chan Frame, 4), done: make(chan struct{})}
	go r.readLoop(c)
	defer func() {
		c.close()
		<-c.done
	}()
	if r.cfg.Protocol != ProtocolFrame {
		return "", nil
	}
	pong, err := r.request(ctx, c, Frame{Cmd: CmdPing})
	if err != nil {
		return "", fmt.Errorf("reader %s on %s: %w", r.cfg.Window, r.cfg.Port, err)
	}
	return string(pong.Data), nil
}

// ProbeLib checks a library reader the way `doctor` does before go-live: it starts a
// reader-host child, loads the library, checks its interface's exports and calls Init,
// then stops the child. A crash or hang there comes back as an error (libhost.ErrCrashed,
// ErrHung), never taking the caller down. The returned state says whether the library
// reads ID cards (HasSFZ). o may be nil; only its Host* fields and Logger are used.
func ProbeLib(ctx context.Context, cfg LibConfig, o *LibOptions) (libhost.State, error) {
	r, err := NewLib(cfg, o)
	if err != nil {
		return libhost.State{}, err
	}
	defer r.host.Close()
	_, err = r.host.Call(ctx, libhost.Request{Op: libhost.OpPing})
	st := r.host.State()
	if err != nil {
		return st, fmt.Errorf("reader %s library %s: %w", cfg.Window, cfg.Library, err)
	}
	return st, nil
}
