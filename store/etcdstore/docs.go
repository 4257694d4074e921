package etcdstore

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/settle-agent/settle-agent/store"
	"github.com/settle-agent/settle-agent/workflow"
)

// writeTx is both the ReadTx of View and the Tx of Update (View never commits).
type writeTx struct {
	t *txn
}

func (w *writeTx) docKey(kind, id string) string { return w.t.s.prefix + "d/" + kind + "/" + id }
func (w *writeTx) idxPrefix(kind string) string  { return w.t.s.prefix + "i/" + kind + "/" }
func (w *writeTx) idxKey(kind, entry, id string) string {
	return w.idxPrefix(kind) + entry + "\x00" + id
}

// splitDoc separates a document's value into its index entries and stored form.
func splitDoc(v []byte) ([]string, []byte, error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || uint64(len(v)-k) < n {
		return nil, nil, store.ErrDamaged
	}
	var entries []string
	if n > 0 {
		entries = strings.Split(string(v[k:k+int(n)]), "\x00")
	}
	return entries, v[k+int(n):], nil
}

func joinDoc(entries []string, stored []byte) []byte {
	e := strings.Join(entries, "\x00")
	b := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(e)+len(stored)), uint64(len(e)))
	b = append(b, e...)
	return append(b, stored...)
}

func (w *writeTx) Get(kind, id string) ([]byte, error) {
	v, err := w.t.get(w.docKey(kind, id))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("%s %s: %w", kind, id, store.ErrNotFound)
	}
	_, stored, err := splitDoc(v)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", kind, id, err)
	}
	return w.t.s.codec.Decode(kind, id, stored)
}

func (w *writeTx) IDs(kind, entry, after string, limit int) ([]string, error) {
	prefix := w.idxKey(kind, entry, "")
	start := prefix
	if after != "" {
		start = prefix + after + "\x00" // the next key after prefix+after
	}
	kvs, err := w.t.list(start, prefixEnd(prefix), bound(limit), false, true)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range kvs {
		out = append(out, cut(e.key, prefix))
	}
	return out, nil
}

// bound turns the engine's "all of them" limits (1<<30) into etcd's 0 (no limit).
func bound(limit int) int {
	if limit <= 0 || limit >= 1<<20 {
		return 0
	}
	return limit
}

func (w *writeTx) Count(kind, entry string) int {
	prefix := w.idxKey(kind, entry, "")
	n, err := w.t.count(prefix, prefixEnd(prefix))
	if err != nil {
		w.t.s.log.Error("count index entries", "kind", kind, "entry", entry, "err", err)
	}
	return n
}

func (w *writeTx) Before(kind, prefix, cutoff string, limit int) ([]workflow.IndexEntry, error) {
	base := w.idxPrefix(kind)
	kvs, err := w.t.list(base+prefix, base+prefix+cutoff, bound(limit), false, true)
	if err != nil {
		return nil, err
	}
	var out []workflow.IndexEntry
	for _, e := range kvs {
		entry, id, ok := strings.Cut(cut(e.key, base), "\x00")
		if ok {
			out = append(out, workflow.IndexEntry{Index: entry, ID: id})
		}
	}
	return out, nil
}

func (w *writeTx) Latest(kind, prefix string, limit int) ([]string, error) {
	base := w.idxPrefix(kind) + prefix
	kvs, err := w.t.list(base, prefixEnd(base), bound(limit), true, true)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range kvs {
		if _, id, ok := strings.Cut(cut(e.key, base), "\x00"); ok {
			out = append(out, id)
		}
	}
	return out, nil
}

// forEachPage is how many documents ForEach reads per etcd request.
const forEachPage = 500

func (w *writeTx) ForEach(kind string, fn func(id string, data []byte) error) error {
	prefix := w.docKey(kind, "")
	start := prefix
	for {
		kvs, err := w.t.list(start, prefixEnd(prefix), forEachPage, false, false)
		if err != nil {
			return err
		}
		for _, e := range kvs {
			id := cut(e.key, prefix)
			_, stored, err := splitDoc(e.value)
			if err != nil {
				return fmt.Errorf("%s %s: %w", kind, id, err)
			}
			data, err := w.t.s.codec.Decode(kind, id, stored)
			if err != nil {
				return err
			}
			if err := fn(id, data); err != nil {
				return err
			}
		}
		if len(kvs) < forEachPage {
			return nil
		}
		start = kvs[len(kvs)-1].key + "\x00"
	}
}

func (w *writeTx) Meta(key string) string {
	v, err := w.t.get(w.t.s.prefix + "m/" + key)
	if err != nil {
		w.t.s.log.Error("read named value", "key", key, "err", err)
	}
	return string(v)
}

func (w *writeTx) Put(kind, id string, stored []byte, index []string) error {
	for _, e := range index {
		if strings.IndexByte(e, 0) >= 0 {
			return fmt.Errorf("index entry %q of %s %s holds a NUL", e, kind, id)
		}
	}
	had, err := w.entries(kind, id)
	if err != nil {
		return err
	}
	w.setEntries(kind, id, had, index)
	w.t.put(w.docKey(kind, id), joinDoc(index, stored))
	return nil
}

// entries are the index entries the document has now.
func (w *writeTx) entries(kind, id string) ([]string, error) {
	v, err := w.t.get(w.docKey(kind, id))
	if err != nil || v == nil {
		return nil, err
	}
	had, _, err := splitDoc(v)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", kind, id, err)
	}
	return had, nil
}

func (w *writeTx) setEntries(kind, id string, had, want []string) {
	keep := map[string]bool{}
	for _, e := range want {
		keep[e] = true
	}
	for _, e := range had {
		if !keep[e] {
			w.t.del(w.idxKey(kind, e, id))
		}
	}
	old := map[string]bool{}
	for _, e := range had {
		old[e] = true
	}
	for _, e := range want {
		if !old[e] {
			w.t.put(w.idxKey(kind, e, id), nil)
		}
	}
}

func (w *writeTx) Delete(kind, id string) error {
	had, err := w.entries(kind, id)
	if err != nil {
		return err
	}
	w.setEntries(kind, id, had, nil)
	w.t.del(w.docKey(kind, id))
	return nil
}

func (w *writeTx) SetMeta(key, value string) error {
	w.t.put(w.t.s.prefix+"m/"+key, []byte(value))
	return nil
}
