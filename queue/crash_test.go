package queue

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The crash test re-executes the test binary as a child that enqueues and acks
// under load and prints every id only after the call returned; the parent kills it
// (SIGKILL on Unix, TerminateProcess on Windows) at a random moment, many rounds on
// the same file, and checks after each round that everything acknowledged is there
// exactly once.
const (
	envCrashDB    = "QUEUE_CRASH_CHILD_DB"
	envCrashRound = "QUEUE_CRASH_CHILD_ROUND"
)

// TestHelperProcess is the crash test's child; it does nothing in a normal run.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(envCrashDB)
	if path == "" {
		t.Skip("crash-test child; runs only under TestCrash_KillAtRandom")
	}
	round := os.Getenv(envCrashRound)
	s, err := Open(path, &Options{LeaseTime: 200 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Retention: 24 * time.Hour, OpenTimeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	say := func(format string, a ...any) {
		line := fmt.Sprintf(format+"\n", a...)
		mu.Lock()
		os.Stdout.WriteString(line) // one write per line, unbuffered: nothing printed is lost with the process
		mu.Unlock()
	}
	ctx := context.Background()
	for p := range 16 {
		go func() {
			for n := 0; ; n++ {
				payload := fmt.Sprintf("r%s-p%d-n%d", round, p, n)
				key := fmt.Sprintf("visit-%d", rand.N(40))
				id, err := s.Enqueue(ctx, key, []byte(payload))
				if err != nil {
					fmt.Fprintln(os.Stderr, "child enqueue:", err)
					os.Exit(4)
				}
				say("E %d %s %s", id, key, payload)
			}
		}()
	}
	for range 4 {
		go func() {
			for {
				recs, err := s.Lease(ctx, 8)
				if err != nil {
					fmt.Fprintln(os.Stderr, "child lease:", err)
					os.Exit(5)
				}
				var wg sync.WaitGroup
				for i, r := range recs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if i%5 == 4 { // leave some leased: they come back after LeaseTime
							return
						}
						err := s.Ack(ctx, r.ID)
						if errors.Is(err, ErrNotLeased) {
							return // our lease ran out under load and another consumer took it: at least once
						}
						if err != nil {
							fmt.Fprintln(os.Stderr, "child ack:", err)
							os.Exit(6)
						}
						say("A %d", r.ID)
					}()
				}
				wg.Wait()
				if len(recs) == 0 {
					select {
					case <-s.Ready():
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
		}()
	}
	select {} // until killed
}

type crashLedger struct {
	enqueued map[uint64]string // id -> key + " " + payload, as printed by the children
	acked    map[uint64]bool
}

func TestCrash_KillAtRandom(t *testing.T) {
	rounds := 20
	if v := os.Getenv("QUEUE_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("QUEUE_CRASH_ROUNDS=%q: %v", v, err)
		}
		rounds = n
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	led := &crashLedger{enqueued: map[uint64]string{}, acked: map[uint64]bool{}}
	for round := range rounds {
		crashRound(t, path, round, led)
		verifyCrash(t, path, led, round)
		if t.Failed() {
			return
		}
	}
	drainAfterCrash(t, path)
	t.Logf("%d rounds: %d enqueues and %d acks acknowledged, all present", rounds, len(led.enqueued), len(led.acked))
}

func crashRound(t *testing.T, path string, round int, led *crashLedger) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashDB+"="+path, envCrashRound+"="+strconv.Itoa(round))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killAfter := 20 + rand.N(800) // lines seen before the kill: a random moment under load
	sc := bufio.NewScanner(out)
	seen := 0
	killed := false
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(f) == 4 && f[0] == "E":
			id, _ := strconv.ParseUint(f[1], 10, 64)
			if prev, dup := led.enqueued[id]; dup {
				t.Errorf("round %d: id %d handed out twice: %q and %q", round, id, prev, f[2]+" "+f[3])
			}
			led.enqueued[id] = f[2] + " " + f[3]
		case len(f) == 2 && f[0] == "A":
			id, _ := strconv.ParseUint(f[1], 10, 64)
			if led.acked[id] {
				t.Errorf("round %d: id %d acked twice", round, id)
			}
			led.acked[id] = true
		default:
			t.Errorf("round %d: child printed %q", round, line)
		}
		if seen++; seen == killAfter && !killed {
			cmd.Process.Kill()
			killed = true
		}
	}
	if !killed {
		cmd.Process.Kill()
	}
	err = cmd.Wait()
	if !killed || err == nil {
		t.Fatalf("round %d: child ended on its own (%v) before the kill; stderr:\n%s", round, err, stderr.String())
	}
	if stderr.Len() > 0 && strings.Contains(stderr.String(), "child ") {
		t.Fatalf("round %d: child failed:\n%s", round, stderr.String())
	}
}

func verifyCrash(t *testing.T, path string, led *crashLedger, round int) {
	t.Helper()
	s, err := Open(path, &Options{OpenTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("round %d: reopen after kill: %v", round, err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	all, err := s.List(Filter{})
	if err != nil {
		t.Fatalf("round %d: List: %v", round, err)
	}
	byID := map[uint64]*Record{}
	payloads := map[string]uint64{}
	for _, r := range all {
		byID[r.ID] = r
		if other, dup := payloads[string(r.Payload)]; dup {
			t.Errorf("round %d: payload %q stored twice: ids %d and %d", round, r.Payload, other, r.ID)
		}
		payloads[string(r.Payload)] = r.ID
	}
	for id, kp := range led.enqueued {
		r, ok := byID[id]
		if !ok {
			t.Errorf("round %d: acknowledged enqueue %d (%s) lost", round, id, kp)
			continue
		}
		if got := r.Key + " " + string(r.Payload); got != kp {
			t.Errorf("round %d: record %d = %q; want %q", round, id, got, kp)
		}
	}
	for id := range led.acked {
		if r, ok := byID[id]; !ok || r.State != StateDone {
			t.Errorf("round %d: acknowledged ack of %d not done (record %+v)", round, id, r)
		}
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[State]int{}
	for _, r := range all {
		counts[r.State]++
	}
	for _, state := range States {
		if counts[state] != st.Count(state) {
			t.Errorf("round %d: %d records %s; Stats counter says %d", round, counts[state], state, st.Count(state))
		}
	}
}

// drainAfterCrash opens the file an hour later (every lease ran out) and leases
// and acks until nothing is left, checking per-key order.
func drainAfterCrash(t *testing.T, path string) {
	later := time.Now().Add(time.Hour)
	s, err := Open(path, &Options{Now: func() time.Time { return later }, Retention: 100 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, _ := s.Stats()
	lastOfKey := map[string]uint64{}
	drained := 0
	for {
		recs, err := s.Lease(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if r.ID <= lastOfKey[r.Key] {
				t.Fatalf("key %s: record %d leased after %d", r.Key, r.ID, lastOfKey[r.Key])
			}
			lastOfKey[r.Key] = r.ID
			if err := s.Ack(context.Background(), r.ID); err != nil {
				t.Fatal(err)
			}
			drained++
		}
	}
	if want := before.Ready + before.Leased; drained != want {
		t.Fatalf("drained %d; want every ready and leased record (%d), expired leases included", drained, want)
	}
	if st, _ := s.Stats(); st.Ready+st.Leased != 0 {
		t.Fatalf("after drain: %+v; want nothing ready or leased", st)
	}
}
