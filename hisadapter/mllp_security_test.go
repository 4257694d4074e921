package hisadapter

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/poll"
)

// trickle opens a connection that starts a frame and then sends one byte every few
// milliseconds, never finishing it, until the server closes it or the test ends.
// The returned channel is closed when the server has closed the connection.
func trickle(t *testing.T, addr string) <-chan struct{} {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	closed := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // writer: a byte now and then
		defer wg.Done()
		if _, err := c.Write([]byte{mllpStart, 'M', 'S', 'H'}); err != nil {
			return
		}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := c.Write([]byte{'|'}); err != nil {
					return
				}
			}
		}
	}()
	go func() { // reader: notices the server closing the connection
		defer wg.Done()
		defer close(closed)
		buf := make([]byte, 64)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); c.Close(); wg.Wait() })
	return closed
}

func waitClosed(t *testing.T, closed <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-closed:
	case <-time.After(30 * time.Second): // a safety net, not an assertion on time
		t.Fatalf("%s: still open", what)
	}
}

// Issue 17 point 4: connections that never finish a frame, trickling a byte now and
// then, filled the listener and a real HIS message was closed with no ACK.
func TestMLLPServer_TrickleLockout(t *testing.T) {
	sink := newMemSink(nil)
	srv := &MLLPServer{Sink: sink, MaxConns: 4, FrameTimeout: 300 * time.Millisecond, IdleTimeout: time.Minute}
	addr := startMLLP(t, srv)
	var tricklers []<-chan struct{}
	for range 4 {
		tricklers = append(tricklers, trickle(t, addr))
	}
	poll.Until(t, 20*time.Second, "the listener full of tricklers", func() bool { return srv.Conns() >= 4 })
	his := dialMLLP(t, addr)
	if a := ackOf(t, his.send(dft("H1", "H1", "YP0001"))); a.Get("MSA-1") != AckAccept {
		t.Fatalf("HIS message with the listener full of tricklers: got %s; want AA", a.Get("MSA-1"))
	}
	// Every trickler is cut off although it keeps sending: the frame deadline is
	// absolute, not renewed by each byte.
	for i, closed := range tricklers {
		waitClosed(t, closed, fmt.Sprintf("trickler %d", i))
	}
	if a := ackOf(t, his.send(dft("H2", "H2", "YP0001"))); a.Get("MSA-1") != AckAccept {
		t.Errorf("HIS second message: got %s; want AA", a.Get("MSA-1"))
	}
}

