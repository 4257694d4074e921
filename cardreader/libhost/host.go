package libhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Options configure a Host; zero values mean the defaults.
type Options struct {
	// Exe is the reader-host executable; "" means this program. A 64-bit agent names
	// the windows/386 build here for a 32-bit vendor DLL.
	Exe string
	// Args are the child's arguments; nil means "reader-host", "--stdio".
	Args []string
	// Env is added to the agent's environment for the child.
	Env []string
	// Library is the vendor library's path and Interface its interface
	// (vendorlib.HeaSec, SSCard or NationEC).
	Library, Interface string
	// Init is heasec's Init JSON, sent once per child; nil sends no Init.
	Init []byte
	// Deadline bounds every call after the setup; 0 means 5 s.
	Deadline time.Duration
	// SetupDeadline bounds loading and Init; 0 means 30 s (Init may dial the PSAM server).
	SetupDeadline time.Duration
	// MinBackoff and MaxBackoff bound the wait before a faulted child is started
	// again; 0 means 500 ms and 30 s. It doubles per fault and starts over after a
	// call that worked.
	MinBackoff, MaxBackoff time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger gets one line per start, fault and the child's own log lines; nil discards.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultDeadline      = 5 * time.Second
	DefaultSetupDeadline = 30 * time.Second
	DefaultMinBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
)

// State is what the status page, the metrics and `doctor` show of one reader host.
type State struct {
	Library     string    `json:"library"`
	Interface   string    `json:"interface"`
	Running     bool      `json:"running"`
	PID         int       `json:"pid,omitempty"`
	Since       time.Time `json:"since,omitzero"` // when the running child started
	Starts      int       `json:"starts"`
	Hangs       int       `json:"hangs"`
	Crashes     int       `json:"crashes"`
	LastFault   string    `json:"last_fault,omitempty"`
	LastFaultAt time.Time `json:"last_fault_at,omitzero"`
	RetryAt     time.Time `json:"retry_at,omitzero"` // set while waiting out the backoff
	HasSFZ      bool      `json:"has_sfz"`           // the library exports ReadSFZ
}

// Host is the parent's side of one reader-host child. Call may be used from any
// goroutine (calls are made one at a time); Close stops the child.
type Host struct {
	o   Options
	log *slog.Logger

	callMu sync.Mutex // one call in flight: the child is single-threaded
	nextID uint64

	mu      sync.Mutex
	st      State
	cur     *child
	backoff time.Duration
	closed  bool
}

// child is one running reader-host process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	resps  chan Response
	exited chan struct{} // closed once the process is reaped; waitErr is set then
	waitEr error
	tail   *tailWriter
}

