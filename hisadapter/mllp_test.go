package hisadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// memSink is the agent as this package sees it: it validates, maps with a real
// Mapping, and keeps bills by bill_no with the agent's idempotency (same body: the
// same answer; other body: ErrConflict). failNext makes the next calls fail for a
// moment, like a full disk.
type memSink struct {
	mapping *Mapping

	mu       sync.Mutex
	bills    map[string][]byte
	order    []string
	calls    int
	failNext int
	gate     chan struct{} // when set, every call waits for it
	waiting  int           // calls waiting for the gate now
}

func newMemSink(m *Mapping) *memSink { return &memSink{mapping: m, bills: make(map[string][]byte)} }

func (s *memSink) SubmitBill(ctx context.Context, b settle.Bill, source string) error {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		s.mu.Lock()
		s.waiting++
		s.mu.Unlock()
		defer func() { s.mu.Lock(); s.waiting--; s.mu.Unlock() }()
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.failNext > 0 {
		s.failNext--
		return errors.New("store bill: disk full")
	}
	if err := b.Validate(); err != nil {
		return err
	}
	if s.mapping != nil {
		if err := s.mapping.Map(&b, b.CreatedAt); err != nil {
			return err
		}
	}
	j, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if old, ok := s.bills[b.BillNo]; ok {
		if bytes.Equal(old, j) {
			return nil
		}
		return fmt.Errorf("bill %s: %w", b.BillNo, settle.ErrConflict)
	}
	s.bills[b.BillNo] = j
	s.order = append(s.order, b.BillNo)
	return nil
}

func (s *memSink) count() (bills, calls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bills), s.calls
}

// startMLLP serves srv on a fresh loopback port until the test ends.
func startMLLP(t *testing.T, srv *MLLPServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// mllpClient is an integration engine's side of the connection.
type mllpClient struct {
	t  *testing.T
	c  net.Conn
	fr Framer
}

func dialMLLP(t *testing.T, addr string) *mllpClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &mllpClient{t: t, c: c}
}

