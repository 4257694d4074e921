package cardreader

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/syncbuf"

	"github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/internal/poll"
)

var testNow = time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)

// waitFor polls cond until it holds; it fails the test only if it never does
// within a generous bound (a hang, not a slow machine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, 20*time.Second, what, cond)
}

// nextRead waits for the next read delivered to OnRead.
func nextRead(t *testing.T, reads <-chan settle.CardRead) settle.CardRead {
	t.Helper()
	select {
	case r := <-reads:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("gave up waiting for a card read")
	}
	return settle.CardRead{}
}

// countingPort passes a device end through and counts the commands the host sent.
type countingPort struct {
	io.ReadWriteCloser
	mu   sync.Mutex
	dec  Decoder
	cmds map[byte]int
}

func (c *countingPort) Read(b []byte) (int, error) {
	n, err := c.ReadWriteCloser.Read(b)
	c.mu.Lock()
	for _, f := range c.dec.Write(b[:n]) {
		c.cmds[f.Cmd]++
	}
	c.mu.Unlock()
	return n, err
}

func (c *countingPort) count(cmd byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmds[cmd]
}

// pipeRig is a Reader whose every Open makes a new Pipe with a Simulator (or a
// Scanner) on its device end.
type pipeRig struct {
	r       *Reader
	reads   chan settle.CardRead
	removes chan string

	mu      sync.Mutex
	opens   int
	sims    []*Simulator
	devices []io.ReadWriteCloser
	ports   []*countingPort
	wg      sync.WaitGroup
}

func (p *pipeRig) sim() *Simulator {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sims[len(p.sims)-1]
}

func (p *pipeRig) openCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.opens
}

// startPipeRig runs a Reader for cfg over Pipes until the test ends.
func startPipeRig(t *testing.T, cfg Config, o Options) *pipeRig {
	t.Helper()
	p := &pipeRig{reads: make(chan settle.CardRead, 16), removes: make(chan string, 16)}
	o.Open = func(Config) (io.ReadWriteCloser, error) {
		host, dev := Pipe()
		cp := &countingPort{ReadWriteCloser: dev, cmds: map[byte]int{}}
		s := NewSimulator(cp)
		p.mu.Lock()
		p.opens++
		p.sims = append(p.sims, s)
		p.devices = append(p.devices, dev)
		p.ports = append(p.ports, cp)
		p.mu.Unlock()
		if cfg.Protocol != ProtocolLine {
			p.wg.Add(1)
			go func() { defer p.wg.Done(); _ = s.Run(context.Background()) }()
		}
		return host, nil
	}
	o.OnRead = func(cr settle.CardRead) { p.reads <- cr }
	o.OnRemove = func(w string) { p.removes <- w }
	if o.Now == nil {
		o.Now = func() time.Time { return testNow }
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = time.Millisecond
	}
	if o.ReplyTimeout == 0 {
		o.ReplyTimeout = 100 * time.Millisecond
	}
	r, err := New(cfg, &o)
	if err != nil {
		t.Fatal(err)
	}
	p.r = r
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		p.mu.Lock()
		for _, d := range p.devices {
			d.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	if cfg.Protocol != ProtocolLine {
		waitFor(t, "the reader to connect", func() bool { return r.State().Connected })
	}
	return p
}

var pipeCfg = Config{Window: "W01", Port: "pipe"}

func TestReader_PingOnConnect(t *testing.T) {
	p := startPipeRig(t, pipeCfg, Options{})
	st := p.r.State()
	if !st.Connected || st.Firmware != SimFirmware || st.Window != "W01" || st.Protocol != "frame" || !st.Since.Equal(testNow) {
		t.Errorf("got state %+v; want connected to firmware %s since %s", st, SimFirmware, testNow)
	}
	b, _ := json.Marshal(st)
	for _, key := range []string{`"window":"W01"`, `"connected":true`, `"firmware":"SIM-1.0"`, `"since":`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("state JSON %s lacks %s", b, key)
		}
	}
	if strings.Contains(string(b), "last_read") {
		t.Errorf("state JSON %s has last_read before any read", b)
	}
}

