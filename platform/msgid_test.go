package platform

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testCode = "H33010200001"

// fakeClock is a settable clock for the generator.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

var t0 = time.Date(2026, 11, 23, 9, 12, 1, 0, cst)

func TestMsgidGenerator_Format(t *testing.T) {
	g, err := NewMsgidGenerator(MsgidOptions{FixmedinsCode: testCode, Node: -1, Now: newFakeClock(t0).Now})
	if err != nil {
		t.Fatal(err)
	}
	id, err := g.Next()
	if err != nil {
		t.Fatal(err)
	}
	if want := "H33010200001202611230912010000"; id != want {
		t.Fatalf("got %s; want %s", id, want)
	}
	id, _ = g.Next()
	if want := "H33010200001202611230912010001"; id != want {
		t.Fatalf("got %s; want %s", id, want)
	}
	// the timestamp is Beijing time whatever the machine's zone is
	g2, _ := NewMsgidGenerator(MsgidOptions{FixmedinsCode: testCode, Node: 3, Now: newFakeClock(t0.UTC()).Now})
	id, _ = g2.Next()
	if want := "H33010200001202611230912013000"; id != want {
		t.Fatalf("node 3: got %s; want %s", id, want)
	}
}

func TestNewMsgidGenerator_ErrInvalid(t *testing.T) {
	for _, o := range []MsgidOptions{
		{FixmedinsCode: "H3301020000", Node: -1},
		{FixmedinsCode: "H330102000011", Node: -1},
		{FixmedinsCode: "H3301020000-", Node: -1},
		{FixmedinsCode: testCode, Node: 10},
		{FixmedinsCode: testCode, Node: -2},
	} {
		if _, err := NewMsgidGenerator(o); err == nil {
			t.Errorf("NewMsgidGenerator(%+v): got nil; want an error", o)
		}
	}
}

// TestMsgidGenerator_Concurrent issues many msgids from many goroutines across
// generators of several nodes and a clock that stands still, steps back and jumps.
func TestMsgidGenerator_Concurrent(t *testing.T) {
	clock := newFakeClock(t0)
	var gens []*MsgidGenerator
	for _, node := range []int{0, 1, 9} {
		g, err := NewMsgidGenerator(MsgidOptions{FixmedinsCode: testCode, Node: node, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		gens = append(gens, g)
	}
	const workers, per = 16, 2500
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := gens[w%len(gens)]
			for i := range per {
				id, err := g.Next()
				if err != nil {
					t.Error(err)
					return
				}
				ids[w] = append(ids[w], id)
				if w == 0 && i%500 == 0 {
					clock.Add(-3 * time.Second) // the wall clock steps back
				}
			}
		}()
	}
	wg.Wait()
	seen := make(map[string]bool, workers*per)
	for w := range ids {
		last := ""
		for _, id := range ids[w] {
			if seen[id] {
				t.Fatalf("msgid %s issued twice", id)
			}
			seen[id] = true
			if id <= last {
				t.Fatalf("worker %d: msgid %s after %s; want increasing", w, id, last)
			}
			last = id
			_, _, seq, err := ParseMsgid(id)
			if err != nil {
				t.Fatalf("ParseMsgid(%s): %v", id, err)
			}
			node := (w % len(gens))
			lo := []int{0, 1000, 9000}[node]
			if seq < lo || seq > lo+999 {
				t.Fatalf("msgid %s of node index %d has sequence %d outside %d-%d", id, node, seq, lo, lo+999)
			}
		}
	}
	if len(seen) != workers*per {
		t.Fatalf("got %d msgids; want %d", len(seen), workers*per)
	}
}

// TestMsgidGenerator_SequenceUsedUp: when a second's sequences are used up the logical
// clock moves to the next second without waiting for the wall clock.
func TestMsgidGenerator_SequenceUsedUp(t *testing.T) {
	g, _ := NewMsgidGenerator(MsgidOptions{FixmedinsCode: testCode, Node: 5, Now: newFakeClock(t0).Now})
	var last string
	for range 1001 {
		last, _ = g.Next()
	}
	_, at, seq, err := ParseMsgid(last)
	if err != nil {
		t.Fatal(err)
	}
	if !at.Equal(t0.Add(time.Second)) || seq != 5000 {
		t.Fatalf("1001st msgid %s: at %s seq %d; want %s seq 5000", last, at, seq, t0.Add(time.Second))
	}
}