// send writes one framed message and returns the answer.
func (c *mllpClient) send(msg []byte) []byte {
	c.t.Helper()
	c.c.SetDeadline(time.Now().Add(30 * time.Second)) // a safety net, not an assertion
	if _, err := c.c.Write(Frame(msg)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	ack, err := c.read()
	if err != nil {
		c.t.Fatalf("read answer: %v", err)
	}
	return ack
}

func (c *mllpClient) read() ([]byte, error) {
	buf := make([]byte, 4096)
	for {
		n, err := c.c.Read(buf)
		msgs, _ := c.fr.Feed(buf[:n])
		if len(msgs) > 0 {
			return msgs[0], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// closedByServer reports whether the server closed the connection (EOF or reset).
func (c *mllpClient) closedByServer() bool {
	c.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := c.read()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func ackOf(t *testing.T, raw []byte) *Message {
	t.Helper()
	m, err := ParseMessage(raw)
	if err != nil {
		t.Fatalf("answer does not parse: %v\n%q", err, raw)
	}
	return m
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "hl7", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dft builds a DFT^P03 with the given control id, bill number and item codes.
func dft(ctrl, billNo string, codes ...string) []byte {
	segs := []string{
		"MSH|^~\\&|HIS|HOSP01|SETTLE|HOSP01|20261123091200||DFT^P03|" + ctrl + "|P|2.5",
		"PID|1||P1||张^三",
		"PV1|1|O|W01|||||||||||||||11|" + billNo,
		"IN1|1|310||||||||||||||||||||||||||||||||||03^A12345678",
	}
	for i, c := range codes {
		segs = append(segs, fmt.Sprintf("FT1|%d|||20261123091000||CG|%s^品名|||2|25.00|12.50", i+1, c))
	}
	return []byte(strings.Join(segs, "\r") + "\r")
}

func TestMLLPServer_Answers(t *testing.T) {
	sink := newMemSink(mustMapping(t, "good.csv"))
	addr := startMLLP(t, &MLLPServer{Sink: sink, Defaults: DFTDefaults{MedType: "11"}})
	c := dialMLLP(t, addr)

	t.Run("AA", func(t *testing.T) {
		a := ackOf(t, c.send(dft("C1", "B1", "YP0001", "ZL0002")))
		if a.Get("MSA-1") != AckAccept || a.Get("MSA-2") != "C1" {
			t.Errorf("got MSA %s|%s; want AA|C1", a.Get("MSA-1"), a.Get("MSA-2"))
		}
		if bills, _ := sink.count(); bills != 1 {
			t.Errorf("got %d bills stored; want 1", bills)
		}
	})
	t.Run("AE_UnmappedListsEveryCode", func(t *testing.T) {
		a := ackOf(t, c.send(dft("C2", "B2", "YP0001", "YP0099", "YP0098")))
		errs := a.All("ERR")
		if a.Get("MSA-1") != AckError || len(errs) != 2 {
			t.Fatalf("got %s with %d ERR; want AE with 2", a.Get("MSA-1"), len(errs))
		}
		for i, want := range []string{"FT1-7 unmapped code YP0099", "FT1-7 unmapped code YP0098"} {
			if got := errs[i].Value(8); got != want {
				t.Errorf("ERR-8 = %q; want %q", got, want)
			}
			if got := errs[i].Field(3).Component(2); got != want {
				t.Errorf("ERR-3.2 = %q; want %q", got, want)
			}
			if seg, seq := errs[i].Field(2).Component(1), errs[i].Field(2).Component(2); seg != "FT1" || seq != fmt.Sprint(i+2) {
				t.Errorf("ERR-2 = %s^%s; want FT1^%d", seg, seq, i+2)
			}
		}
	})
	t.Run("AE_BadAmounts", func(t *testing.T) {
		a := ackOf(t, c.send(sample(t, "bad_amounts.hl7")))
		if a.Get("MSA-1") != AckError || len(a.All("ERR")) < 5 {
			t.Errorf("got %s with %d ERR; want AE with every problem", a.Get("MSA-1"), len(a.All("ERR")))
		}
	})
	t.Run("AR_WrongType", func(t *testing.T) {
		a := ackOf(t, c.send(sample(t, "wrong_type.hl7")))
		if a.Get("MSA-1") != AckReject || !strings.Contains(a.Segment("ERR").Value(8), "DFT^P03") {
			t.Errorf("got %s %q; want AR naming DFT^P03", a.Get("MSA-1"), a.Segment("ERR").Value(8))
		}
	})
	t.Run("AR_Unparsable", func(t *testing.T) {
		a := ackOf(t, c.send([]byte("hello")))
		if a.Get("MSA-1") != AckReject {
			t.Errorf("got %s; want AR", a.Get("MSA-1"))
		}
	})
	t.Run("AA_GB18030", func(t *testing.T) {
		raw := c.send(sample(t, "gb18030.hl7"))
		a := ackOf(t, raw)
		if a.Get("MSA-1") != AckError || a.Charset != "GB 18030-2000" {
			t.Errorf("got %s in %q; want AE (YP0007 is unmapped) in GB 18030", a.Get("MSA-1"), a.Charset)
		}
	})
	t.Run("AE_Conflict", func(t *testing.T) {
		a := ackOf(t, c.send(dft("C3", "B1", "YP0001")))
		if a.Get("MSA-1") != AckError || !strings.HasPrefix(a.Segment("ERR").Value(8), "PV1-19 bill_no B1 was received before") {
			t.Errorf("got %s %q; want AE naming PV1-19", a.Get("MSA-1"), a.Segment("ERR").Value(8))
		}
	})
}

func TestMLLPServer_Duplicates(t *testing.T) {
	sink := newMemSink(mustMapping(t, "good.csv"))
	addr := startMLLP(t, &MLLPServer{Sink: sink})
	msg := dft("D1", "B1", "YP0001")
	first := dialMLLP(t, addr).send(msg)
	again := dialMLLP(t, addr).send(msg)
	if !bytes.Equal(first, again) {
		t.Errorf("duplicate answered differently:\n%q\n%q", first, again)
	}
	restamped := bytes.Replace(msg, []byte("20261123091200||DFT"), []byte("20261123091300||DFT"), 1)
	if third := dialMLLP(t, addr).send(restamped); !bytes.Equal(first, third) {
		t.Errorf("a resend with a new MSH-7 answered differently")
	}
	if _, calls := sink.count(); calls != 1 {
		t.Errorf("Sink called %d times; want 1", calls)
	}

	// The same bill resent in a new message (new control id, new MSH-7) is the same
	// bill to the agent: stored once, answered AA.
	renewed := bytes.Replace(restamped, []byte("|D1|"), []byte("|D9|"), 1)
	if a := ackOf(t, dialMLLP(t, addr).send(renewed)); a.Get("MSA-1") != AckAccept || a.Get("MSA-2") != "D9" {
		t.Errorf("the same bill in a new message: got %s|%s; want AA|D9", a.Get("MSA-1"), a.Get("MSA-2"))
	}
	if bills, calls := sink.count(); bills != 1 || calls != 2 {
		t.Errorf("got %d bills, %d calls; want 1, 2", bills, calls)
	}

	// The same control id with other content is not a resend: it is processed.
	other := dialMLLP(t, addr).send(dft("D1", "B2", "YP0001"))
	if a := ackOf(t, other); a.Get("MSA-1") != AckAccept {
		t.Errorf("reused control id with a new bill: got %s; want AA", a.Get("MSA-1"))
	}
	if bills, calls := sink.count(); bills != 2 || calls != 3 {
		t.Errorf("got %d bills, %d calls; want 2, 3", bills, calls)
	}

	// Concurrent duplicates while the Sink is slow: one call.
	gate := make(chan struct{})
	sink.mu.Lock()
	sink.gate = gate
	sink.mu.Unlock()
	msg3 := dft("D3", "B3", "YP0001")
	answers := make(chan []byte, 3)
	for range 3 {
		c := dialMLLP(t, addr)
		go func() { answers <- c.send(msg3) }()
	}
	close(gate)
	for range 3 {
		if a := ackOf(t, <-answers); a.Get("MSA-1") != AckAccept {
			t.Errorf("concurrent duplicate: got %s; want AA", a.Get("MSA-1"))
		}
	}
	if bills, calls := sink.count(); bills != 3 || calls != 4 {
		t.Errorf("got %d bills, %d calls; want 3, 4", bills, calls)
	}
}

func TestMLLPServer_TemporaryFailureIsRetried(t *testing.T) {
	sink := newMemSink(nil)
	sink.failNext = 1
	addr := startMLLP(t, &MLLPServer{Sink: sink})
	c := dialMLLP(t, addr)
	msg := dft("T1", "B1", "YP0001")
	a := ackOf(t, c.send(msg))
	if a.Get("MSA-1") != AckError || !strings.Contains(a.Segment("ERR").Value(8), "resend") {
		t.Fatalf("got %s %q; want AE asking to resend", a.Get("MSA-1"), a.Segment("ERR").Value(8))
	}
	if a := ackOf(t, c.send(msg)); a.Get("MSA-1") != AckAccept {
		t.Errorf("resend: got %s; want AA", a.Get("MSA-1"))
	}
	if bills, calls := sink.count(); bills != 1 || calls != 2 {
		t.Errorf("got %d bills, %d calls; want 1, 2", bills, calls)
	}
}

func TestMLLPServer_ConcurrentConnections(t *testing.T) {
	sink := newMemSink(nil)
	addr := startMLLP(t, &MLLPServer{Sink: sink})
	const conns, each = 16, 8
	var wg sync.WaitGroup
	bad := make(chan string, conns*each)
	for i := range conns {
		c := dialMLLP(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				raw := c.send(dft(fmt.Sprintf("K%d-%d", i, j), fmt.Sprintf("B%d-%d", i, j), "YP0001"))
				if m, err := ParseMessage(raw); err != nil || m.Get("MSA-1") != AckAccept || m.Get("MSA-2") != fmt.Sprintf("K%d-%d", i, j) {
					bad <- string(raw)
				}
			}
		}()
	}
	wg.Wait()
	close(bad)
	for b := range bad {
		t.Errorf("unexpected answer %q", b)
	}
	if bills, _ := sink.count(); bills != conns*each {
		t.Errorf("got %d bills; want %d", bills, conns*each)
	}
}

func TestMLLPServer_Limits(t *testing.T) {
	sink := newMemSink(nil)
	addr := startMLLP(t, &MLLPServer{Sink: sink, MaxMessageBytes: 300, IdleTimeout: 100 * time.Millisecond, MaxConns: 2})

	t.Run("Oversize", func(t *testing.T) {
		c := dialMLLP(t, addr)
		a := ackOf(t, c.send(dft("O1", "B1", "YP0001", "YP0002", "YP0003", "YP0004")))
		if a.Get("MSA-1") != AckReject || a.Get("MSA-2") != "O1" {
			t.Errorf("got %s|%s; want AR|O1", a.Get("MSA-1"), a.Get("MSA-2"))
		}
		if !c.closedByServer() {
			t.Error("connection still open after an oversize message")
		}
	})
	t.Run("Idle", func(t *testing.T) {
		c := dialMLLP(t, addr)
		if !c.closedByServer() {
			t.Error("idle connection not closed")
		}
	})
	t.Run("MaxConns", func(t *testing.T) {
		srv := &MLLPServer{Sink: sink, MaxConns: 1}
		addr := startMLLP(t, srv)
		first := dialMLLP(t, addr)
		first.send(dft("M1", "M1", "YP0001"))
		// The first connection is idle: a new one takes its place.
		second := dialMLLP(t, addr)
		if a := ackOf(t, second.send(dft("M2", "M2", "YP0001"))); a.Get("MSA-1") != AckAccept {
			t.Errorf("new connection: got %s; want AA", a.Get("MSA-1"))
		}
		if !first.closedByServer() {
			t.Error("the idle connection was not closed to make room")
		}
	})
	if _, calls := sink.count(); calls != 2 {
		t.Errorf("Sink called %d times; want 2 (nothing for refused messages)", calls)
	}
}

func TestMLLPServer_Shutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &MLLPServer{Sink: newMemSink(nil)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	c := dialMLLP(t, ln.Addr().String())
	c.send(dft("S1", "S1", "YP0001"))
	if srv.ListenAddr() == nil {
		t.Error("ListenAddr is nil while serving")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve returned %v; want nil", err)
	}
	if !c.closedByServer() {
		t.Error("connection left open after shutdown")
	}
}

func TestFramer(t *testing.T) {
	var f Framer
	stream := []byte("\r\n\x0bfirst\x1c\r\x0bsec")
	msgs, err := f.Feed(stream)
	if err != nil || len(msgs) != 1 || string(msgs[0]) != "first" || !f.Pending() {
		t.Fatalf("got %q, %v, pending %v; want [first], pending", msgs, err, f.Pending())
	}
	msgs, _ = f.Feed([]byte("ond\x1c"))
	more, _ := f.Feed([]byte("\r\x0bthird\x1c\x0bfour\x0bfourth\x1c\r"))
	got := append(msgs, more...)
	if want := []string{"second", "third", "fourth"}; fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("got %q; want %q", got, want)
	}
	small := Framer{Max: 4}
	if _, err := small.Feed([]byte("\x0b12345\x1c\r")); !errors.Is(err, ErrTooLarge) || string(small.Partial()) != "1234" {
		t.Errorf("got %v, partial %q; want ErrTooLarge with 1234", err, small.Partial())
	}
}

// FuzzFramer checks that any split of a stream into chunks yields the same messages
// as the whole stream, and that framed messages come back as they went in.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("\x0bMSH|^~\\&|A\x1c\r\x0bB\x1c\r"), uint8(3))
	f.Add([]byte("noise\x0bhalf\x0bwhole\x1cX"), uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, cut uint8) {
		whole := Framer{Max: 64}
		want, werr := whole.Feed(stream)
		chunked := Framer{Max: 64}
		var got [][]byte
		var gerr error
		step := int(cut)%7 + 1
		for i := 0; i < len(stream) && gerr == nil; i += step {
			var msgs [][]byte
			msgs, gerr = chunked.Feed(stream[i:min(i+step, len(stream))])
			got = append(got, msgs...)
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) || (werr == nil) != (gerr == nil) {
			t.Fatalf("chunked %q, %v; whole %q, %v", got, gerr, want, werr)
		}
		payload := bytes.Map(func(r rune) rune {
			if r == mllpStart || r == mllpEnd {
				return -1
			}
			return r
		}, stream)
		if len(payload) > 64 || !bytes.Equal(payload, stream) {
			return
		}
		var rt Framer
		back, err := rt.Feed(Frame(payload))
		if err != nil || len(back) != 1 || !bytes.Equal(back[0], payload) {
			t.Fatalf("Frame round trip: got %q, %v; want %q", back, err, payload)
		}
	})
}
