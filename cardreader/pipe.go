package cardreader

import (
	"io"
	"sync"
)

// pipeCapacity is how many bytes one direction of a Pipe holds unread; more are lost,
// as a UART overruns when nobody reads it.
const pipeCapacity = 64 << 10

// Pipe returns the two ends of an in-process serial line: give the host end to a
// Reader (through Options.Open) and the device end to a Simulator or Scanner. Writes
// never block; reads block until bytes arrive or either end is closed. Closing either
// end cuts the line for both, as pulling the cable would.
func Pipe() (host, device io.ReadWriteCloser) {
	a, b := newPipeBuf(), newPipeBuf()
	cut := &sync.Once{}
	cutLine := func() {
		cut.Do(func() { a.close(); b.close() })
	}
	return &pipeEnd{r: a, w: b, cut: cutLine}, &pipeEnd{r: b, w: a, cut: cutLine}
}

type pipeBuf struct {
	mu     sync.Mutex
	cond   *sync.Cond
	data   []byte
	closed bool
}

func newPipeBuf() *pipeBuf {
	p := &pipeBuf{}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *pipeBuf) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cond.Broadcast()
}

type pipeEnd struct {
	r, w *pipeBuf
	cut  func()
}

func (e *pipeEnd) Read(b []byte) (int, error) {
	p := e.r
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.data) == 0 && !p.closed {
		p.cond.Wait()
	}
	if p.closed {
		return 0, io.EOF
	}
	n := copy(b, p.data)
	p.data = p.data[:copy(p.data, p.data[n:])]
	return n, nil
}

func (e *pipeEnd) Write(b []byte) (int, error) {
	p := e.w
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, io.ErrClosedPipe
	}
	keep := b
	if room := pipeCapacity - len(p.data); len(keep) > room {
		keep = keep[:room]
	}
	p.data = append(p.data, keep...)
	p.cond.Broadcast()
	return len(b), nil
}

func (e *pipeEnd) Close() error {
	e.cut()
	return nil
}
