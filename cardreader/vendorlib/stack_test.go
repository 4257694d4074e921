package vendorlib_test

import (
	"sync"
	"testing"

	"github.com/settle-agent/settle-agent/cardreader/vendorlib"
	"github.com/settle-agent/settle-agent/internal/standin"
)

// TestLib_OutputSurvivesStackGrowth calls the library from many fresh goroutines,
// whose small stacks grow (and move) during the call. An output buffer the
// compiler left on the goroutine stack would then be written by the library at
// its old place, and the answer would come back empty (or another goroutine's
// stack would be overwritten).
func TestLib_OutputSurvivesStackGrowth(t *testing.T) {
	path := standin.Build(t)
	ctl := standin.NewControl(t)
	t.Setenv("STANDIN_CTL", ctl.Path)
	l, err := vendorlib.Open(path, vendorlib.HeaSec)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer l.Close()
	const calls = 300
	got := make([]string, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// At some depth the stack left is enough for Init's own frame
			// but not for the frames of the call into C below it.
			got[i] = atDepth(i, func() string {
				r, err := l.Init([]byte(`{"PORT":1}`))
				if err != nil {
					return "error: " + err.Error()
				}
				return string(r.Out)
			})
		}()
		wg.Wait()
	}
	bad := 0
	for _, g := range got {
		if g != initMissingIP {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("Init from a fresh goroutine: %d of %d answers lost (e.g. %q); want every one %q", bad, calls, firstBad(got), initMissingIP)
	}
}

// atDepth runs f below depth frames of about 64 bytes each.
//
//go:noinline
func atDepth(depth int, f func() string) string {
	var pad [48]byte
	if depth > 0 {
		r := atDepth(depth-1, f)
		return r + string(pad[:depth%1])
	}
	return f()
}

func firstBad(got []string) string {
	for _, g := range got {
		if g != initMissingIP {
			return g
		}
	}
	return ""
}
