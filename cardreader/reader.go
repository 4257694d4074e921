package cardreader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/settle-agent/settle-agent"
)

// Options tunes a Reader; the zero value (or nil) means the defaults.
type Options struct {
	// Open opens the port; nil means OpenSerial (tarm/serial). The demo passes one that
	// returns the host end of a Pipe with a Simulator on the other.
	Open func(Config) (io.ReadWriteCloser, error)
	// OnRead receives every card the reader announces (CARD_IN) or a scanner scans,
	// and every failed read, with CardRead.Err saying what the cashier should do.
	// It runs on the reader's own goroutine: it must return quickly.
	OnRead func(settle.CardRead)
	// OnRemove is told when the card is taken out (CARD_OUT); nil ignores it.
	OnRemove func(window string)
	// Now is the clock for timestamps and the expiry check; nil means time.Now.
	Now func() time.Time
	// Logger gets one line per event, PII masked; nil discards.
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between attempts to reopen a port that
	// failed; 0 means 500 ms and 30 s. The wait doubles after each failure and starts
	// over once a connection worked.
	MinBackoff, MaxBackoff time.Duration
	// ReplyTimeout is how long a command waits for its reply before it is sent again
	// (3 retries); 0 means Config.ReadTimeout (by default the protocol's 500 ms).
	ReplyTimeout time.Duration
	// PingInterval is how long a frame reader may stay silent before it is PINGed to
	// check it is still there; 0 means 10 s.
	PingInterval time.Duration
}

// Defaults of Options.
const (
	DefaultMinBackoff   = 500 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	DefaultPingInterval = 10 * time.Second
	// Retries is how often a command is sent again after its reply timed out.
	Retries = 3
)

// Reader is one card reader or QR scanner at one window. Run keeps its port open;
// ReadNow and State may be called from any goroutine.
type Reader struct {
	cfg       Config
	o         Options
	log       *slog.Logger
	checkPath bool // the port is a device path (default opener): stat it when reads stop

	running atomic.Bool
	reqMu   sync.Mutex // one command in flight at a time

	mu  sync.Mutex
	st  State
	cur *conn
}

// conn is one opening of the port, owned by one call of session.
type conn struct {
	rw      io.ReadWriteCloser
	wmu     sync.Mutex
	replies chan Frame
	rx      atomic.Int64 // bytes received, for the heartbeat
	closed  atomic.Bool
	done    chan struct{} // closed when the read loop has returned; err is set then
	err     error
}

func (c *conn) close() {
	c.closed.Store(true)
	_ = c.rw.Close()
}

// New checks cfg and returns a reader for it; nothing is opened until Run.
func New(cfg Config, o *Options) (*Reader, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Reader{cfg: cfg}
	if o != nil {
		r.o = *o
	}
	if r.o.Open == nil {
		r.o.Open = OpenSerial
		r.checkPath = true
	}
	if r.o.Now == nil {
		r.o.Now = time.Now
	}
	r.log = r.o.Logger
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.log = r.log.With("window", cfg.Window, "port", cfg.Port)
	if r.o.MinBackoff <= 0 {
		r.o.MinBackoff = DefaultMinBackoff
	}
	if r.o.MaxBackoff <= 0 {
		r.o.MaxBackoff = DefaultMaxBackoff
	}
	if r.o.MaxBackoff < r.o.MinBackoff {
		r.o.MaxBackoff = r.o.MinBackoff
	}
	if r.o.ReplyTimeout <= 0 {
		r.o.ReplyTimeout = cfg.ReadTimeout
	}
	if r.o.PingInterval <= 0 {
		r.o.PingInterval = DefaultPingInterval
	}
	r.st = State{Window: cfg.Window, Port: cfg.Port, Protocol: cfg.Protocol, Kind: KindSerial}
	return r, nil
}

// Config returns the reader's configuration with defaults filled in.
func (r *Reader) Config() Config { return r.cfg }

// State returns a snapshot of the reader's state.
func (r *Reader) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	st.Reads = cloneCounts(r.st.Reads)
	return st
}

// Run opens the port, PINGs a frame reader, and delivers what arrives to OnRead until
// ctx ends. When the port fails or vanishes it closes it and reopens it with backoff,
// so an unplugged reader comes back by itself. Every goroutine it starts has ended
// when it returns; it returns nil once ctx ends, and an error only if it was already
// running.
func (r *Reader) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return fmt.Errorf("reader %s: Run called twice", r.cfg.Window)
	}
	defer r.running.Store(false)
	backoff := r.o.MinBackoff
	lastMsg := ""
	for {
		connected, err := r.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			backoff = r.o.MinBackoff
			lastMsg = ""
		}
		r.setError(err)
		// One warning per new problem, not one per attempt of a reader left unplugged.
		if msg := err.Error(); msg != lastMsg {
			r.log.Warn("reader unavailable; reopening with backoff", "err", err, "retry_in", backoff)
			lastMsg = msg
		} else {
			r.log.Debug("reader still unavailable", "err", err, "retry_in", backoff)
		}
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, r.o.MaxBackoff)
	}
}

