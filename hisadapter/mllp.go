package hisadapter

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
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
// MLLP has no authentication: whoever reaches the port can post bills. Listen on
// 127.0.0.1 (the default in the example configuration) or on the address facing the
// HIS only, and name the HIS in AllowFrom. Against a peer that misbehaves the server
// holds these limits:
//   - a frame must be complete FrameTimeout after its start byte, and a connection
//     must deliver a complete message IdleTimeout after connecting or after its last
//     answer; reads in between do not extend either deadline (a byte trickled now and
//     then does not keep a connection);
//   - at most MaxConns connections, MaxConnsPerHost from one address; a connection
//     beyond a cap replaces one not processing a message (first one that never
//     delivered a message, then the one longest without one), or is refused with a
//     log line when all are busy;
//   - at most MessageRate bills a second reach the Sink over all connections; a
//     message that would wait longer than RateWait for its turn is answered AE
//     "too many messages, resend later" without being stored.
//
// The zero value of every tuning field means its default.
type MLLPServer struct {
	Addr            string           // for ListenAndServe, such as "127.0.0.1:2575"
	Sink            Sink             // where bills go; required
	Defaults        DFTDefaults      // for fields the message leaves empty
	Logger          *slog.Logger     // nil: discard
	IdleTimeout     time.Duration    // a connection without a complete message this long is closed; 0: 60s
	FrameTimeout    time.Duration    // a frame not complete this long after its start is cut off; 0: 30s
	MaxMessageBytes int              // larger messages are refused (AR) and the connection closed; 0: 1 MiB
	MaxConns        int              // connections in all; 0: 64
	MaxConnsPerHost int              // connections from one source address; 0: 32
	AllowFrom       []netip.Prefix   // when set, connections from other addresses are closed at once
	TLSConfig       *tls.Config      // when set, connections are TLS (MLLP over TLS)
	Windows         []string         // when set, bills for other windows are refused (AE, PV1-3)
	MessageRate     float64          // bills a second taken over all connections; 0: 20; negative: no limit
	MessageBurst    int              // messages taken at once before MessageRate applies; 0: 2 × MessageRate
	RateWait        time.Duration    // how long a message may wait for its turn; 0: 2s
	Intake          *Intake          // shared with the drop folder; nil: the listener's own at MessageRate
	SinkTimeout     time.Duration    // how long one bill may take to store; 0: 30s
	RecentIDs       int              // how many answered control ids are remembered; 0: 10000
	Now             func() time.Time // stamps answers (MSH-7); deadlines use the wall clock

	mu         sync.Mutex
	ln         net.Listener
	adm        *admission
	recent     *ackCache
	once       sync.Once
	log        *slog.Logger
	refusedLog quietLog
	limitLog   quietLog
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
		if s.FrameTimeout <= 0 {
			s.FrameTimeout = 30 * time.Second
		}
		if s.MaxMessageBytes <= 0 {
			s.MaxMessageBytes = 1 << 20
		}
		if s.MaxConns <= 0 {
			s.MaxConns = 64
		}
		if s.MaxConnsPerHost <= 0 {
			s.MaxConnsPerHost = 32
		}
		if s.MessageRate == 0 {
			s.MessageRate = 20
		}
		if s.RateWait <= 0 {
			s.RateWait = 2 * time.Second
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
		s.adm = &admission{max: s.MaxConns, perHost: s.MaxConnsPerHost, allow: s.AllowFrom, conns: make(map[net.Conn]*mllpConn)}
		if s.Intake == nil {
			s.Intake = NewIntake(s.MessageRate, s.MessageBurst)
		}
		s.refusedLog.interval, s.limitLog.interval = 10*time.Second, 10*time.Second
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

// Conns is the number of connections open now (for tests and the status page).
func (s *MLLPServer) Conns() int {
	s.init()
	return s.adm.count()
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
		s.adm.closeAll()
	}()
	defer func() { cancel(); <-stopped; wg.Wait() }()
	s.log.Info("hl7 mllp listening", "addr", ln.Addr().String(), "tls", s.TLSConfig != nil, "allow_from", len(s.AllowFrom),
		"max_conns", s.MaxConns, "max_conns_per_host", s.MaxConnsPerHost, "message_rate", s.MessageRate)
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
		if ctx.Err() != nil {
			c.Close()
			return nil
		}
		mc, evicted, res := s.adm.admit(c, time.Now())
		switch res {
		case refusedAddress:
			s.refusedLog.warn(s.log, "hl7 mllp connection refused: address not in allow_from", "remote", c.RemoteAddr().String())
			c.Close()
			continue
		case refusedFull:
			s.refusedLog.warn(s.log, "hl7 mllp connection refused: too many connections, all busy", "remote", c.RemoteAddr().String(),
				"max_conns", s.MaxConns, "max_conns_per_host", s.MaxConnsPerHost)
			c.Close()
			continue
		}
		if evicted != nil {
			s.refusedLog.warn(s.log, "hl7 mllp connection closed to make room: the one longest without a message",
				"remote", evicted.remote, "idle_for", time.Since(evicted.since).Round(time.Second).String(), "new_remote", mc.remote)
		}
		if s.TLSConfig != nil {
			mc.c = tls.Server(c, s.TLSConfig)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				s.adm.remove(mc)
				mc.c.Close()
			}()
			s.serveConn(ctx, mc)
		}()
	}
}

