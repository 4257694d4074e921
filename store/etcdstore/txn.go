package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// txn is one run of an Update's (or View's) function: reads at one revision through
// a local view, writes kept here until commit.
type txn struct {
	s   *Store
	ctx context.Context
	// rev is the revision every read is made at (0 until the first read).
	rev int64
	// seen holds the value (nil: absent) and mod revision of every key read by itself.
	seen map[string]seenKey
	// ranges are the ranges listed, [start, end).
	ranges [][2]string
	// writes holds the new values (nil: deleted).
	writes map[string][]byte
	// again: a read failed in a way a new run fixes (the revision was compacted).
	again bool
	// notify: a job may have become due.
	notify bool
}

type seenKey struct {
	value []byte
	mod   int64
}

func newTxn(s *Store, ctx context.Context) *txn {
	return &txn{s: s, ctx: ctx, seen: map[string]seenKey{}, writes: map[string][]byte{}}
}

// readErr wraps an etcd read error; a compacted revision makes the run start again.
func (t *txn) readErr(err error) error {
	if errors.Is(err, rpctypes.ErrCompacted) {
		t.again = true
	}
	return fmt.Errorf("etcd read: %w", err)
}

func (t *txn) opts(o ...clientv3.OpOption) []clientv3.OpOption {
	if t.rev != 0 {
		o = append(o, clientv3.WithRev(t.rev))
	}
	return o
}

// get reads one key as this transaction sees it (nil: absent).
func (t *txn) get(key string) ([]byte, error) {
	if v, ok := t.writes[key]; ok {
		return v, nil
	}
	if k, ok := t.seen[key]; ok {
		return k.value, nil
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.s.callTimeout)
	defer cancel()
	resp, err := t.s.cli.Get(ctx, key, t.opts()...)
	if err != nil {
		return nil, t.readErr(err)
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	var k seenKey
	if len(resp.Kvs) > 0 {
		k = seenKey{value: resp.Kvs[0].Value, mod: resp.Kvs[0].ModRevision}
		if k.value == nil {
			k.value = []byte{}
		}
	}
	t.seen[key] = k
	return k.value, nil
}

func (t *txn) put(key string, value []byte) {
	if value == nil {
		value = []byte{}
	}
	t.writes[key] = value
}

func (t *txn) del(key string) { t.writes[key] = nil }

// kv is one key of a listing.
type kv struct {
	key   string
	value []byte
}

// list returns up to limit keys (0: all) of [start, end) as this transaction sees
// them, in key order or, descending, the greatest first; keysOnly leaves the values
// out.
func (t *txn) list(start, end string, limit int, descending, keysOnly bool) ([]kv, error) {
	t.ranges = append(t.ranges, [2]string{start, end})
	var local []string
	for k := range t.writes {
		if k >= start && k < end {
			local = append(local, k)
		}
	}
	o := []clientv3.OpOption{clientv3.WithRange(end)}
	fetch := 0
	if limit > 0 {
		fetch = limit + len(local)
		o = append(o, clientv3.WithLimit(int64(fetch)))
	}
	if descending {
		o = append(o, clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
	}
	if keysOnly {
		o = append(o, clientv3.WithKeysOnly())
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.s.callTimeout)
	defer cancel()
	resp, err := t.s.cli.Get(ctx, start, t.opts(o...)...)
	if err != nil {
		return nil, t.readErr(err)
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	got := map[string][]byte{}
	var last string
	for _, e := range resp.Kvs {
		got[string(e.Key)] = e.Value
		last = string(e.Key)
	}
	for _, k := range local {
		// When etcd held more than it gave, a local write beyond the last key given
		// would pass keys not fetched.
		if resp.More && (!descending && k > last || descending && k < last) {
			continue
		}
		if v := t.writes[k]; v != nil {
			got[k] = v
		} else {
			delete(got, k)
		}
	}
	out := make([]kv, 0, len(got))
	for k, v := range got {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if descending {
			return out[i].key > out[j].key
		}
		return out[i].key < out[j].key
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// count counts the keys of [start, end) as this transaction sees them.
func (t *txn) count(start, end string) (int, error) {
	n := 0
	var local []string
	for k := range t.writes {
		if k >= start && k < end {
			local = append(local, k)
		}
	}
	if len(local) > 0 {
		all, err := t.list(start, end, 0, false, true)
		return len(all), err
	}
	t.ranges = append(t.ranges, [2]string{start, end})
	ctx, cancel := context.WithTimeout(t.ctx, t.s.callTimeout)
	defer cancel()
	resp, err := t.s.cli.Get(ctx, start, t.opts(clientv3.WithRange(end), clientv3.WithCountOnly())...)
	if err != nil {
		return 0, t.readErr(err)
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	n = int(resp.Count)
	return n, nil
}

// errConflict: another writer changed what the run read; it runs again.
var errConflict = errors.New("conflict")

// commit writes what the run wrote if nothing it read has changed since.
func (t *txn) commit() error {
	if len(t.writes) == 0 {
		return nil
	}
	var cmps []clientv3.Cmp
	for k, v := range t.seen {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", v.mod))
	}
	if t.rev != 0 {
		for _, r := range t.ranges {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(r[0]), "<", t.rev+1).WithRange(r[1]))
		}
	}
	fences := fencesOf(t.ctx)
	var orElse []clientv3.Op
	for _, f := range fences {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(f.key), "=", f.rev))
		orElse = append(orElse, clientv3.OpGet(f.key, clientv3.WithKeysOnly()))
	}
	keys := make([]string, 0, len(t.writes))
	size := 0
	for k, v := range t.writes {
		keys = append(keys, k)
		size += len(k) + len(v) + 16
	}
	sort.Strings(keys)
	for _, c := range cmps {
		size += len(c.KeyBytes()) + 16
	}
	if size > t.s.maxRequest {
		return fmt.Errorf("%w: about %d bytes, the limit is %d", ErrTooLarge, size, t.s.maxRequest)
	}
	ops := make([]clientv3.Op, 0, len(keys))
	for _, k := range keys {
		if v := t.writes[k]; v != nil {
			ops = append(ops, clientv3.OpPut(k, string(v)))
		} else {
			ops = append(ops, clientv3.OpDelete(k))
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), t.s.callTimeout)
	defer cancel()
	resp, err := t.s.cli.Txn(ctx).If(cmps...).Then(ops...).Else(orElse...).Commit()
	if err != nil {
		if errors.Is(err, rpctypes.ErrRequestTooLarge) || errors.Is(err, rpctypes.ErrTooManyOps) {
			return fmt.Errorf("%w: %w", ErrTooLarge, err)
		}
		return fmt.Errorf("etcd commit: %w", err)
	}
	if resp.Succeeded {
		return nil
	}
	for i, f := range fences {
		r := resp.Responses[i].GetResponseRange()
		if r == nil || len(r.Kvs) == 0 || r.Kvs[0].CreateRevision != f.rev {
			return fmt.Errorf("%w: %s", ErrFenced, strings.TrimPrefix(f.key, t.s.prefix))
		}
	}
	return errConflict
}

// prefixEnd is the end of the range of keys starting with p.
func prefixEnd(p string) string {
	return clientv3.GetPrefixRangeEnd(p)
}

// cut returns what follows prefix in key.
func cut(key, prefix string) string { return strings.TrimPrefix(key, prefix) }