// sleep waits d, or until ctx ends; it reports whether the whole d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// session opens the port once and serves it until it fails or ctx ends.
func (r *Reader) session(ctx context.Context) (connected bool, err error) {
	rw, err := r.o.Open(r.cfg)
	if err != nil {
		return false, openError(err)
	}
	c := &conn{rw: rw, replies: make(chan Frame, 4), done: make(chan struct{})}
	go r.readLoop(c)
	r.mu.Lock()
	r.cur = c
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.cur = nil
		if r.st.Connected {
			r.st.Connected = false
			r.st.Since = r.o.Now()
		}
		r.mu.Unlock()
		c.close()
		<-c.done
		if connected {
			r.log.Info("reader disconnected", "err", err)
		}
	}()

	firmware := ""
	if r.cfg.Protocol == ProtocolFrame {
		pong, err := r.request(ctx, c, Frame{Cmd: CmdPing})
		if err != nil {
			return false, fmt.Errorf("reader on %s does not answer PING: %w", r.cfg.Port, err)
		}
		firmware = string(pong.Data)
	}
	r.mu.Lock()
	r.st.Connected = true
	r.st.Since = r.o.Now()
	r.st.Firmware = firmware
	r.st.LastError = ""
	r.mu.Unlock()
	r.log.Info("reader connected", "protocol", r.cfg.Protocol, "firmware", firmware)

	var tick <-chan time.Time
	if r.cfg.Protocol == ProtocolFrame {
		t := time.NewTicker(r.o.PingInterval)
		defer t.Stop()
		tick = t.C
	}
	lastRx := c.rx.Load()
	for {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-c.done:
			return true, fmt.Errorf("lost the port: %w", c.err)
		case <-tick:
			if rx := c.rx.Load(); rx != lastRx {
				lastRx = rx
				continue
			}
			if _, err := r.request(ctx, c, Frame{Cmd: CmdPing}); err != nil {
				return true, fmt.Errorf("heartbeat: %w", err)
			}
			lastRx = c.rx.Load()
		}
	}
}

// openError says what IT should check when a port does not open.
func openError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the port does not exist: check that the reader is plugged in and the port name is right: %w", err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("no permission to open the port: on Linux add the service user to the dialout group; on Windows close the other program using it: %w", err)
	}
	return fmt.Errorf("cannot open the reader's port: %w", err)
}

// fastReads is how many reads in a row may come back at once with nothing before the
// port counts as gone: a quiet line makes a read wait its poll timeout, a hung-up
// tty (USB unplugged, pseudo-terminal closed) answers immediately, forever.
const fastReads = 3

// readLoop reads the port until it fails or is closed, feeding the protocol's decoder.
func (r *Reader) readLoop(c *conn) {
	defer close(c.done)
	var (
		dec   Decoder
		lines lineDecoder
		fast  int
		buf   = make([]byte, 512)
	)
	for {
		start := time.Now()
		n, err := c.rw.Read(buf)
		if n > 0 {
			fast = 0
			c.rx.Add(int64(n))
			if r.cfg.Protocol == ProtocolLine {
				for _, l := range lines.Write(buf[:n]) {
					r.deliver(l.Card, l.Err)
				}
			} else {
				for _, f := range dec.Write(buf[:n]) {
					r.onFrame(c, f)
				}
			}
			if err == nil {
				continue
			}
		}
		if c.closed.Load() {
			c.err = ErrNotConnected
			return
		}
		if err != nil && !errors.Is(err, io.EOF) {
			c.err = err
			return
		}
		// Nothing came: a read timeout on a quiet line, or a port that hung up.
		if time.Since(start) < r.cfg.portPoll()/2 {
			fast++
			if fast >= fastReads || r.checkPath && portGone(r.cfg.Port) {
				c.err = ErrPortGone
				return
			}
			continue
		}
		fast = 0
		if dec.Buffered() > 0 {
			for _, f := range dec.Resync() {
				r.onFrame(c, f)
			}
		}
	}
}

// onFrame handles one frame from the reader: replies go to the waiting command,
// CARD_IN and CARD_OUT to the window.
func (r *Reader) onFrame(c *conn, f Frame) {
	switch f.Cmd {
	case CmdPong, CmdBasic:
		select {
		case c.replies <- f:
		default:
			r.log.Debug("reply nobody waits for dropped", "frame", cmdName(f.Cmd))
		}
	case CmdCardIn:
		r.deliver(r.cardFromData(f.Data))
	case CmdCardOut:
		r.log.Info("card removed")
		if r.o.OnRemove != nil {
			r.o.OnRemove(r.cfg.Window)
		}
	default:
		r.log.Debug("unexpected frame ignored", "frame", cmdName(f.Cmd))
	}
}

