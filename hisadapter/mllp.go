package hisadapter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// MLLPServer takes DFT^P03 messages over MLLP (HL7 v2 over TCP) from an integration
// engine and hands their bills to Sink. Every message is answered on its connection,
// in order: AA only after Sink returned nil (the bill is durably stored), AE with one
// ERR per field problem for a bad bill or a temporary failure (resend later), AR for
// a message that is not DFT^P03, cannot be parsed, or is too large. A message whose
// sender and control id (MSH-3, MSH-4, MSH-10) and content were seen recently gets
// the same answer again without calling Sink twice.
//
// The zero value of every tuning field means its default.
type MLLPServer struct {
	Addr            string           // for ListenAndServe, such as ":2575"
	Sink            Sink             // where bills go; required
	Defaults        DFTDefaults      // for fields the message leaves empty
	Logger          *slog.Logger     // nil: discard
	IdleTimeout     time.Duration    // a connection silent this long is closed; 0: 60s
	MaxMessageBytes int              // larger messages are refused (AR) and the connection closed; 0: 1 MiB
	MaxConns        int              // connections beyond this are closed at once; 0: 64
	SinkTimeout     time.Duration    // how long one bill may take to store; 0: 30s
	RecentIDs       int              // how many answered control ids are remembered; 0: 10000
	Now             func() time.Time // stamps answers (MSH-7); deadlines use the wall clock

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	recent *ackCache
	once   sync.Once
	log    *slog.Logger
}

func (s *MLLPServer) init() {
	s.once.Do(func() {
		s.log = s.Logger
		if s.log == nil {
			s.log = slog.New(slog.DiscardHandler)
		}
		if s.IdleTimeout <= 0 {
			s.IdleTimeout = 60 * time.Second
		}
		if s.MaxMessageBytes <= 0 {
			s.MaxMessageBytes = 1 << 20
		}
		if s.MaxConns <= 0 {
			s.MaxConns = 64
		}
		if s.SinkTimeout <= 0 {
			s.SinkTimeout = 30 * time.Second
		}
		if s.RecentIDs <= 0 {
			s.RecentIDs = 10000
		}
		if s.Now == nil {
			s.Now = time.Now
		}
		s.conns = make(map[net.Conn]struct{})
		s.recent = &ackCache{cap: s.RecentIDs, m: make(map[string]*ackEntry), count: make(map[string]int)}
	})
}

// ListenAndServe listens on s.Addr and serves until ctx ends.
func (s *MLLPServer) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("hl7 mllp listen %s: %w", s.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// ListenAddr is the address being served, nil before Serve started. (A method cannot
// be called Addr: that is the field naming the address to listen on.)
func (s *MLLPServer) ListenAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve accepts connections on ln until ctx ends, then closes ln and every
// connection and returns nil once every connection's goroutine has finished.
func (s *MLLPServer) Serve(ctx context.Context, ln net.Listener) error {
	s.init()
	if s.Sink == nil {
		return errors.New("hl7 mllp server: no Sink")
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	stopped := make(chan struct{})
	go func() { // closes everything when ctx ends, so Accept and Read return
		defer close(stopped)
		<-ctx.Done()
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	}()
	defer func() { cancel(); <-stopped; wg.Wait() }()
	s.log.Info("hl7 mllp listening", "addr", ln.Addr().String())
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
				}
				continue
			}
			return fmt.Errorf("hl7 mllp accept: %w", err)
		}
		backoff = 0
		s.mu.Lock()
		full := len(s.conns) >= s.MaxConns
		if !full {
			s.conns[c] = struct{}{}
		}
		s.mu.Unlock()
		if full {
			s.log.Warn("hl7 mllp connection refused: too many connections", "remote", c.RemoteAddr().String(), "max_conns", s.MaxConns)
			c.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.serveConn(ctx, c)
		}()
	}
}

const mllpWriteTimeout = 30 * time.Second