func TestReader_CardIn(t *testing.T) {
	p := startPipeRig(t, pipeCfg, Options{})
	want := DemoCards()[1]
	if err := p.sim().Insert(want); err != nil {
		t.Fatal(err)
	}
	got := nextRead(t, p.reads)
	if got.Err != nil || got.Card != want || got.Window != "W01" || !got.At.Equal(testNow) {
		t.Errorf("got %+v; want %+v at W01", got, want)
	}
	if err := p.sim().Remove(); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-p.removes:
		if w != "W01" {
			t.Errorf("got removal at %q; want W01", w)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no CARD_OUT")
	}
	if st := p.r.State(); !st.LastRead.Equal(testNow) || st.LastError != "" {
		t.Errorf("got state %+v; want last read now, no error", st)
	}
}

func TestReader_CardIn_Refused(t *testing.T) {
	p := startPipeRig(t, pipeCfg, Options{})
	t.Run("Status", func(t *testing.T) {
		for _, st := range []byte{StatusNoCard, StatusUnreadable, StatusPSAM, StatusLocked} {
			if err := p.sim().InsertStatus(st); err != nil {
				t.Fatal(err)
			}
			got := nextRead(t, p.reads)
			var se *StatusError
			if !errors.As(got.Err, &se) || se.Status != st {
				t.Errorf("got %v; want StatusError 0x%02X", got.Err, st)
			}
		}
	})
	t.Run("Expired", func(t *testing.T) {
		c := DemoCards()[0]
		c.ExpiryDate = "20251231"
		if err := p.sim().Insert(c); err != nil {
			t.Fatal(err)
		}
		got := nextRead(t, p.reads)
		if !errors.Is(got.Err, ErrCardExpired) {
			t.Errorf("got %v; want ErrCardExpired", got.Err)
		}
		if st := p.r.State(); !strings.Contains(st.LastError, "expired") {
			t.Errorf("got last error %q; want the expiry", st.LastError)
		}
	})
	t.Run("BadChecksum", func(t *testing.T) {
		b, _ := EncodeGBK(basicWith(1, "330106199007074566"))
		if err := p.sim().InsertBasic(b); err != nil {
			t.Fatal(err)
		}
		if got := nextRead(t, p.reads); !errors.Is(got.Err, ErrBadIDNumber) {
			t.Errorf("got %v; want ErrBadIDNumber", got.Err)
		}
	})
	t.Run("NotGBK", func(t *testing.T) {
		if err := p.sim().InsertBasic([]byte{0x81, 0x20}); err != nil {
			t.Fatal(err)
		}
		if got := nextRead(t, p.reads); !errors.Is(got.Err, ErrBadBasic) {
			t.Errorf("got %v; want ErrBadBasic", got.Err)
		}
	})
}

func TestReader_ReadNow(t *testing.T) {
	p := startPipeRig(t, pipeCfg, Options{})
	ctx := context.Background()
	t.Run("NoCard", func(t *testing.T) {
		_, err := p.r.ReadNow(ctx)
		var se *StatusError
		if !errors.As(err, &se) || se.Status != StatusNoCard {
			t.Errorf("got %v; want status 0x01", err)
		}
	})
	want := DemoCards()[2]
	if err := p.sim().Insert(want); err != nil {
		t.Fatal(err)
	}
	nextRead(t, p.reads)
	t.Run("OK", func(t *testing.T) {
		got, err := p.r.ReadNow(ctx)
		if err != nil || got != want {
			t.Errorf("got %+v, %v; want %+v", got, err, want)
		}
	})
	t.Run("RetryAfterCorruptReply", func(t *testing.T) {
		port := p.ports[len(p.ports)-1]
		before := port.count(CmdReadBasic)
		p.sim().CorruptNext()
		got, err := p.r.ReadNow(ctx)
		if err != nil || got != want {
			t.Errorf("got %+v, %v; want %+v after a retry", got, err, want)
		}
		if n := port.count(CmdReadBasic) - before; n != 2 {
			t.Errorf("the reader got READ_BASIC %d times; want 2 (the first reply was corrupt)", n)
		}
	})
	t.Run("NoiseResync", func(t *testing.T) {
		if err := p.sim().Noise(300); err != nil {
			t.Fatal(err)
		}
		got, err := p.r.ReadNow(ctx)
		if err != nil || got != want {
			t.Errorf("got %+v, %v; want %+v", got, err, want)
		}
		if err := p.sim().Noise(16); err != nil {
			t.Fatal(err)
		}
		if err := p.sim().Remove(); err != nil {
			t.Fatal(err)
		}
		if err := p.sim().Insert(DemoCards()[3]); err != nil {
			t.Fatal(err)
		}
		if got := nextRead(t, p.reads); got.Err != nil || got.Card != DemoCards()[3] {
			t.Errorf("got %+v; want demo card 4 after noise", got)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := p.r.ReadNow(cctx); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v; want context.Canceled", err)
		}
	})
}