const mllpWriteTimeout = 30 * time.Second

// serveConn reads and answers the messages of one connection. Its read deadline is
// absolute: FrameTimeout after the current frame started, or IdleTimeout after the
// connection opened or last answered a message; no read extends it.
func (s *MLLPServer) serveConn(ctx context.Context, mc *mllpConn) {
	c, remote := mc.c, mc.remote
	s.log.Debug("hl7 mllp connection", "remote", remote)
	fr := Framer{Max: s.MaxMessageBytes}
	buf := make([]byte, 32<<10)
	idleFrom := time.Now()
	var frameFrom time.Time
	for {
		deadline := idleFrom.Add(s.IdleTimeout)
		if fr.Pending() {
			deadline = frameFrom.Add(s.FrameTimeout)
		}
		if err := c.SetReadDeadline(deadline); err != nil {
			return
		}
		wasPending := fr.Pending()
		n, rerr := c.Read(buf)
		readAt := time.Now()
		msgs, ferr := fr.Feed(buf[:n])
		for _, msg := range msgs {
			s.adm.setBusy(mc, true, time.Now())
			ack := s.handle(ctx, msg, remote)
			s.adm.setBusy(mc, false, time.Now())
			idleFrom = time.Now()
			if !s.write(c, ack) {
				return
			}
		}
		if fr.Pending() && (!wasPending || len(msgs) > 0) {
			frameFrom = readAt
			if len(msgs) > 0 {
				frameFrom = time.Now() // the time answering took is not the sender's
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
			case errors.As(rerr, &ne) && ne.Timeout() && fr.Pending():
				s.log.Warn("hl7 mllp connection closed: a frame was not complete in time", "remote", remote,
					"frame_timeout", s.FrameTimeout.String(), "bytes_received", len(fr.Partial()))
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

// tooMany is the answer to a message over the intake rate: AE, resend later.
func (s *MLLPServer) tooMany(m *Message, remote, ctrl string) []byte {
	s.limitLog.warn(s.log, "hl7 message NOT taken: too many messages; the sender must resend", "remote", remote, "control_id", ctrl,
		"message_rate", s.MessageRate)
	return buildACK(m, AckError, s.Now(), []FieldError{temporary(fmt.Sprintf(
		"too many messages: the agent takes at most %g bills a second", s.MessageRate))})
}

// process turns the message into a bill and stores it; final is false when the answer
// is a temporary failure that a resend should retry.
func (s *MLLPServer) process(ctx context.Context, m *Message, remote string) (ack []byte, final bool) {
	ctrl := m.Get("MSH-10")
	if IsStayMessage(m) {
		// Inpatient messages cost platform calls too: the same intake.
		if !s.Intake.take(ctx, s.RateWait) {
			return s.tooMany(m, remote, ctrl), false
		}
		return s.processStay(ctx, m, remote)
	}
	b, err := DFTToBill(m, s.Defaults)
	if errors.Is(err, ErrUnsupported) {
		s.log.Warn("hl7 message refused: unsupported type", "remote", remote, "control_id", ctrl, "type", m.Get("MSH-9.1")+"^"+m.Get("MSH-9.2"))
		return buildACK(m, AckReject, s.Now(), []FieldError{{Segment: "MSH", Seq: 1, Field: 9, Code: hl7UnsupportedType,
			Reason: fmt.Sprintf("message type %s^%s is not supported; send bills as DFT^P03", m.Get("MSH-9.1"), m.Get("MSH-9.2"))}}), true
	}
	if err == nil && len(s.Windows) > 0 && !slices.Contains(s.Windows, b.Window) {
		s.log.Warn("hl7 bill refused: window not served by this listener", "remote", remote, "control_id", ctrl, "bill_no", b.BillNo, "window", b.Window)
		return buildACK(m, AckError, s.Now(), []FieldError{{Segment: "PV1", Seq: 1, Field: 3, Path: "window", Code: hl7TableValue,
			Reason: fmt.Sprintf("window %q is not one this HL7 listener takes bills for (%s)", truncate(b.Window, 30), strings.Join(s.Windows, ", "))}}), true
	}
	if err == nil && !s.Intake.take(ctx, s.RateWait) {
		return s.tooMany(m, remote, ctrl), false
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