// New returns a Host for o; the child starts with the first Call.
func New(o Options) *Host {
	if o.Deadline <= 0 {
		o.Deadline = DefaultDeadline
	}
	if o.SetupDeadline <= 0 {
		o.SetupDeadline = DefaultSetupDeadline
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Args == nil {
		o.Args = []string{"reader-host", "--stdio"}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Host{o: o, log: log.With("library", o.Library, "interface", o.Interface), backoff: o.MinBackoff}
	h.st = State{Library: o.Library, Interface: o.Interface}
	return h
}

// State returns a snapshot of the host's state.
func (h *Host) State() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.st
}

// Call makes one call in the child, starting (and opening and initialising the
// library in) a new child first when none runs. It returns ErrRestarting while a
// faulted child waits out its backoff, ErrHung or ErrCrashed when this call killed
// the child, ErrLibrary when the library cannot be opened or initialised.
func (h *Host) Call(ctx context.Context, r Request) (Response, error) {
	h.callMu.Lock()
	defer h.callMu.Unlock()
	c, err := h.ensure(ctx)
	if err != nil {
		return Response{}, err
	}
	resp, err := h.roundTrip(ctx, c, r, h.o.Deadline)
	if err != nil {
		return Response{}, err
	}
	if resp.Err != "" {
		return resp, fmt.Errorf("%s: %s: %w", r.Op, resp.Err, ErrLibrary)
	}
	h.mu.Lock()
	h.backoff = h.o.MinBackoff
	h.mu.Unlock()
	return resp, nil
}

// Close kills the child, if any, and waits for it; later calls fail with ErrClosed.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	c := h.cur
	h.cur = nil
	h.st.Running, h.st.PID = false, 0
	h.mu.Unlock()
	if c != nil {
		_ = c.stdin.Close() // a healthy child ends by itself on EOF
		select {
		case <-c.exited:
		case <-time.After(time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	}
	return nil
}

// ensure returns the running child, or starts one and sets its library up.
func (h *Host) ensure(ctx context.Context) (*child, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	if h.cur != nil {
		c := h.cur
		h.mu.Unlock()
		return c, nil
	}
	if now := h.o.Now(); now.Before(h.st.RetryAt) {
		at := h.st.RetryAt
		h.mu.Unlock()
		return nil, fmt.Errorf("next start in %s: %w", at.Sub(now).Round(time.Millisecond), ErrRestarting)
	}
	h.mu.Unlock()

	c, err := h.start()
	if err != nil {
		h.fault(nil, fmt.Sprintf("start reader-host: %v", err), nil)
		return nil, fmt.Errorf("start reader-host: %v: %w", err, ErrLibrary)
	}
	resp, err := h.roundTrip(ctx, c, Request{Op: OpOpen, Library: h.o.Library, Interface: h.o.Interface}, h.o.SetupDeadline)
	if err == nil && resp.Err != "" {
		err = fmt.Errorf("%s: %w", resp.Err, ErrLibrary)
		h.fault(c, "open: "+resp.Err, nil)
	}
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.st.HasSFZ = false
	for _, f := range resp.Has {
		if f == "ReadSFZ" {
			h.st.HasSFZ = true
		}
	}
	h.mu.Unlock()
	if h.o.Init != nil {
		resp, err := h.roundTrip(ctx, c, Request{Op: OpInit, Init: h.o.Init}, h.o.SetupDeadline)
		if err == nil && (resp.Err != "" || resp.RC != 0) {
			msg := resp.Err
			if msg == "" {
				msg = fmt.Sprintf("Init returned %d: %s", resp.RC, Text(resp.Out))
			}
			err = fmt.Errorf("%s: %w", msg, ErrLibrary)
			h.fault(c, msg, nil)
		}
		if err != nil {
			return nil, err
		}
	}
	h.log.Info("reader library ready", "pid", c.cmd.Process.Pid)
	return c, nil
}

// start starts a child process and its reaper.
func (h *Host) start() (*child, error) {
	exe := h.o.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(exe, h.o.Args...)
	cmd.Env = append(os.Environ(), h.o.Env...)
	tail := &tailWriter{log: h.log}
	cmd.Stderr = tail
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, resps: make(chan Response, 4), exited: make(chan struct{}), tail: tail}
	go func() { // owned by the child: ends when its stdout closes, that is when it exits
		defer close(c.exited)
		for {
			var r Response
			if err := ReadFrame(stdout, &r); err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
					h.log.Warn("reader-host sent a bad frame; stopping it", "err", err)
					_ = cmd.Process.Kill()
				}
				break
			}
			select {
			case c.resps <- r:
			default:
				h.log.Debug("response nobody waits for dropped", "id", r.ID)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		c.waitEr = cmd.Wait()
	}()
	h.mu.Lock()
	h.cur = c
	h.st.Running, h.st.PID, h.st.Since = true, cmd.Process.Pid, h.o.Now()
	h.st.Starts++
	h.st.RetryAt = time.Time{}
	h.mu.Unlock()
	h.log.Info("reader-host started", "pid", cmd.Process.Pid, "exe", exe)
	return c, nil
}

// roundTrip sends r and waits up to deadline for its answer. A child that does not
// answer in time is killed (ErrHung); one that dies is reaped (ErrCrashed).
func (h *Host) roundTrip(ctx context.Context, c *child, r Request, deadline time.Duration) (Response, error) {
	h.nextID++
	r.ID = h.nextID
	for len(c.resps) > 0 { // a late answer to a call whose caller gave up
		<-c.resps
	}
	if err := WriteFrame(c.stdin, r); err != nil {
		select { // a write fails when the child is gone: say how it ended
		case <-c.exited:
			return Response{}, h.crashed(c, r.Op)
		case <-time.After(time.Second):
		}
		_ = c.cmd.Process.Kill()
		<-c.exited
		return Response{}, h.crashed(c, r.Op)
	}
	t := time.NewTimer(deadline)
	defer t.Stop()
	for {
		select {
		case resp := <-c.resps:
			if resp.ID == r.ID {
				return resp, nil
			}
		case <-c.exited:
			return Response{}, h.crashed(c, r.Op)
		case <-t.C:
			_ = c.cmd.Process.Kill()
			<-c.exited
			err := fmt.Errorf("%s did not return within %s: %w", r.Op, deadline, ErrHung)
			h.fault(c, err.Error(), func(s *State) { s.Hangs++ })
			return Response{}, err
		case <-ctx.Done():
			return Response{}, ctx.Err()
		}
	}
}

// crashed records the death of c during op and returns its error.
func (h *Host) crashed(c *child, op string) error {
	how := "exited"
	if c.waitEr != nil {
		how = c.waitEr.Error()
	}
	if last := c.tail.last(); last != "" {
		how += " (last words: " + last + ")"
	}
	err := fmt.Errorf("reader-host %s during %s: %w", how, op, ErrCrashed)
	h.fault(c, err.Error(), func(s *State) { s.Crashes++ })
	return err
}

// fault forgets the faulted child c (killing it if it still runs) and schedules the
// next start after the backoff.
func (h *Host) fault(c *child, msg string, count func(*State)) {
	if c != nil {
		select {
		case <-c.exited:
		default:
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if c == nil || h.cur == c {
		h.cur = nil
		h.st.Running, h.st.PID = false, 0
	}
	if count != nil {
		count(&h.st)
	}
	now := h.o.Now()
	h.st.LastFault, h.st.LastFaultAt = msg, now
	h.st.RetryAt = now.Add(h.backoff)
	h.log.Warn("reader library fault; restarting with backoff", "err", msg, "retry_in", h.backoff)
	h.backoff = min(2*h.backoff, h.o.MaxBackoff)
}

// Text turns what a vendor library wrote into a string for a message or a log line:
// the Windows libraries write GBK, some Linux builds UTF-8. Bytes that are valid UTF-8
// are taken as they are (decoding them as GBK gives mojibake such as 鍒濆); anything
// else is decoded as GBK.
func Text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	if s, err := simplifiedchinese.GBK.NewDecoder().Bytes(b); err == nil {
		return string(s)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// tailWriter logs the child's stderr line by line and keeps its last line.
type tailWriter struct {
	mu   sync.Mutex
	log  *slog.Logger
	buf  []byte
	prev string
	note string // the last line saying why the process died (Go runtime, panic)
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := -1
		for j, b := range w.buf {
			if b == '\n' {
				i = j
				break
			}
		}
		if i < 0 {
			break
		}
		line := strings.TrimRight(Text(w.buf[:i]), "\r")
		w.buf = w.buf[i+1:]
		if line != "" {
			w.prev = truncate(line, 200)
			w.log.Debug("reader-host", "line", w.prev)
			for _, p := range []string{"signal ", "fatal error", "panic:", "SIG"} {
				if strings.HasPrefix(line, p) {
					w.note = w.prev
				}
			}
		}
	}
	if len(w.buf) > 4096 {
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

func (w *tailWriter) last() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.note != "" {
		return w.note
	}
	if len(w.buf) > 0 {
		return truncate(Text(w.buf), 200)
	}
	return w.prev
}

// truncate cuts s to at most n bytes, at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
