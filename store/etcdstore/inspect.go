package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/settle-agent/settle-agent/queue"
)

// The queue as people look into it (the admin endpoints, the status page, /readyz):
// what package queue's List, Get and Stats answer for the bbolt file.

// Get is one queue record.
func (s *Store) Get(id uint64) (*queue.Record, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.callTimeout)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.prefix+"q/r/"+hex16(id))
	if err != nil {
		return nil, fmt.Errorf("queue record %d: %w", id, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("record %d: %w", id, queue.ErrNotFound)
	}
	return recordOf(id, resp.Kvs[0].Value)
}

// List is the records that f selects, in id order. It walks the state index or the
// key index when f names a state or a key, never the whole queue.
func (s *Store) List(f queue.Filter) ([]*queue.Record, error) {
	if f.State != "" && !f.State.Valid() {
		return nil, fmt.Errorf("list state %q: %w", f.State, queue.ErrInvalid)
	}
	var out []*queue.Record
	keep := func(r *queue.Record) bool {
		if (f.State == "" || r.State == f.State) && (f.Key == "" || (r.Key == f.Key && r.State != queue.StateDone)) {
			out = append(out, r)
		}
		return f.Limit <= 0 || len(out) < f.Limit
	}
	var err error
	switch {
	case f.Key != "":
		err = s.eachIndexed(s.prefix+"q/k/"+f.Key+"\x00", f.After, keep)
	case f.State != "":
		err = s.eachIndexed(s.prefix+"q/s/"+string(stateByteOf(f.State)), f.After, keep)
	default:
		err = s.eachRecord(f.After, keep)
	}
	return out, err
}

// stateByteOf is the state byte of a queue state.
func stateByteOf(st queue.State) byte {
	for _, b := range []byte{sReady, sLeased, sFailed, sDead, sDone} {
		if queue.State(stateOf(b)) == st {
			return b
		}
	}
	return 0
}

// eachIndexed calls fn for the record of every key "prefix + hex16(id)" with an id
// after `after`, in id order, until fn returns false.
func (s *Store) eachIndexed(prefix string, after uint64, fn func(*queue.Record) bool) error {
	start, end := prefix+hex16(after+1), clientv3.GetPrefixRangeEnd(prefix)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), s.callTimeout)
		resp, err := s.cli.Get(ctx, start, clientv3.WithRange(end), clientv3.WithLimit(500), clientv3.WithKeysOnly())
		cancel()
		if err != nil {
			return fmt.Errorf("queue index: %w", err)
		}
		for _, kv := range resp.Kvs {
			id, err := strconv.ParseUint(strings.TrimPrefix(string(kv.Key), prefix), 16, 64)
			if err != nil {
				return fmt.Errorf("queue index key %q: %w", kv.Key, queue.ErrCorrupt)
			}
			r, err := s.Get(id)
			if errors.Is(err, queue.ErrNotFound) {
				continue // removed since the index was read
			}
			if err != nil {
				return err
			}
			if !fn(r) {
				return nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// Stats counts the records by state from the state index (etcd counts the keys of a
// range without sending them), at one revision, and reads the oldest ready record:
// a handful of requests whatever the size of the queue.
func (s *Store) Stats() (queue.Stats, error) {
	var st queue.Stats
	ctx, cancel := context.WithTimeout(context.Background(), s.callTimeout)
	defer cancel()
	var rev int64
	for _, c := range []struct {
		n *int
		b byte
	}{{&st.Ready, sReady}, {&st.Leased, sLeased}, {&st.Failed, sFailed}, {&st.Dead, sDead}, {&st.Done, sDone}} {
		opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithCountOnly()}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, s.prefix+"q/s/"+string(c.b), opts...)
		if err != nil {
			return st, fmt.Errorf("queue stats: %w", err)
		}
		rev = resp.Header.Revision
		*c.n = int(resp.Count)
	}
	if st.Ready == 0 {
		return st, nil
	}
	prefix := s.prefix + "q/s/" + string(sReady)
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithLimit(1), clientv3.WithKeysOnly(), clientv3.WithRev(rev))
	if err != nil || len(resp.Kvs) == 0 {
		return st, err
	}
	id, err := strconv.ParseUint(strings.TrimPrefix(string(resp.Kvs[0].Key), prefix), 16, 64)
	if err != nil {
		return st, fmt.Errorf("queue state index key %q: %w", resp.Kvs[0].Key, queue.ErrCorrupt)
	}
	if r, err := s.Get(id); err == nil {
		st.OldestReady = r.EnqueuedAt
		st.OldestReadyAge = max(s.now().Sub(st.OldestReady), 0)
	}
	return st, nil
}

// eachRecord calls fn for every record after id `after`, in id order, a page at a
// time, until fn returns false.
func (s *Store) eachRecord(after uint64, fn func(*queue.Record) bool) error {
	start, end := s.prefix+"q/r/"+hex16(after+1), clientv3.GetPrefixRangeEnd(s.prefix+"q/r/")
	for {
		ctx, cancel := context.WithTimeout(context.Background(), s.callTimeout)
		resp, err := s.cli.Get(ctx, start, clientv3.WithRange(end), clientv3.WithLimit(500))
		cancel()
		if err != nil {
			return fmt.Errorf("queue records: %w", err)
		}
		for _, kv := range resp.Kvs {
			id, err := strconv.ParseUint(strings.TrimPrefix(string(kv.Key), s.prefix+"q/r/"), 16, 64)
			if err != nil {
				continue
			}
			r, err := recordOf(id, kv.Value)
			if err != nil {
				return err
			}
			if !fn(r) {
				return nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

func recordOf(id uint64, v []byte) (*queue.Record, error) {
	var j job
	if err := json.Unmarshal(v, &j); err != nil {
		return nil, fmt.Errorf("record %d: %w: %v", id, queue.ErrCorrupt, err)
	}
	at := func(ns int64) time.Time {
		if ns == 0 {
			return time.Time{}
		}
		return time.Unix(0, ns)
	}
	r := &queue.Record{ID: id, Key: j.Key, Payload: j.Payload, State: queue.State(stateOf(j.State)),
		EnqueuedAt: at(j.Enq), NextAt: at(j.Next), LeaseUntil: at(j.Lease), DoneAt: at(j.Done), Reason: j.Reason}
	return r, nil
}