func (s *MLLPServer) serveConn(ctx context.Context, c net.Conn) {
	remote := c.RemoteAddr().String()
	s.log.Debug("hl7 mllp connection", "remote", remote)
	fr := Framer{Max: s.MaxMessageBytes}
	buf := make([]byte, 32<<10)
	for {
		if err := c.SetReadDeadline(time.Now().Add(s.IdleTimeout)); err != nil {
			return
		}
		n, rerr := c.Read(buf)
		msgs, ferr := fr.Feed(buf[:n])
		for _, msg := range msgs {
			if !s.write(c, s.handle(ctx, msg, remote)) {
				return
			}
		}
		if ferr != nil {
			req := parseHeader(fr.Partial())
			s.log.Warn("hl7 message refused: too large", "remote", remote, "control_id", req.getOr("MSH-10", ""), "max_bytes", s.MaxMessageBytes)
			s.write(c, buildACK(req, AckReject, s.Now(), []FieldError{{Code: hl7Internal, Reason: fmt.Sprintf(
				"message is larger than %d bytes; split the bill or raise max_message_bytes", s.MaxMessageBytes)}}))
			return
		}
		if rerr != nil {
			var ne net.Error
			switch {
			case errors.As(rerr, &ne) && ne.Timeout():
				s.log.Info("hl7 mllp connection closed: idle", "remote", remote, "idle_timeout", s.IdleTimeout.String())
			case ctx.Err() == nil && fr.Pending():
				s.log.Warn("hl7 mllp connection ended inside a message", "remote", remote, "err", rerr)
			}
			return
		}
	}
}

func (s *MLLPServer) write(c net.Conn, ack []byte) bool {
	if err := c.SetWriteDeadline(time.Now().Add(mllpWriteTimeout)); err != nil {
		return false
	}
	if _, err := c.Write(Frame(ack)); err != nil {
		s.log.Warn("hl7 mllp answer not delivered", "remote", c.RemoteAddr().String(), "err", err)
		return false
	}
	return true
}

// parseHeader parses just the MSH line of a message that cannot be parsed whole, so
// the answer can name its control id; nil when even that fails.
func parseHeader(raw []byte) *Message {
	if i := bytes.IndexAny(raw, "\r\n"); i >= 0 {
		raw = raw[:i]
	}
	m, err := ParseMessage(raw)
	if err != nil {
		return nil
	}
	return m
}

// handle answers one message, at most once per sender, control id and content.
func (s *MLLPServer) handle(ctx context.Context, raw []byte, remote string) []byte {
	m, err := ParseMessage(raw)
	if err != nil {
		req := parseHeader(raw)
		s.log.Warn("hl7 message refused: cannot parse", "remote", remote, "control_id", req.getOr("MSH-10", ""), "err", err)
		code := hl7Internal
		if errors.Is(err, ErrUnsupported) {
			code = hl7UnsupportedType
		}
		return buildACK(req, AckReject, s.Now(), []FieldError{{Code: code, Reason: err.Error()}})
	}
	ctrl := m.Get("MSH-10")
	if ctrl == "" {
		ack, _ := s.process(ctx, m, remote)
		return ack
	}
	key := m.Get("MSH-3") + "|" + m.Get("MSH-4") + "|" + ctrl
	digest := m.digest()
	for {
		e, leader := s.recent.begin(key, digest)
		if leader {
			ack, final := s.process(ctx, m, remote)
			s.recent.finish(key, e, ack, final)
			return ack
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			return buildACK(m, AckError, s.Now(), []FieldError{temporary("the agent is shutting down")})
		}
		if e.final {
			s.log.Info("hl7 duplicate message answered again", "remote", remote, "control_id", ctrl)
			return e.ack
		}
	}
}

func temporary(why string) FieldError {
	return FieldError{Code: hl7Internal, Reason: "the bill was NOT stored (" + why + "); resend this message later"}
}

