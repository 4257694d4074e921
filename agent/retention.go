package agent

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/settle-agent/settle-agent/queue"
)

// bucketIdemDay indexes remembered answers by day (yyyy-mm-dd \x00 key), so that the
// retention sweep finds old ones without opening every sealed entry.
var bucketIdemDay = []byte("agent/idemday")

// sweepBatch bounds one sweep transaction, so a sweep never holds the writer long.
const sweepBatch = 500

// retentionLoop removes, once an hour, the bills that are over with (settled or
// cancelled) and older than [store] retention, with their index entries and
// remembered answers. Failed and dead bills, and bills still in flight, are never
// removed: a person has to look at them. The queue sweeps its own done records.
func (a *Agent) retentionLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := a.sweep(ctx); err != nil {
			a.log.Error("retention sweep", "err", err)
		} else if n > 0 {
			a.log.Info("retention sweep removed old bills", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep removes what is past retention; it returns how many bills went.
func (a *Agent) sweep(ctx context.Context) (int, error) {
	retention := a.cfg.Store.Retention.Duration
	if retention <= 0 {
		return 0, nil
	}
	cutoff := dayOf(a.now().Add(-retention))
	total := 0
	for {
		n := 0
		err := a.store.Batch(ctx, func(tx *queue.Tx) error {
			n = 0
			btx := tx.Bolt()
			day := btx.Bucket(bucketByDay)
			if day != nil {
				for _, k := range keysBefore(day, cutoff) {
					billNo := string(k[bytes.IndexByte(k, 0)+1:])
					gone, err := a.removeBill(btx, billNo)
					if err != nil {
						return err
					}
					if err := day.Delete(k); err != nil {
						return err
					}
					if gone {
						n++
					}
				}
			}
			return sweepIdem(btx, cutoff)
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < sweepBatch {
			return total, nil
		}
	}
}

// removeBill deletes a settled or cancelled bill and its entries; others stay.
func (a *Agent) removeBill(tx *bolt.Tx, billNo string) (bool, error) {
	rec, err := a.getBill(tx, billNo)
	if err != nil {
		return false, nil // already gone, or unreadable: leave it for a person
	}
	if rec.State != StateSettled && rec.State != StateCancelled {
		return false, nil
	}
	if err := tx.Bucket(bucketBills).Delete([]byte(billNo)); err != nil {
		return false, err
	}
	if idx := tx.Bucket(bucketByState); idx != nil {
		if err := idx.Delete(indexKey(string(rec.State), billNo)); err != nil {
			return false, err
		}
	}
	if idem := tx.Bucket(bucketIdem); idem != nil {
		if err := idem.Delete([]byte(billNo)); err != nil {
			return false, err
		}
	}
	return true, nil
}

// sweepIdem removes remembered answers indexed on a day before cutoff.
func sweepIdem(tx *bolt.Tx, cutoff string) error {
	days := tx.Bucket(bucketIdemDay)
	if days == nil {
		return nil
	}
	idem := tx.Bucket(bucketIdem)
	for _, k := range keysBefore(days, cutoff) {
		if idem != nil {
			if err := idem.Delete(k[bytes.IndexByte(k, 0)+1:]); err != nil {
				return err
			}
		}
		if err := days.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// keysBefore returns up to sweepBatch keys of a day index (yyyy-mm-dd \x00 name)
// whose day is before cutoff, oldest first, copied so they may be deleted.
func keysBefore(b *bolt.Bucket, cutoff string) [][]byte {
	var old [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && len(old) < sweepBatch; k, _ = c.Next() {
		i := bytes.IndexByte(k, 0)
		if i < 0 || string(k[:i]) >= cutoff {
			break
		}
		old = append(old, append([]byte(nil), k...))
	}
	return old
}

// putIdemDay indexes a remembered answer under its day, inside the tx that stores it.
func putIdemDay(tx *bolt.Tx, day, key string) error {
	b, err := tx.CreateBucketIfNotExists(bucketIdemDay)
	if err != nil {
		return err
	}
	return b.Put(indexKey(day, key), nil)
}
