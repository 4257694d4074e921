package catalogue

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/platform/sim"
)

func TestNextRun(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation(time.DateTime, s, beijing)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct{ now, want string }{
		{"2026-12-01 01:00:00", "2026-12-01 02:30:00"},
		{"2026-12-01 02:30:00", "2026-12-02 02:30:00"},
		{"2026-12-01 23:59:59", "2026-12-02 02:30:00"},
		{"2026-12-31 10:00:00", "2027-01-01 02:30:00"},
	}
	for _, c := range cases {
		if got := NextRun(at(c.now), 2, 30, beijing); !got.Equal(at(c.want)) {
			t.Errorf("NextRun(%s) = %s; want %s", c.now, got, c.want)
		}
	}
}

// TestRunDaily drives two days with a fake timer: a stale catalogue syncs at the
// start, then once per firing, and the loop ends with ctx.
func TestRunDaily(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	sy := mustSyncer(t, e, s, SyncOptions{Kinds: []Kind{}, Queries: Queries[:1]})
	fire := make(chan time.Time)
	var waits []time.Duration
	var done atomic.Int32
	syncs := make(chan error, 8)
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error)
	go func() {
		ended <- sy.RunDaily(ctx, DailyOptions{Hour: 2, Minute: 30, Location: beijing,
			Now:    func() time.Time { return testNow },
			After:  func(d time.Duration) <-chan time.Time { waits = append(waits, d); return fire },
			Stale:  func() bool { return true },
			OnDone: func(_ Report, err error) { done.Add(1); syncs <- err }})
	}()
	for i := 0; i < 3; i++ {
		if i > 0 {
			fire <- testNow
		}
		if err := <-syncs; err != nil {
			t.Fatalf("sync %d: %v", i, err)
		}
	}
	cancel()
	if err := <-ended; err != nil {
		t.Fatalf("RunDaily = %v; want nil when ctx ends", err)
	}
	if done.Load() != 3 {
		t.Errorf("syncs = %d; want 3 (start + two days)", done.Load())
	}
	if want := 16*time.Hour + 30*time.Minute; len(waits) < 2 || waits[0] != want {
		t.Errorf("waits = %v; want %v (10:00 to 02:30)", waits, want)
	}
	if st, _ := s.State(Queries[0].Infno); st.SyncedAt.IsZero() {
		t.Errorf("the daily sync did not sync")
	}
}

// TestRunDaily_RetryAfterFailure: a sync that fails (the platform away) is tried
// again an hour later, not the next day.
func TestRunDaily_RetryAfterFailure(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	sy := mustSyncer(t, e, s, SyncOptions{Kinds: []Kind{}, Queries: Queries[:1]})
	e.p.SetFaults(sim.Faults{Down: true})
	fire := make(chan time.Time)
	waits := make(chan time.Duration, 8)
	syncs := make(chan error, 8)
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error)
	go func() {
		ended <- sy.RunDaily(ctx, DailyOptions{Hour: 2, Minute: 30, Location: beijing,
			Now:    func() time.Time { return testNow },
			After:  func(d time.Duration) <-chan time.Time { waits <- d; return fire },
			Stale:  func() bool { return true },
			OnDone: func(_ Report, err error) { syncs <- err }})
	}()
	if err := <-syncs; err == nil {
		t.Fatal("sync with the platform down: nil error")
	}
	if w := <-waits; w != time.Hour {
		t.Fatalf("wait after a failed sync = %v; want 1h", w)
	}
	e.p.SetFaults(sim.Faults{})
	fire <- testNow
	if err := <-syncs; err != nil {
		t.Fatalf("retried sync: %v", err)
	}
	if w := <-waits; w != 16*time.Hour+30*time.Minute {
		t.Fatalf("wait after a good sync = %v; want the next 02:30", w)
	}
	cancel()
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
}
