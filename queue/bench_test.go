package queue

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var benchPayload = []byte(`{"bill_no":"B0000000001","window":"W01","psn_no":"3301000000000001","total":"123.45","items":[{"code":"001","qty":"1","price":"12.50"}]}`)

// BenchmarkEnqueue_64Producers: durable enqueues with 64 concurrent producers
// sharing commits; compare ns/op with one fsync of the disk (bench queue does).
func BenchmarkEnqueue_64Producers(b *testing.B) {
	s := MustOpen(b, "", nil)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(64 / max(1, runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := s.Enqueue(ctx, fmt.Sprint("visit-", i/2), benchPayload); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEnqueue_1Producer: one producer alone pays a full commit per record.
func BenchmarkEnqueue_1Producer(b *testing.B) {
	s := MustOpen(b, "", nil)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Enqueue(ctx, fmt.Sprint("visit-", i), benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLeaseAck: 4 consumers lease 64 at a time and ack each concurrently.
func BenchmarkLeaseAck(b *testing.B) {
	s := MustOpen(b, "", nil)
	ctx := context.Background()
	fill(b, s, b.N)
	b.ResetTimer()
	var done atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done.Load() < int64(b.N) {
				recs, err := s.Lease(ctx, 64)
				if err != nil {
					b.Error(err)
					return
				}
				var acks sync.WaitGroup
				for _, r := range recs {
					acks.Add(1)
					go func() {
						defer acks.Done()
						if err := s.Ack(ctx, r.ID); err != nil {
							b.Error(err)
						}
						done.Add(1)
					}()
				}
				acks.Wait()
			}
		}()
	}
	wg.Wait()
}

func fill(tb testing.TB, s *Store, n int) {
	tb.Helper()
	for i := 0; i < n; i += 5000 {
		err := s.Batch(context.Background(), func(tx *Tx) error {
			for j := i; j < min(i+5000, n); j++ {
				if _, err := tx.Enqueue(fmt.Sprint("visit-", j), benchPayload); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkOpen_100k: Open, Stats and a first Lease on a store of 100k ready
// records. Its time must not grow with the number of records (compare -benchtime
// runs with BenchmarkOpen_1k): Open reads the meta pages, never the records.
func BenchmarkOpen_100k(b *testing.B) { benchOpen(b, 100_000) }

// BenchmarkOpen_1k is the baseline for BenchmarkOpen_100k.
func BenchmarkOpen_1k(b *testing.B) { benchOpen(b, 1000) }

func benchOpen(b *testing.B, n int) {
	path := filepath.Join(b.TempDir(), "q.db")
	s, err := Open(path, &Options{Now: func() time.Time { return time.Unix(1e9, 0) }})
	if err != nil {
		b.Fatal(err)
	}
	fill(b, s, n)
	s.Close()
	b.ResetTimer()
	decoded := decodeCount.Load()
	for b.Loop() {
		s, err := Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		if st, err := s.Stats(); err != nil || st.Ready != n {
			b.Fatalf("Stats = %+v, %v", st, err)
		}
		s.Close()
	}
	b.ReportMetric(float64(decodeCount.Load()-decoded)/float64(b.N), "decodes/op")
}
