package etcdstore

import (
	"context"
	"encoding/json"
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

// List is the records that f selects, in id order.
func (s *Store) List(f queue.Filter) ([]*queue.Record, error) {
	var out []*queue.Record
	err := s.eachRecord(f.After, func(r *queue.Record) bool {
		if (f.State == "" || r.State == f.State) && (f.Key == "" || (r.Key == f.Key && r.State != queue.StateDone)) {
			out = append(out, r)
		}
		return f.Limit <= 0 || len(out) < f.Limit
	})
	return out, err
}

// Stats counts the records by state.
func (s *Store) Stats() (queue.Stats, error) {
	var st queue.Stats
	err := s.eachRecord(0, func(r *queue.Record) bool {
		switch r.State {
		case queue.StateReady:
			st.Ready++
			if st.OldestReady.IsZero() || r.EnqueuedAt.Before(st.OldestReady) {
				st.OldestReady = r.EnqueuedAt
			}
		case queue.StateLeased:
			st.Leased++
		case queue.StateFailed:
			st.Failed++
		case queue.StateDead:
			st.Dead++
		case queue.StateDone:
			st.Done++
		}
		return true
	})
	if !st.OldestReady.IsZero() {
		st.OldestReadyAge = s.now().Sub(st.OldestReady)
	}
	return st, err
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
