package queue

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestStore_FileSizeBounded runs enqueue/lease/ack cycles with retention sweeping
// done records, and checks the file stops growing once freed pages are reused.
// QUEUE_SOAK_CYCLES=1000000 runs the long variant (the size is logged).
func TestStore_FileSizeBounded(t *testing.T) {
	cycles := 40_000
	if v := os.Getenv("QUEUE_SOAK_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("QUEUE_SOAK_CYCLES=%q: %v", v, err)
		}
		cycles = n
	}
	const chunk = 1000
	ctx := context.Background()
	clk := newTestClock()
	s := MustOpen(t, "", &Options{Now: clk.Now, Retention: time.Minute, NoSweep: true})
	payload := benchPayload
	var sizeAtQuarter int64
	for done := 0; done < cycles; done += chunk {
		err := s.Batch(ctx, func(tx *Tx) error {
			for i := range chunk {
				if _, err := tx.Enqueue(fmt.Sprint("visit-", done+i), payload); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		recs := mustLease(t, s, chunk)
		if len(recs) != chunk {
			t.Fatalf("leased %d; want %d", len(recs), chunk)
		}
		err = s.Batch(ctx, func(tx *Tx) error {
			for _, r := range recs {
				if err := tx.Ack(r.ID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(10 * time.Second) // retention 1m: about 6 chunks stay done at any time
		if _, err := s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if done+chunk == cycles/4 {
			sizeAtQuarter, _ = s.FileBytes()
		}
	}
	end, _ := s.FileBytes()
	st := mustStats(t, s)
	t.Logf("%d enqueue/ack cycles: file %d bytes (after %d cycles: %d), %d done records kept", cycles, end, cycles/4, sizeAtQuarter, st.Done)
	if end > sizeAtQuarter {
		t.Fatalf("file grew from %d to %d bytes between %d and %d cycles; want it bounded (freed pages reused)", sizeAtQuarter, end, cycles/4, cycles)
	}
	if st.Done > 7*chunk || st.Ready+st.Leased != 0 {
		t.Fatalf("stats %+v; want only the last minute's done records", st)
	}
}
