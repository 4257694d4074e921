package etcdstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/store"
	"github.com/settle-agent/settle-agent/workflow"
)

// Options tune Open. A nil *Options means defaults.
type Options struct {
	// Prefix is where the store's keys live in etcd; default "/settle-agent/".
	Prefix string
	// Key is the [store] key (as configured: base64 or hex, or its 32 raw bytes):
	// documents are sealed exactly as store.Store seals them. Empty stores in clear.
	Key []byte
	// OldKeys still open what they sealed.
	OldKeys []string
	// Node names this node in the group: its msgid reservation is its own.
	Node string
	// Logger receives notable events; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means Queue.Now, then time.Now.
	Now func() time.Time
	// Queue are the queue's settings as queue.Options has them (lease time, backoff,
	// horizon, retention, jitter); the bbolt-only ones are ignored.
	Queue queue.Options
	// CallTimeout bounds one etcd request (default 5 s).
	CallTimeout time.Duration
	// MaxRequestBytes is etcd's request limit (default 1.5 MiB, etcd's own default).
	MaxRequestBytes int
}

// Store is workflow.Store on etcd. It is safe for concurrent use, by any number of
// processes sharing the cluster.
type Store struct {
	cli         *clientv3.Client
	prefix      string
	codec       *store.Codec
	log         *slog.Logger
	now         func() time.Time
	q           queue.Options
	node        string
	callTimeout time.Duration
	maxRequest  int

	ready chan struct{}
	stop  context.CancelFunc
	done  chan struct{}

	mu     sync.Mutex
	closed bool
	// retryMu is held by an Update's runs after its first (attempt).
	retryMu sync.Mutex
}

var _ workflow.Store = (*Store)(nil)

