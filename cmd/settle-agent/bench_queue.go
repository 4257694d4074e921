package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/settle-agent/settle-agent/queue"
)

// queueBench is what `bench queue --json` prints (cli.md fixes the names).
type queueBench struct {
	FsyncPerS      float64 `json:"fsync_per_s"`
	EnqueuePerS    float64 `json:"enqueue_per_s"`
	EnqueueVsFsync float64 `json:"enqueue_vs_fsync"`
	EnqueueP99Ms   float64 `json:"enqueue_p99_ms"`
	// EnqueueP99PacedMs is the p99 of an enqueue at a paced load (8 producers, one
	// record each every 5 ms), where a commit's wait is not the length of the line.
	EnqueueP99PacedMs float64 `json:"enqueue_p99_paced_ms"`
	DequeueAckPerS    float64 `json:"dequeue_ack_per_s"`
	Records           int     `json:"records"`
	FileBytes         int64   `json:"file_bytes"`
}

const (
	benchProducers = 64
	benchConsumers = 4
	benchLeaseN    = 64
)

// benchQueue measures the durable queue on the data disk: raw fsync rate, durable
// enqueues with 64 producers, and lease+ack throughput.
func benchQueue(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "bench queue", "bench queue [--json] [--dir DIR] [--records N]")
	asJSON := fs.Bool("json", false, "print one JSON object on the last line")
	dir := fs.String("dir", "", "folder on the disk to measure (default: the system temp folder); a temporary sub-folder is removed afterwards")
	records := fs.Int("records", 20000, "records to enqueue and then lease and ack")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *records < benchProducers {
		return fmt.Errorf("%w: want only flags and --records of at least %d", errUsage, benchProducers)
	}
	base := *dir
	if base == "" {
		base = os.TempDir()
	}
	tmp, err := os.MkdirTemp(base, "settle-agent-bench-queue-")
	if err != nil {
		return fmt.Errorf("bench queue: make a folder in %s: %w (choose a writable one with --dir)", base, err)
	}
	defer os.RemoveAll(tmp)

	var res queueBench
	say := func(format string, a ...any) { fmt.Fprintf(env.stdout, format+"\n", a...) }
	say("bench queue in %s", tmp)

	res.FsyncPerS, err = measureFsync(ctx, filepath.Join(tmp, "fsync.bin"), time.Second)
	if err != nil {
		return fmt.Errorf("bench queue: fsync: %w", err)
	}
	fsyncMs := 1000 / res.FsyncPerS
	say("fsync           %8.0f /s   (%.3f ms each; 4 KiB append + fsync on a plain file)", res.FsyncPerS, fsyncMs)

	path := filepath.Join(tmp, "settle-agent.db")
	s, err := queue.Open(path, nil)
	if err != nil {
		return fmt.Errorf("bench queue: %w", err)
	}
	defer s.Close()

	res.Records = *records
	var p99 time.Duration
	res.EnqueuePerS, p99, err = measureEnqueue(ctx, s, *records)
	if err != nil {
		return fmt.Errorf("bench queue: enqueue: %w", err)
	}
	res.EnqueueVsFsync = res.EnqueuePerS / res.FsyncPerS
	res.EnqueueP99Ms = float64(p99) / float64(time.Millisecond)
	say("enqueue         %8.0f /s   (%d producers; %.1f x fsync, target >= 8: %s)", res.EnqueuePerS, benchProducers, res.EnqueueVsFsync, verdict(res.EnqueueVsFsync >= 8))
	say("enqueue p99     %8.3f ms   (target <= 3 fsyncs = %.3f ms: %s)", res.EnqueueP99Ms, 3*fsyncMs, verdict(res.EnqueueP99Ms <= 3*fsyncMs))

	paced, err := measureEnqueuePaced(ctx, s, 8, 5*time.Millisecond, 2*time.Second)
	if err != nil {
		return fmt.Errorf("bench queue: paced enqueue: %w", err)
	}
	res.EnqueueP99PacedMs = float64(paced) / float64(time.Millisecond)
	say("enqueue p99 paced %6.3f ms   (8 producers, one record each every 5 ms; %.1f fsyncs, target <= 5: %s)",
		res.EnqueueP99PacedMs, res.EnqueueP99PacedMs/fsyncMs, verdict(res.EnqueueP99PacedMs <= 5*fsyncMs))

	res.DequeueAckPerS, err = measureDequeueAck(ctx, s, *records)
	if err != nil {
		return fmt.Errorf("bench queue: lease+ack: %w", err)
	}
	say("lease+ack       %8.0f /s   (%d consumers leasing %d at a time; target >= 5000: %s)", res.DequeueAckPerS, benchConsumers, benchLeaseN, verdict(res.DequeueAckPerS >= 5000))
	if fi, err := os.Stat(path); err == nil {
		res.FileBytes = fi.Size()
	}
	say("file            %8d bytes after %d records", res.FileBytes, res.Records)
	if *asJSON {
		b, _ := json.Marshal(res)
		say("%s", b)
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

// measureFsync appends 4 KiB and fsyncs, in a loop, for about d: the raw rate of
// durable appends on that disk. Past 64 MiB it starts over at the beginning of the
// file, so a very fast disk does not fill up.
func measureFsync(ctx context.Context, path string, d time.Duration) (float64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	const maxBlocks = 16384
	buf := make([]byte, 4096)
	n := 0
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		buf[0] = byte(n)
		if _, err := f.WriteAt(buf, int64(n%maxBlocks)*int64(len(buf))); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), ctx.Err()
}

