package etcdstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/store"
)

// A single machine's store moves into a group (`settle-agent cluster import`): the
// bbolt store's Export streams its contents into an Importer, which writes them in
// etcd transactions within etcd's limits. The group must hold no bill and no queue
// job of its own (an import into a group in use would mix two histories); a marker
// key records the import, so that a second import is refused and an interrupted one
// can be run again from the same store (every write of it is a plain put of the same
// value, so running it twice leaves what running it once does).

// importKey is the marker of the import (JSON importMark).
func (s *Store) importKey() string { return s.prefix + "import" }

// importMark is what the marker holds.
type importMark struct {
	ExportID string                    `json:"export_id"`
	Source   string                    `json:"source"`
	State    string                    `json:"state"` // running | done
	Started  time.Time                 `json:"started"`
	Finished time.Time                 `json:"finished,omitzero"`
	Counts   map[string]map[string]int `json:"counts,omitempty"`
}

// Import batches: etcd refuses a transaction of more than --max-txn-ops operations
// (128 by default) or more than its request limit.
const (
	importOps   = 100
	importBytes = 1 << 20
)

// Importer writes a store's contents (store.Sink) into this store on etcd.
type Importer struct {
	s      *Store
	ctx    context.Context
	source string
	mark   importMark
	// AlreadyDone: the group holds this very store's import, finished: nothing was
	// written, the caller only marks the source moved.
	AlreadyDone bool

	ops   []clientv3.Op
	bytes int
	heads map[string]bool // keys whose head (first job not done) has been seen
	now   int64
	// lastJob is the source's last job id: the group's ids go on after it.
	lastJob uint64
	// Imported counts what was written: documents by kind, named values, jobs.
	Imported map[string]int
}

var _ store.Sink = (*Importer)(nil)

// Import starts the import of the store named source (for people: its folder) into
// this store. The store must be empty — no document, no queue job — or hold an
// unfinished import of the same store (exportID); otherwise ErrNotEmpty. Run the
// source's Export into the Importer, then Finish.
func (s *Store) Import(ctx context.Context, source, exportID string) (*Importer, error) {
	im := &Importer{s: s, ctx: ctx, source: source, heads: map[string]bool{}, now: s.now().UnixNano(), Imported: map[string]int{}}
	cctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	resp, err := s.cli.Get(cctx, s.importKey())
	if err != nil {
		return nil, fmt.Errorf("import: read the group's import marker: %w", err)
	}
	if len(resp.Kvs) > 0 {
		var m importMark
		if err := json.Unmarshal(resp.Kvs[0].Value, &m); err != nil {
			return nil, fmt.Errorf("import: the group's import marker: %w: %v", queue.ErrCorrupt, err)
		}
		if m.ExportID != exportID {
			return nil, fmt.Errorf("%w: it already holds the store imported from %s on %s", ErrNotEmpty, m.Source, m.Started.Format(time.RFC3339))
		}
		if m.State == "done" {
			im.AlreadyDone, im.mark = true, m
			return im, nil
		}
		s.log.Warn("import: the group holds an unfinished import of this store; importing it again", "source", source)
	} else {
		n, err := s.ownKeys(cctx)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, fmt.Errorf("%w: it holds %d bills, stays or queue jobs already", ErrNotEmpty, n)
		}
	}
	im.mark = importMark{ExportID: exportID, Source: source, State: "running", Started: s.now()}
	b, _ := json.Marshal(im.mark)
	// The marker goes in only while the group is still empty (no other import, no
	// bill, no job came first).
	docs, jobs := s.prefix+"d/", s.prefix+"q/"
	txn, err := s.cli.Txn(cctx).If(
		clientv3.Compare(clientv3.CreateRevision(s.importKey()), "=", 0).WithRange(""),
		clientv3.Compare(clientv3.CreateRevision(docs), "=", 0).WithRange(prefixEnd(docs)),
		clientv3.Compare(clientv3.CreateRevision(jobs), "=", 0).WithRange(prefixEnd(jobs)),
	).Then(clientv3.OpPut(s.importKey(), string(b))).Commit()
	switch {
	case err != nil:
		return nil, fmt.Errorf("import: write the import marker: %w", err)
	case !txn.Succeeded && len(resp.Kvs) == 0:
		return nil, fmt.Errorf("%w: a bill, a job or another import arrived meanwhile", ErrNotEmpty)
	case !txn.Succeeded: // our own unfinished marker: go on under it
	}
	return im, nil
}

// ownKeys counts the documents and queue keys the store holds.
func (s *Store) ownKeys(ctx context.Context) (int64, error) {
	var n int64
	for _, p := range []string{s.prefix + "d/", s.prefix + "q/"} {
		resp, err := s.cli.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return 0, fmt.Errorf("import: is the group empty: %w", err)
		}
		n += resp.Count
	}
	return n, nil
}