// process turns the message into a bill and stores it; final is false when the answer
// is a temporary failure that a resend should retry.
func (s *MLLPServer) process(ctx context.Context, m *Message, remote string) (ack []byte, final bool) {
	if IsStayMessage(m) {
		return s.processStay(ctx, m, remote)
	}
	ctrl := m.Get("MSH-10")
	b, err := DFTToBill(m, s.Defaults)
	if errors.Is(err, ErrUnsupported) {
		s.log.Warn("hl7 message refused: unsupported type", "remote", remote, "control_id", ctrl, "type", m.Get("MSH-9.1")+"^"+m.Get("MSH-9.2"))
		return buildACK(m, AckReject, s.Now(), []FieldError{{Segment: "MSH", Seq: 1, Field: 9, Code: hl7UnsupportedType,
			Reason: fmt.Sprintf("message type %s^%s is not supported; send bills as DFT^P03", m.Get("MSH-9.1"), m.Get("MSH-9.2"))}}), true
	}
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, s.SinkTimeout)
		err = s.Sink.SubmitBill(sctx, b, "hl7 "+remote+" MSH-10 "+ctrl)
		cancel()
	}
	var ve *settle.ValidationError
	switch {
	case err == nil:
		s.log.Info("hl7 bill stored", "remote", remote, "control_id", ctrl, "bill_no", b.BillNo, "items", len(b.Items), "total", b.Total.String())
		return buildACK(m, AckAccept, s.Now(), nil), true
	case errors.As(err, &ve):
		errs := FieldErrorsOf(ve)
		texts := make([]string, len(errs))
		for i, e := range errs {
			texts[i] = e.Text()
		}
		s.log.Warn("hl7 bill refused", "remote", remote, "control_id", ctrl, "bill_no", b.BillNo, "problems", texts)
		return buildACK(m, AckError, s.Now(), errs), true
	case errors.Is(err, settle.ErrConflict):
		s.log.Warn("hl7 bill refused: bill_no reused with other content", "remote", remote, "control_id", ctrl, "bill_no", b.BillNo)
		return buildACK(m, AckError, s.Now(), []FieldError{{Segment: "PV1", Seq: 1, Field: 19, Path: "bill_no", Code: hl7Internal,
			Reason: fmt.Sprintf("bill_no %s was received before with different content; a changed bill needs a new bill number (or cancel the old one first)", b.BillNo)}}), true
	}
	s.log.Error("hl7 bill NOT stored: temporary failure, the sender must resend", "remote", remote, "control_id", ctrl, "bill_no", b.BillNo, "err", err)
	return buildACK(m, AckError, s.Now(), []FieldError{temporary(err.Error())}), false
}

// digest identifies a message's content apart from MSH-7 (some engines restamp a resend).
func (m *Message) digest() [sha256.Size]byte {
	h := sha256.New()
	for _, seg := range m.Segments {
		for i, f := range seg.Fields {
			if seg.Name == "MSH" && i == 7 {
				continue
			}
			for _, r := range f {
				for _, c := range r {
					for _, sc := range c {
						h.Write([]byte(strconv.Itoa(len(sc))))
						h.Write([]byte{':'})
						h.Write([]byte(sc))
					}
					h.Write([]byte{1})
				}
				h.Write([]byte{2})
			}
			h.Write([]byte{3})
		}
		h.Write([]byte{4})
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// ackCache remembers the answers to recent control ids, bounded, oldest forgotten
// first. A control id being processed makes a concurrent duplicate wait for its answer.
type ackCache struct {
	mu    sync.Mutex
	cap   int
	m     map[string]*ackEntry
	order []string       // keys of final answers, oldest first
	count map[string]int // how often each key is listed in order
}

type ackEntry struct {
	digest [sha256.Size]byte
	done   chan struct{}
	ack    []byte
	final  bool
}

// begin returns the entry for key; leader is true when the caller must process the
// message (no answer yet for this content) and then call finish.
func (c *ackCache) begin(key string, digest [sha256.Size]byte) (e *ackEntry, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[key]; ok {
		select {
		case <-old.done:
			if old.digest == digest {
				return old, false
			}
			// The same control id with other content: not a resend. Process it
			// (the Sink's bill_no idempotency decides) and remember the new answer.
		default:
			return old, false // in flight: wait for it, then look again
		}
	}
	e = &ackEntry{digest: digest, done: make(chan struct{})}
	c.m[key] = e
	return e, true
}

func (c *ackCache) finish(key string, e *ackEntry, ack []byte, final bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.ack, e.final = ack, final
	close(e.done)
	if !final {
		if c.m[key] == e {
			delete(c.m, key)
		}
		return
	}
	c.order = append(c.order, key)
	c.count[key]++
	for len(c.order) > c.cap {
		old := c.order[0]
		c.order = c.order[1:]
		if c.count[old]--; c.count[old] > 0 {
			continue
		}
		delete(c.count, old)
		if x, ok := c.m[old]; ok && isDone(x) {
			delete(c.m, old)
		}
	}
}

func isDone(e *ackEntry) bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}