// TestMsgidGenerator_Restart simulates a restart: the second run gets the persisted
// high-water mark and, even with the clock set back, never repeats a msgid.
func TestMsgidGenerator_Restart(t *testing.T) {
	clock := newFakeClock(t0)
	var persisted time.Time
	var reserveCalls int
	opts := MsgidOptions{FixmedinsCode: testCode, Node: -1, Now: clock.Now, Reserve: func(until time.Time) error {
		reserveCalls++
		persisted = until
		return nil
	}}
	g1, _ := NewMsgidGenerator(opts)
	seen := map[string]bool{}
	for i := range 3000 {
		id, err := g1.Next()
		if err != nil {
			t.Fatal(err)
		}
		seen[id] = true
		if _, at, _, _ := ParseMsgid(id); at.After(persisted) {
			t.Fatalf("msgid %s issued beyond the persisted mark %s", id, persisted)
		}
		if i%100 == 0 {
			clock.Add(time.Second)
		}
	}
	if reserveCalls == 0 || reserveCalls > 5 {
		t.Fatalf("Reserve called %d times for 30 s of msgids; want 1-5", reserveCalls)
	}
	if !g1.HighWater().Equal(persisted) {
		t.Fatalf("HighWater %s; want %s", g1.HighWater(), persisted)
	}

	// restart with the clock set back a minute
	clock.Set(t0.Add(-time.Minute))
	opts.Reserved = persisted
	g2, _ := NewMsgidGenerator(opts)
	first, err := g2.Next()
	if err != nil {
		t.Fatal(err)
	}
	if _, at, _, _ := ParseMsgid(first); !at.After(opts.Reserved) {
		t.Fatalf("first msgid after restart %s is not after the reserved mark %s", first, opts.Reserved)
	}
	for i := range 3000 {
		id := first
		if i > 0 {
			id, _ = g2.Next()
		}
		if seen[id] {
			t.Fatalf("msgid %s reissued after restart", id)
		}
	}
}

func TestMsgidGenerator_ReserveFails(t *testing.T) {
	fail := errors.New("disk full")
	clock := newFakeClock(t0)
	var ok atomic.Bool
	ok.Store(true)
	g, _ := NewMsgidGenerator(MsgidOptions{FixmedinsCode: testCode, Node: -1, Now: clock.Now, Reserve: func(time.Time) error {
		if ok.Load() {
			return nil
		}
		return fail
	}})
	if _, err := g.Next(); err != nil {
		t.Fatal(err)
	}
	ok.Store(false)
	clock.Add(time.Second) // within the reservation: still issues
	if _, err := g.Next(); err != nil {
		t.Fatalf("within the reservation: got %v; want nil", err)
	}
	clock.Add(time.Minute) // beyond it: must not issue
	if id, err := g.Next(); !errors.Is(err, fail) {
		t.Fatalf("beyond the reservation: got %q, %v; want the Reserve error", id, err)
	}
	ok.Store(true)
	if _, err := g.Next(); err != nil {
		t.Fatalf("after Reserve recovers: %v", err)
	}
}

func TestParseMsgid(t *testing.T) {
	code, at, seq, err := ParseMsgid("H33010200001202611230912010042")
	if err != nil || code != testCode || !at.Equal(t0) || seq != 42 {
		t.Fatalf("got %s %s %d %v; want %s %s 42 nil", code, at, seq, err, testCode, t0)
	}
	for _, s := range []string{
		"",
		"H3301020000120261123091201004",   // 29
		"H330102000012026112309120100421", // 31
		"H33010200001202613230912010042",  // month 13
		"H33010200001202602300912010042",  // 30 Feb
		"H330102000012026112309120100-2",
		"H3301020000-202611230912010042",
		"H33010200001+02611230912010042",
	} {
		if _, _, _, err := ParseMsgid(s); err == nil {
			t.Errorf("ParseMsgid(%q): got nil; want an error", s)
		}
	}
}

func FuzzParseMsgid(f *testing.F) {
	f.Add("H33010200001202611230912010042")
	f.Add("H33010200001202602300912010042")
	f.Add("h330102000012026112309120100-2")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		code, at, seq, err := ParseMsgid(s)
		if err != nil {
			return
		}
		if back := formatMsgid(code, at, seq); back != s {
			t.Fatalf("ParseMsgid(%q) = %s %s %d; formats back as %q", s, code, at, seq, back)
		}
	})
}

func BenchmarkMsgidGenerator_Next(b *testing.B) {
	g, _ := NewMsgidGenerator(MsgidOptions{FixmedinsCode: testCode, Node: -1})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := g.Next(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func ExampleParseMsgid() {
	code, at, seq, _ := ParseMsgid("H33010200001202611230912010042")
	fmt.Println(code, at.Format(InfTimeLayout), seq)
	// Output: H33010200001 2026-11-23 09:12:01 42
}
