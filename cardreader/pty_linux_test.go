package cardreader

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent"
)

// TestPTY_EndToEnd drives the real serial code path: the Reader opens the
// pseudo-terminal's link through tarm/serial, a card inserted in the simulator
// arrives; the reader is unplugged and plugged back, and the next card still arrives.
func TestPTY_EndToEnd(t *testing.T) {
	link := filepath.Join(t.TempDir(), "reader0")
	pt, err := OpenPTY(link)
	if err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(link); err != nil || target != pt.Path() {
		t.Fatalf("link points at %q (%v); want %s", target, err, pt.Path())
	}
	sim := NewSimulator(pt)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = sim.Run(context.Background()) }()
	defer func() { pt.Close(); wg.Wait() }()

	reads := make(chan settle.CardRead, 8)
	r, err := New(Config{Window: "W07", Port: link}, &Options{
		OnRead:     func(cr settle.CardRead) { reads <- cr },
		Now:        func() time.Time { return testNow },
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	waitFor(t, "the reader to connect over the pty", func() bool { return r.State().Connected })
	if fw := r.State().Firmware; fw != SimFirmware {
		t.Errorf("got firmware %q; want %q", fw, SimFirmware)
	}
	want := DemoCards()[0]
	if err := sim.Insert(want); err != nil {
		t.Fatal(err)
	}
	if got := nextRead(t, reads); got.Err != nil || got.Card != want {
		t.Fatalf("got %+v; want %+v", got, want)
	}
	if got, err := r.ReadNow(ctx); err != nil || got != want {
		t.Errorf("ReadNow: got %+v, %v; want %+v", got, err, want)
	}

	old := pt.Path()
	if err := pt.Unplug(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reader to notice the unplug", func() bool { return !r.State().Connected })
	if err := pt.Replug(); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(link); err != nil || target != pt.Path() {
		t.Fatalf("after replug the link points at %q (%v); want %s (was %s)", target, err, pt.Path(), old)
	}
	waitFor(t, "the reader to reconnect", func() bool { return r.State().Connected })
	next := DemoCards()[1]
	if err := sim.Insert(next); err != nil {
		t.Fatal(err)
	}
	if got := nextRead(t, reads); got.Err != nil || got.Card != next {
		t.Fatalf("after replug got %+v; want %+v", got, next)
	}
}

// TestPTY_ReplugWhileOpen re-points the link while the agent still holds the old
// device: the old one hangs up (reads return at once with nothing) and the reader
// must notice that without the path disappearing.
func TestPTY_ReplugWhileOpen(t *testing.T) {
	link := filepath.Join(t.TempDir(), "reader1")
	pt, err := OpenPTY(link)
	if err != nil {
		t.Fatal(err)
	}
	sim := NewSimulator(pt)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = sim.Run(context.Background()) }()
	defer func() { pt.Close(); wg.Wait() }()

	reads := make(chan settle.CardRead, 8)
	r, err := New(Config{Window: "W08", Port: link}, &Options{
		OnRead: func(cr settle.CardRead) { reads <- cr }, Now: func() time.Time { return testNow },
		MinBackoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the reader to connect", func() bool { return r.State().Connected })
	if err := pt.Replug(); err != nil { // unplug and plug in one go
		t.Fatal(err)
	}
	want := DemoCards()[3]
	// The card goes in once the reader is back: poll by inserting until a read arrives.
	for i := 0; ; i++ {
		waitFor(t, "the reader to be connected", func() bool { return r.State().Connected })
		if err := sim.Insert(want); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-reads:
			if got.Err != nil || got.Card != want {
				t.Fatalf("got %+v; want %+v", got, want)
			}
			return
		case <-time.After(200 * time.Millisecond):
			if i > 100 {
				t.Fatal("no card arrived after the replug")
			}
		}
	}
}

func TestPTY_Unplugged(t *testing.T) {
	pt, err := OpenPTY("")
	if err != nil {
		t.Fatal(err)
	}
	defer pt.Close()
	if err := pt.Unplug(); err != nil {
		t.Fatal(err)
	}
	if _, err := pt.Write([]byte{1}); err != ErrUnplugged {
		t.Errorf("got %v; want ErrUnplugged", err)
	}
	if pt.Path() != "" {
		t.Errorf("got path %q while unplugged; want none", pt.Path())
	}
}

// TestPTY_Scanner reads an e-voucher code from a QR scanner on a real pty through
// tarm/serial, with the protocol "line".
func TestPTY_Scanner(t *testing.T) {
	link := filepath.Join(t.TempDir(), "scanner0")
	pt, err := OpenPTY(link)
	if err != nil {
		t.Fatal(err)
	}
	defer pt.Close()
	reads := make(chan settle.CardRead, 8)
	r, err := New(Config{Window: "W09", Port: link, Protocol: ProtocolLine}, &Options{OnRead: func(cr settle.CardRead) { reads <- cr }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the scanner port to open", func() bool { return r.State().Connected })
	if err := NewScanner(pt).ScanCode("EC330100000000000000000000000001"); err != nil {
		t.Fatal(err)
	}
	got := nextRead(t, reads)
	if got.Err != nil || got.Card.CertType != settle.CertEVoucher || got.Card.CardNo != "EC330100000000000000000000000001" {
		t.Errorf("got %+v; want the e-voucher code", got)
	}
}
