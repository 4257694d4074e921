package queue

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkBatch_64Enqueues is the CPU cost of a record in a 64-record commit
// (run with TMPDIR on a tmpfs to take the fsync out).
func BenchmarkBatch_64Enqueues(b *testing.B) {
	s := MustOpen(b, "", &Options{NoSweep: true})
	n := 0
	for b.Loop() {
		s.Batch(context.Background(), func(tx *Tx) error {
			for i := range 64 {
				if _, err := tx.Enqueue(fmt.Sprint("visit-", (n+i)/2), benchPayload); err != nil {
					return err
				}
			}
			return nil
		})
		n += 64
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/record")
}