// Begin records what the import holds.
func (im *Importer) Begin(c store.Contents) error {
	im.mark.Counts = c.Counts
	im.lastJob = c.LastJobID
	return nil
}

func (im *Importer) add(key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	im.ops = append(im.ops, clientv3.OpPut(key, string(value)))
	im.bytes += len(key) + len(value) + 16
	if len(im.ops) >= importOps || im.bytes >= importBytes {
		return im.flush()
	}
	return nil
}

// flush writes the batched puts in one transaction (a plain put of each: a second
// run of the same import writes the same).
func (im *Importer) flush() error {
	if len(im.ops) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(im.ctx, im.s.callTimeout)
	defer cancel()
	if _, err := im.s.cli.Txn(ctx).Then(im.ops...).Commit(); err != nil {
		return fmt.Errorf("import: write %d keys: %w", len(im.ops), err)
	}
	im.ops, im.bytes = im.ops[:0], 0
	return nil
}

// Document seals d under this store's key and writes it with its index entries.
func (im *Importer) Document(d store.Document) error {
	stored, err := im.s.codec.Encode(d.Kind, d.ID, d.Data)
	if err != nil {
		return fmt.Errorf("import %s %s: %w", d.Kind, d.ID, err)
	}
	w := &writeTx{t: newTxn(im.s, im.ctx)}
	for _, e := range d.Index {
		if err := im.add(w.idxKey(d.Kind, e, d.ID), nil); err != nil {
			return err
		}
	}
	im.Imported[d.Kind]++
	return im.add(w.docKey(d.Kind, d.ID), joinDoc(d.Index, stored))
}

// Meta writes a named value. The single machine's msgid reservation stays under its
// own name: every node of the group issues msgids only after it (MsgidReservation).
func (im *Importer) Meta(key, value string) error {
	im.Imported["meta"]++
	return im.add(im.s.prefix+"m/"+key, []byte(value))
}

// Job writes one queue job with its indexes, as the queue on etcd keeps them. A job
// leased by the machine that was stopped is leasable at once (its consumer is gone).
func (im *Importer) Job(r *queue.Record) error {
	j := &job{Key: r.Key, Payload: r.Payload, Enq: nanos(r.EnqueuedAt), Since: nanos(r.Since),
		Next: nanos(r.NextAt), Attempts: len(r.Attempts), Reason: r.Reason}
	if j.Since == 0 {
		j.Since = j.Enq
	}
	w := &writeTx{t: newTxn(im.s, im.ctx)}
	switch r.State {
	case queue.StateReady:
		j.State = sReady
	case queue.StateLeased:
		j.State, j.Lease = sLeased, min(nanos(r.LeaseUntil), im.now)
	case queue.StateFailed:
		j.State = sFailed
	case queue.StateDead:
		j.State = sDead
	case queue.StateDone:
		j.State, j.Done = sDone, nanos(r.DoneAt)
	default:
		return fmt.Errorf("import job %d: state %q: %w", r.ID, r.State, queue.ErrCorrupt)
	}
	if j.State == sDone {
		if err := im.add(w.doneKey(j.Done, r.ID), nil); err != nil {
			return err
		}
	} else {
		if err := im.add(w.keyIdx(j.Key, r.ID), nil); err != nil {
			return err
		}
		// Jobs come in id order: the first not done of a key is its head.
		head := !im.heads[j.Key]
		im.heads[j.Key] = true
		w.setDue(r.ID, j, head)
		for k := range w.t.writes {
			if err := im.add(k, nil); err != nil {
				return err
			}
		}
	}
	if err := im.add(w.stateKey(j.State, r.ID), nil); err != nil {
		return err
	}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	im.Imported["jobs"]++
	return im.add(w.recKey(r.ID), b)
}

// Finish writes what is left, the queue's last job id and the finished marker.
func (im *Importer) Finish() error {
	if im.AlreadyDone {
		return nil
	}
	if err := im.flush(); err != nil {
		return err
	}
	im.mark.State, im.mark.Finished = "done", im.s.now()
	b, _ := json.Marshal(im.mark)
	ctx, cancel := context.WithTimeout(im.ctx, im.s.callTimeout)
	defer cancel()
	seq := im.s.prefix + "q/seq"
	resp, err := im.s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(seq), "=", 0)).Then(
		clientv3.OpPut(seq, strconv.FormatUint(im.lastJob, 10)),
		clientv3.OpPut(im.s.importKey(), string(b)),
	).Commit()
	if err != nil {
		return fmt.Errorf("import: finish: %w", err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("%w: a node of the group queued a job during the import (were windows already using the group?)", ErrNotEmpty)
	}
	im.s.signal()
	return nil
}

// Group names the etcd cluster the store is on (for the mark left in the source).
func (s *Store) Group(ctx context.Context) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	resp, err := s.cli.Get(cctx, s.importKey())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("etcd cluster %x", resp.Header.ClusterId), nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
