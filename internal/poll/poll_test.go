package poll

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// A condition that comes true is waited for; one that never does is given up on.
func TestWithin_WaitsForTheCondition(t *testing.T) {
	var n atomic.Int32
	if !Within(10*time.Second, time.Millisecond, func() bool { return n.Add(1) >= 5 }) {
		t.Fatalf("got false after %d asks; want true once the condition holds", n.Load())
	}
	if got := n.Load(); got != 5 {
		t.Errorf("asked %d times; want 5 (stop as soon as it holds)", got)
	}
	if Within(20*time.Millisecond, time.Millisecond, func() bool { return false }) {
		t.Error("a condition that never holds: got true; want false")
	}
}

// Until fails the test naming what it waited for.
func TestUntil_FailsNamingWhat(t *testing.T) {
	ft := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Until(ft, 20*time.Millisecond, "the answer", func() bool { return false })
	}()
	<-done
	if want := "timed out after 20ms waiting for the answer"; ft.msg != want {
		t.Errorf("got %q; want %q", ft.msg, want)
	}
}

// fakeTB records Fatalf and ends the goroutine as testing does.
type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