// Bytes between frames do not keep a connection either: without a complete message
// within IdleTimeout it is closed however much noise it sends.
func TestMLLPServer_NoiseIsNotActivity(t *testing.T) {
	addr := startMLLP(t, &MLLPServer{Sink: newMemSink(nil), IdleTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		buf := make([]byte, 16)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	for {
		select {
		case <-closed:
			return
		case <-time.After(10 * time.Millisecond):
		}
		if _, err := c.Write([]byte("\n")); err != nil {
			waitClosed(t, closed, "noisy connection")
			return
		}
	}
}

// A connection beyond MaxConnsPerHost replaces that host's oldest idle connection;
// another host's connections are not touched.
func TestMLLPServer_PerHostCap(t *testing.T) {
	srv := &MLLPServer{Sink: newMemSink(nil), MaxConns: 10, MaxConnsPerHost: 2}
	addr := startMLLP(t, srv)
	other, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot dial from 127.0.0.2: %v", err)
	}
	otherC := &mllpClient{t: t, c: other}
	t.Cleanup(func() { other.Close() })
	otherC.send(dft("O1", "O1", "YP0001"))
	a, b := dialMLLP(t, addr), dialMLLP(t, addr)
	a.send(dft("A1", "A1", "YP0001"))
	b.send(dft("B1", "B1", "YP0001"))
	c := dialMLLP(t, addr) // the third from 127.0.0.1: a (idle longest) goes
	if m := ackOf(t, c.send(dft("C1", "C1", "YP0001"))); m.Get("MSA-1") != AckAccept {
		t.Errorf("third connection: got %s; want AA", m.Get("MSA-1"))
	}
	if !a.closedByServer() {
		t.Error("the host's oldest idle connection was not closed")
	}
	for name, cl := range map[string]*mllpClient{"b": b, "127.0.0.2": otherC} {
		if m := ackOf(t, cl.send(dft("X-"+name, "X-"+strings.ReplaceAll(name, ".", "-"), "YP0001"))); m.Get("MSA-1") != AckAccept {
			t.Errorf("connection %s: got %s; want AA", name, m.Get("MSA-1"))
		}
	}
}

// When every connection is busy storing a bill, a new one is refused (never one that
// is mid-message).
func TestMLLPServer_FullOfBusyRefuses(t *testing.T) {
	sink := newMemSink(nil)
	sink.gate = make(chan struct{})
	addr := startMLLP(t, &MLLPServer{Sink: sink, MaxConns: 1})
	busy := dialMLLP(t, addr)
	if _, err := busy.c.Write(Frame(dft("G1", "G1", "YP0001"))); err != nil {
		t.Fatal(err)
	}
	// Wait until the message is inside the Sink (the gate holds it there).
	poll.Until(t, 20*time.Second, "the message inside the Sink", func() bool { return sinkEntered(sink) })
	if !dialMLLP(t, addr).closedByServer() {
		t.Error("a connection over MaxConns was kept while the only one is busy")
	}
	close(sink.gate)
	busy.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	raw, err := busy.read()
	if err != nil {
		t.Fatalf("busy connection lost its answer: %v", err)
	}
	if m := ackOf(t, raw); m.Get("MSA-1") != AckAccept {
		t.Errorf("busy connection: got %s; want AA", m.Get("MSA-1"))
	}
}

// Issue 17 point 4: a flood of messages was taken at once. Now at most MessageRate a
// second reach the Sink (after a burst); the rest are told to resend, and nothing of
// them is stored.
func TestMLLPServer_Flood(t *testing.T) {
	sink := newMemSink(nil)
	const rate, burst, conns, each = 2, 3, 4, 10
	addr := startMLLP(t, &MLLPServer{Sink: sink, MessageRate: rate, MessageBurst: burst, RateWait: time.Millisecond})
	start := time.Now()
	var mu sync.Mutex
	var accepted, refused int
	var wg sync.WaitGroup
	for i := range conns {
		c := dialMLLP(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				m, err := ParseMessage(c.send(dft(fmt.Sprintf("F%d-%d", i, j), fmt.Sprintf("F%d-%d", i, j), "YP0001")))
				mu.Lock()
				switch {
				case err == nil && m.Get("MSA-1") == AckAccept:
					accepted++
				case err == nil && m.Get("MSA-1") == AckError && strings.Contains(m.Get("MSA-3"), "too many messages"):
					refused++
				default:
					t.Errorf("unexpected answer %v %v", m, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	bills, calls := sink.count()
	if most := burst + int(rate*elapsed) + 1; accepted > most {
		t.Errorf("%d of %d messages taken in %.2fs; want at most %d (burst %d + %d/s)", accepted, conns*each, elapsed, most, burst, rate)
	}
	if accepted+refused != conns*each || bills != accepted || calls != accepted {
		t.Errorf("accepted %d refused %d bills %d sink calls %d; want accepted+refused = %d and only accepted stored", accepted, refused, bills, calls, conns*each)
	}
	// A refused message is taken when resent later.
	c := dialMLLP(t, addr)
	poll.Until(t, 20*time.Second, "the resent message taken", func() bool {
		return ackOf(t, c.send(dft("RESEND", "RESEND", "YP0001"))).Get("MSA-1") == AckAccept
	})
}

func TestMLLPServer_AllowFrom(t *testing.T) {
	sink := newMemSink(nil)
	addr := startMLLP(t, &MLLPServer{Sink: sink, AllowFrom: []netip.Prefix{netip.MustParsePrefix("10.1.2.3/32")}})
	c := dialMLLP(t, addr)
	c.c.Write(Frame(dft("A1", "A1", "YP0001")))
	if !c.closedByServer() {
		t.Error("connection from an address not in AllowFrom was served")
	}
	if _, calls := sink.count(); calls != 0 {
		t.Errorf("Sink called %d times; want 0", calls)
	}
	addr = startMLLP(t, &MLLPServer{Sink: sink, AllowFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if m := ackOf(t, dialMLLP(t, addr).send(dft("A2", "A2", "YP0001"))); m.Get("MSA-1") != AckAccept {
		t.Errorf("allowed address: got %s; want AA", m.Get("MSA-1"))
	}
}

func TestMLLPServer_Windows(t *testing.T) {
	sink := newMemSink(nil)
	addr := startMLLP(t, &MLLPServer{Sink: sink, Windows: []string{"W02"}})
	m := ackOf(t, dialMLLP(t, addr).send(dft("W1", "W1", "YP0001"))) // PV1-3 W01
	if m.Get("MSA-1") != AckError || !strings.Contains(m.Get("ERR-2"), "PV1") {
		t.Errorf("bill for W01 on a W02 listener: got %s ERR-2 %q; want AE at PV1-3", m.Get("MSA-1"), m.Get("ERR-2"))
	}
	if bills, _ := sink.count(); bills != 0 {
		t.Errorf("%d bills stored; want 0", bills)
	}
}

func TestMLLPServer_TLS(t *testing.T) {
	cert, pool := selfSigned(t)
	sink := newMemSink(nil)
	addr := startMLLP(t, &MLLPServer{Sink: sink, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	tc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	c := &mllpClient{t: t, c: tc}
	if m := ackOf(t, c.send(dft("T1", "T1", "YP0001"))); m.Get("MSA-1") != AckAccept {
		t.Errorf("over TLS: got %s; want AA", m.Get("MSA-1"))
	}
	plain := dialMLLP(t, addr)
	plain.c.Write(Frame(dft("T2", "T2", "YP0001")))
	if !plain.closedByServer() {
		t.Error("plain MLLP on a TLS listener was answered")
	}
	if bills, _ := sink.count(); bills != 1 {
		t.Errorf("%d bills; want 1", bills)
	}
}

func sinkEntered(s *memSink) bool {
	// memSink counts a call only after the gate; a gated call shows as a goroutine
	// parked in SubmitBill, which the test sees as the Sink's waiters.
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting > 0
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "settle-agent test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// Issue 17 points 1 and 2 over HL7: a formula as the bill number and a quantity ×
// price that wraps 64 bits to the stated amount are both refused, naming the field.
func TestMLLPServer_SameValidationAsAPI(t *testing.T) {
	sink := newMemSink(nil)
	c := dialMLLP(t, startMLLP(t, &MLLPServer{Sink: sink}))
	m := ackOf(t, c.send(dft("X1", "=HYPERLINK(\"http://x\")", "YP0001")))
	if m.Get("MSA-1") != AckError || !strings.Contains(m.Get("MSA-3"), "PV1-19") {
		t.Errorf("formula bill_no: got %s %q; want AE naming PV1-19", m.Get("MSA-1"), m.Get("MSA-3"))
	}
	over := strings.Replace(string(dft("X2", "X2", "YP0001")), "|||2|25.00|12.50", "|||1855986.25|25.00|99390521205.152", 1)
	m = ackOf(t, c.send([]byte(over)))
	if m.Get("MSA-1") != AckError || !strings.Contains(m.Get("MSA-3"), "FT1-11") {
		t.Errorf("overflowing line: got %s %q; want AE naming FT1-11", m.Get("MSA-1"), m.Get("MSA-3"))
	}
	if bills, _ := sink.count(); bills != 0 {
		t.Errorf("%d bills stored; want 0", bills)
	}
}

// A HIS connection that has delivered messages is not the one given up when tricklers
// arrive later and fill the listener: those that never delivered a message go first.
func TestMLLPServer_AnsweredConnectionKept(t *testing.T) {
	srv := &MLLPServer{Sink: newMemSink(nil), MaxConns: 3, FrameTimeout: time.Minute}
	addr := startMLLP(t, srv)
	his := dialMLLP(t, addr)
	his.send(dft("K1", "K1", "YP0001"))
	for range 6 { // twice the room that is left
		trickle(t, addr)
	}
	poll.Until(t, 20*time.Second, "three connections", func() bool { return srv.Conns() >= 3 })
	if m := ackOf(t, his.send(dft("K2", "K2", "YP0001"))); m.Get("MSA-1") != AckAccept {
		t.Errorf("the HIS connection after tricklers arrived: got %s; want AA", m.Get("MSA-1"))
	}
}
