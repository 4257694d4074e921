package cardreader

import (
	"context"
	"fmt"
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