// Open opens the store under o.Prefix on cli (which the caller keeps and closes
// after the store). It watches the queue for jobs coming due until Close.
func Open(ctx context.Context, cli *clientv3.Client, o *Options) (*Store, error) {
	if o == nil {
		o = &Options{}
	}
	key := string(o.Key)
	if len(o.Key) == 32 {
		key = base64.StdEncoding.EncodeToString(o.Key)
	}
	codec, err := store.NewCodec(key, o.OldKeys)
	if err != nil {
		return nil, err
	}
	codec = codec.Dense() // every byte is replicated and held in memory
	s := &Store{cli: cli, prefix: o.Prefix, codec: codec, log: o.Logger, now: o.Now, q: o.Queue,
		node: o.Node, callTimeout: o.CallTimeout, maxRequest: o.MaxRequestBytes,
		ready: make(chan struct{}, 1), done: make(chan struct{})}
	if s.prefix == "" {
		s.prefix = "/settle-agent/"
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = s.q.Now
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.callTimeout <= 0 {
		s.callTimeout = 5 * time.Second
	}
	if s.maxRequest <= 0 {
		s.maxRequest = 3 << 19 // 1.5 MiB
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&s.q.LeaseTime, 30*time.Second)
	def(&s.q.MinBackoff, time.Second)
	def(&s.q.MaxBackoff, 5*time.Minute)
	def(&s.q.Horizon, 168*time.Hour)
	def(&s.q.Retention, 720*time.Hour)
	s.q.MaxBackoff = max(s.q.MaxBackoff, s.q.MinBackoff)
	if s.q.Jitter == nil {
		s.q.Jitter = func(n time.Duration) time.Duration { return rand.N(n) }
	}
	// The cluster answers, or Open says so now rather than at the first bill.
	cctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	if _, err := cli.Get(cctx, s.prefix+"q/seq"); err != nil {
		return nil, fmt.Errorf("open etcd store: %w", err)
	}
	wctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.watchDue(wctx)
	s.signal() // whatever was due before this node started
	return s, nil
}

// Close stops watching the queue. The client stays open (it is the caller's).
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	s.stop()
	<-s.done
	return nil
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// watchDue signals Ready whenever a job is put in the due index, by any node.
func (s *Store) watchDue(ctx context.Context) {
	defer close(s.done)
	for ctx.Err() == nil {
		wch := s.cli.Watch(clientv3.WithRequireLeader(ctx), s.prefix+"q/t/", clientv3.WithPrefix(), clientv3.WithFilterDelete())
		for resp := range wch {
			if resp.Err() != nil {
				break
			}
			if len(resp.Events) > 0 {
				s.signal()
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second): // the watch broke (no leader): watch again
			s.signal()
		}
	}
}

func (s *Store) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Ready gets a value whenever a job may have become due (on any node of the group).
func (s *Store) Ready() <-chan struct{} { return s.ready }

// Encode compresses and seals a document for Put (store.Codec).
func (s *Store) Encode(kind, id string, data []byte) ([]byte, error) {
	return s.codec.Encode(kind, id, data)
}

// Name is a keyed hash of b (store.Codec).
func (s *Store) Name(b []byte) []byte { return s.codec.Name(b) }

// Sealed reports whether documents are sealed with a key.
func (s *Store) Sealed() bool { return s.codec.Sealed() }

// View runs fn on one revision of the store.
func (s *Store) View(fn func(workflow.ReadTx) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	t := newTxn(s, context.Background())
	return fn(&writeTx{t: t})
}

// Update runs fn on a transaction-local view and commits its writes in one etcd
// transaction that compares everything fn read; when another writer came first, fn
// runs again. It returns once etcd has committed (a quorum has it on disk).
func (s *Store) Update(ctx context.Context, fn func(workflow.Tx) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	for try := 0; ; try++ {
		t := newTxn(s, ctx)
		err := s.attempt(try, t, fn)
		switch {
		case err == nil:
			if t.notify {
				s.signal()
			}
			return nil
		case !errors.Is(err, errConflict) && !t.again:
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("etcd store: gave up after %d conflicting tries: %w", try+1, ctx.Err())
		}
		// Writers that collide back off a little, at random, before the next run.
		d := time.Duration(rand.N(min(try+1, 20))) * time.Millisecond
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
}

// attempt is one run of an Update's function and its commit. A run after a conflict
// holds the node's retry lock: writers of one node that collided on a key every step
// writes (the amount carried offline, the queue's sequence) then go one after the
// other instead of colliding again and again, while first runs stay concurrent.
func (s *Store) attempt(try int, t *txn, fn func(workflow.Tx) error) error {
	if try > 0 {
		s.retryMu.Lock()
		defer s.retryMu.Unlock()
	}
	if err := fn(&writeTx{t: t}); err != nil {
		return err
	}
	return t.commit()
}

// msgidKey is the named value holding a node's msgid reservation (unix seconds).
func (s *Store) msgidKey() string { return "msgid_reserved/" + s.node }

// importedMsgidKey is the reservation of a single machine whose store was imported
// (store.Store keeps it under this name): no node issues msgids before it.
const importedMsgidKey = "msgid_reserved"

// MsgidReservation is the high-water second of msgids this node handed out before,
// or of the single machine imported into the group if that is later.
func (s *Store) MsgidReservation() (time.Time, error) {
	var own, imported string
	if err := s.View(func(tx workflow.ReadTx) error {
		own, imported = tx.Meta(s.msgidKey()), tx.Meta(importedMsgidKey)
		return nil
	}); err != nil {
		return time.Time{}, err
	}
	var mark int64
	for _, v := range []string{own, imported} {
		if v == "" {
			continue
		}
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("msgid reservation %q: %w", v, err)
		}
		mark = max(mark, sec)
	}
	if mark == 0 {
		return time.Time{}, nil
	}
	return time.Unix(mark, 0), nil
}

// ReserveMsgids persists this node's new high-water mark before msgids beyond the
// old one exist.
func (s *Store) ReserveMsgids(until time.Time) error {
	return s.Update(context.Background(), func(tx workflow.Tx) error {
		return tx.SetMeta(s.msgidKey(), strconv.FormatInt(until.Unix(), 10))
	})
}

// Compact drops etcd's history before the current revision (the leader calls it on
// schedule: without it every old version of every bill stays in etcd's space).
func (s *Store) Compact(ctx context.Context) (int64, error) {
	cctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	resp, err := s.cli.Get(cctx, s.prefix+"q/seq")
	if err != nil {
		return 0, fmt.Errorf("compact etcd: %w", err)
	}
	rev := resp.Header.Revision
	if _, err := s.cli.Compact(cctx, rev, clientv3.WithCompactPhysical()); err != nil {
		return 0, fmt.Errorf("compact etcd at revision %d: %w", rev, err)
	}
	return rev, nil
}

// Defragment gives the space freed by Compact back to the file system on one member
// (endpoint); members are defragmented one at a time, as it blocks the member.
func (s *Store) Defragment(ctx context.Context, endpoint string) error {
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := s.cli.Defragment(dctx, endpoint); err != nil {
		return fmt.Errorf("defragment etcd member %s: %w", endpoint, err)
	}
	return nil
}

// Usage is the size of the etcd database of the member the client talks to, and the
// quota it may grow to (etcd's alarm goes off past it and the group stops writing).
// The leader and doctor warn at 80%.
func (s *Store) Usage(ctx context.Context) (dbSize, quota int64, err error) {
	u, err := s.usage(ctx)
	return u.size, u.quota, err
}

type usage struct{ size, inUse, quota int64 }

func (s *Store) usage(ctx context.Context) (usage, error) {
	eps := s.cli.Endpoints()
	if len(eps) == 0 {
		return usage{}, errors.New("etcd usage: the client has no endpoint")
	}
	var u usage
	var errs []error
	for _, ep := range eps {
		cctx, cancel := context.WithTimeout(ctx, s.callTimeout)
		st, err := s.cli.Status(cctx, ep)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.DbSize > u.size {
			u.size, u.inUse = st.DbSize, st.DbSizeInUse
		}
		if st.DbSizeQuota > 0 {
			u.quota = st.DbSizeQuota
		}
	}
	if u.size == 0 && len(errs) > 0 {
		return usage{}, fmt.Errorf("etcd usage: %w", errors.Join(errs...))
	}
	if u.quota == 0 {
		u.quota = 2 << 30 // etcd's default
	}
	return u, nil
}