// cardFromData reads the DATA of BASIC or CARD_IN: a status byte, then the GBK basic
// string when the status is 0x00; the card is parsed and checked against today.
func (r *Reader) cardFromData(data []byte) (settle.Card, error) {
	if len(data) == 0 {
		return settle.Card{}, fmt.Errorf("reply without a status byte: %w", ErrBadBasic)
	}
	if data[0] != StatusOK {
		return settle.Card{}, &StatusError{Status: data[0]}
	}
	s, err := DecodeGBK(data[1:])
	if err != nil {
		return settle.Card{}, fmt.Errorf("%v: %w", err, ErrBadBasic)
	}
	c, err := ParseBasic(s)
	if err != nil {
		return c, err
	}
	return c, CheckCard(c, r.o.Now())
}

// deliver records a read and hands it to OnRead.
func (r *Reader) deliver(c settle.Card, err error) {
	at := r.o.Now()
	r.noteRead(at, err)
	if err == nil {
		r.mu.Lock()
		if r.st.Reads == nil {
			r.st.Reads = map[string]int{}
		}
		r.st.Reads[Carrier(c)]++
		r.mu.Unlock()
	}
	if err != nil {
		r.log.Warn("card refused", "cert_type", c.CertType, "card_no", settle.MaskID(c.CardNo), "err", err)
	} else {
		r.log.Info("card read", "cert_type", c.CertType, "card_no", settle.MaskID(c.CardNo), "name", settle.MaskName(c.Name))
	}
	if r.o.OnRead != nil {
		r.o.OnRead(settle.CardRead{Window: r.cfg.Window, Card: c, At: at, Err: err})
	}
}

func (r *Reader) noteRead(at time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.LastRead = at
	if err != nil {
		r.st.LastError = err.Error()
	} else {
		r.st.LastError = ""
	}
}

func (r *Reader) setError(err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	r.st.LastError = err.Error()
	r.mu.Unlock()
}

// ReadNow asks the reader for the card in it (READ_BASIC), waiting 500 ms for the
// reply and retrying 3 times. A non-zero status comes back as *StatusError, a bad
// card as one of the ErrX; the read is recorded in State but not sent to OnRead.
func (r *Reader) ReadNow(ctx context.Context) (settle.Card, error) {
	if r.cfg.Protocol != ProtocolFrame {
		return settle.Card{}, ErrNotFrameReader
	}
	r.mu.Lock()
	c := r.cur
	r.mu.Unlock()
	if c == nil {
		return settle.Card{}, fmt.Errorf("reader %s on %s: %w", r.cfg.Window, r.cfg.Port, ErrNotConnected)
	}
	rep, err := r.request(ctx, c, Frame{Cmd: CmdReadBasic})
	if err != nil {
		r.setError(err)
		return settle.Card{}, fmt.Errorf("reader %s: %w", r.cfg.Window, err)
	}
	card, err := r.cardFromData(rep.Data)
	r.noteRead(r.o.Now(), err)
	return card, err
}

// request sends f and waits for its reply (f.Cmd with the high bit set), sending it
// again after each ReplyTimeout, Retries times.
func (r *Reader) request(ctx context.Context, c *conn, f Frame) (Frame, error) {
	r.reqMu.Lock()
	defer r.reqMu.Unlock()
	b, err := f.MarshalBinary()
	if err != nil {
		return Frame{}, err
	}
	want := f.Cmd | 0x80
	for try := 0; try <= Retries; try++ {
		for len(c.replies) > 0 { // a late reply to an earlier try or command
			<-c.replies
		}
		c.wmu.Lock()
		_, err := c.rw.Write(b)
		c.wmu.Unlock()
		if err != nil {
			return Frame{}, fmt.Errorf("send %s: %w", cmdName(f.Cmd), err)
		}
		if try > 0 {
			r.log.Debug("command sent again", "frame", cmdName(f.Cmd), "try", try+1)
		}
		if rep, ok, err := r.awaitReply(ctx, c, want); ok || err != nil {
			return rep, err
		}
	}
	return Frame{}, fmt.Errorf("%s unanswered after %d tries of %s: %w", cmdName(f.Cmd), Retries+1, r.o.ReplyTimeout, ErrNoReply)
}

// awaitReply waits one ReplyTimeout for a frame with command want; ok is false on
// timeout.
func (r *Reader) awaitReply(ctx context.Context, c *conn, want byte) (Frame, bool, error) {
	t := time.NewTimer(r.o.ReplyTimeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return Frame{}, false, ctx.Err()
		case <-c.done:
			return Frame{}, false, fmt.Errorf("port closed while waiting for %s: %w", cmdName(want), ErrNotConnected)
		case <-t.C:
			return Frame{}, false, nil
		case rep := <-c.replies:
			if rep.Cmd == want {
				return rep, true, nil
			}
		}
	}
}