func benchPayload(i int) []byte {
	return fmt.Appendf(nil, `{"bill_no":"B%010d","window":"W01","psn_no":"33010000%08d","total":"%d.%02d","items":[{"code":"001","qty":"1","price":"12.50"}],"pad":"%0200d"}`, i, i, 10+i%900, i%100, 0)
}

// measureEnqueue runs benchProducers goroutines enqueuing n records in total.
func measureEnqueue(ctx context.Context, s *queue.Store, n int) (float64, time.Duration, error) {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range benchProducers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if _, err := s.Enqueue(ctx, fmt.Sprint("visit-", i/2), benchPayload(i)); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, ok := firstErr.Load().(error); ok {
		return 0, 0, err
	}
	slices.Sort(lat)
	return float64(n) / elapsed.Seconds(), lat[len(lat)*99/100], nil
}

// measureEnqueuePaced runs producers goroutines that each enqueue one record every
// interval for d, and returns the p99 of an enqueue's latency.
func measureEnqueuePaced(ctx context.Context, s *queue.Store, producers int, interval, d time.Duration) (time.Duration, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	var firstErr error
	deadline := time.Now().Add(d)
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(interval)
			defer t.Stop()
			for i := 0; time.Now().Before(deadline); i++ {
				<-t.C
				t0 := time.Now()
				_, err := s.Enqueue(ctx, fmt.Sprint("paced-", p, "-", i), benchPayload(i))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, time.Since(t0))
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	if len(lat) == 0 {
		return 0, nil
	}
	slices.Sort(lat)
	return lat[len(lat)*99/100], nil
}

// measureDequeueAck runs benchConsumers goroutines that lease up to benchLeaseN
// records and ack each one concurrently (the acks share commits), until n are done.
func measureDequeueAck(ctx context.Context, s *queue.Store, n int) (float64, error) {
	var done atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range benchConsumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done.Load() < int64(n) && firstErr.Load() == nil {
				recs, err := s.Lease(ctx, benchLeaseN)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				if len(recs) == 0 {
					select { // the others hold the heads of the remaining keys
					case <-s.Ready():
					case <-time.After(time.Millisecond):
					}
					continue
				}
				var acks sync.WaitGroup
				for _, r := range recs {
					acks.Add(1)
					go func() {
						defer acks.Done()
						if err := s.Ack(ctx, r.ID); err != nil {
							firstErr.CompareAndSwap(nil, err)
							return
						}
						done.Add(1)
					}()
				}
				acks.Wait()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(n) / elapsed.Seconds(), nil
}