// mute is a device end that swallows what the host sends and never answers.
func TestReader_ReadNow_ErrNoReply(t *testing.T) {
	host, dev := Pipe()
	defer dev.Close()
	r, err := New(pipeCfg, &Options{Open: func(Config) (io.ReadWriteCloser, error) { return host, nil }, ReplyTimeout: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadNow(context.Background()); !errors.Is(err, ErrNotConnected) {
		t.Errorf("before Run: got %v; want ErrNotConnected", err)
	}
	// Count the PINGs the silent device receives: one and three retries.
	c := &conn{rw: host, replies: make(chan Frame, 4), done: make(chan struct{})}
	_, err = r.request(context.Background(), c, Frame{Cmd: CmdPing})
	if !errors.Is(err, ErrNoReply) {
		t.Fatalf("got %v; want ErrNoReply", err)
	}
	buf := make([]byte, 64)
	n, _ := dev.Read(buf)
	var d Decoder
	if got := len(d.Write(buf[:n])); got != 1+Retries {
		t.Errorf("device got %d PINGs; want %d", got, 1+Retries)
	}
}

func TestReader_Reconnect(t *testing.T) {
	p := startPipeRig(t, pipeCfg, Options{})
	p.mu.Lock()
	p.devices[0].Close() // the cable is pulled
	p.mu.Unlock()
	waitFor(t, "a second open", func() bool { return p.openCount() >= 2 && p.r.State().Connected })
	if err := p.sim().Insert(DemoCards()[4]); err != nil {
		t.Fatal(err)
	}
	if got := nextRead(t, p.reads); got.Err != nil || got.Card != DemoCards()[4] {
		t.Errorf("got %+v; want demo card 5 after reconnecting", got)
	}
}

func TestReader_OpenFails_Backoff(t *testing.T) {
	var mu sync.Mutex
	opens := 0
	r, err := New(pipeCfg, &Options{
		Open: func(Config) (io.ReadWriteCloser, error) {
			mu.Lock()
			defer mu.Unlock()
			opens++
			return nil, errors.New("no such port")
		},
		MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	waitFor(t, "several open attempts", func() bool { mu.Lock(); defer mu.Unlock(); return opens >= 5 })
	if st := r.State(); st.Connected || !strings.Contains(st.LastError, "no such port") {
		t.Errorf("got state %+v; want disconnected with the open error", st)
	}
	if err := r.Run(ctx); err == nil {
		t.Errorf("second Run: got nil; want an error")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestReader_LineProtocol(t *testing.T) {
	cfg := pipeCfg
	cfg.Protocol = ProtocolLine
	p := startPipeRig(t, cfg, Options{})
	waitFor(t, "the scanner to connect", func() bool { return p.r.State().Connected })
	if st := p.r.State(); st.Firmware != "" || st.Protocol != "line" {
		t.Errorf("got %+v; want a line scanner without firmware", st)
	}
	p.mu.Lock()
	sc := NewScanner(p.devices[0])
	p.mu.Unlock()
	if err := sc.ScanCode("EC6E2F1A0B"); err != nil {
		t.Fatal(err)
	}
	got := nextRead(t, p.reads)
	if got.Err != nil || got.Card != (settle.Card{CertType: settle.CertEVoucher, CardNo: "EC6E2F1A0B"}) {
		t.Errorf("got %+v; want e-voucher EC6E2F1A0B", got)
	}
	if err := sc.ScanCode("bad\x01code"); err != nil {
		t.Fatal(err)
	}
	if got := nextRead(t, p.reads); !errors.Is(got.Err, ErrBadLine) {
		t.Errorf("got %v; want ErrBadLine", got.Err)
	}
	if _, err := p.r.ReadNow(context.Background()); !errors.Is(err, ErrNotFrameReader) {
		t.Errorf("ReadNow: got %v; want ErrNotFrameReader", err)
	}
}

func TestProbe(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		host, dev := Pipe()
		s := NewSimulator(dev)
		done := make(chan error, 1)
		go func() { done <- s.Run(context.Background()) }()
		fw, err := Probe(context.Background(), pipeCfg, &Options{Open: func(Config) (io.ReadWriteCloser, error) { return host, nil }})
		if err != nil || fw != SimFirmware {
			t.Errorf("got %q, %v; want %q", fw, err, SimFirmware)
		}
		<-done // Probe closed the line, so the simulator stopped
	})
	t.Run("ErrNoReply", func(t *testing.T) {
		host, dev := Pipe()
		defer dev.Close()
		_, err := Probe(context.Background(), pipeCfg, &Options{Open: func(Config) (io.ReadWriteCloser, error) { return host, nil }, ReplyTimeout: time.Millisecond})
		if !errors.Is(err, ErrNoReply) {
			t.Errorf("got %v; want ErrNoReply", err)
		}
	})
	t.Run("NoSuchPort", func(t *testing.T) {
		_, err := Probe(context.Background(), Config{Window: "W01", Port: "/nonexistent/ttyUSB9"}, nil)
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/ttyUSB9") || !strings.Contains(err.Error(), "plugged in") {
			t.Errorf("got %v; want an open error naming the port and what to check", err)
		}
	})
}

// TestReader_Heartbeat powers the reader off without closing the port: it answers the
// first PING, then nothing. The heartbeat PING goes unanswered and the reader is
// reopened.
func TestReader_Heartbeat(t *testing.T) {
	var (
		mu    sync.Mutex
		opens int
		wg    sync.WaitGroup
		devs  []io.ReadWriteCloser
	)
	open := func(Config) (io.ReadWriteCloser, error) {
		host, dev := Pipe()
		mu.Lock()
		opens++
		devs = append(devs, dev)
		mu.Unlock()
		wg.Add(1)
		go func() { // a reader that answers one PING, then goes dark
			defer wg.Done()
			var d Decoder
			buf := make([]byte, 64)
			answered := false
			for {
				n, err := dev.Read(buf)
				for _, f := range d.Write(buf[:n]) {
					if f.Cmd == CmdPing && !answered {
						answered = true
						b, _ := Frame{Cmd: CmdPong, Data: []byte("X")}.MarshalBinary()
						dev.Write(b)
					}
				}
				if err != nil {
					return
				}
			}
		}()
		return host, nil
	}
	var logs syncbuf.Buffer
	r, err := New(pipeCfg, &Options{Open: open, PingInterval: 5 * time.Millisecond, ReplyTimeout: 2 * time.Millisecond, MinBackoff: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	waitFor(t, "a reopen after the silent heartbeat", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return opens >= 2
	})
	cancel()
	<-done
	mu.Lock()
	for _, d := range devs {
		d.Close()
	}
	mu.Unlock()
	wg.Wait()
	if l := logs.String(); !strings.Contains(l, "heartbeat: PING unanswered after 4 tries") || !strings.Contains(l, "does not answer") {
		t.Errorf("got log\n%s\nwant the unanswered heartbeat", l)
	}
}
