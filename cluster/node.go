package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/server/v3/embed"
	"google.golang.org/grpc"

	"github.com/settle-agent/settle-agent/config"
)

// Prefix is where the agents of a group keep their keys in etcd; the store's
// documents live under Prefix+"store/", the election under ElectionPrefix.
const Prefix = "/settle-agent/"

// ElectionPrefix is the etcd prefix of the leader election: the leader's key is
// ElectionPrefix + a lease id, and its create revision fences the leader's writes.
const ElectionPrefix = Prefix + "leader"

// heartbeatPrefix holds one key per live node (on its session's lease): its clock
// and API address, for status and the clock-skew check.
const heartbeatPrefix = Prefix + "nodes/"

// Options build a Node.
type Options struct {
	Config *config.Cluster
	// DataDir is [store] dir: the embedded member keeps its data in DataDir/etcd.
	DataDir string
	// APIAddr is this node's API address, told to the others (status).
	APIAddr func() string
	Logger  *slog.Logger
	Now     func() time.Time
	// ProbeInterval is how often quorum is checked (default 500 ms).
	ProbeInterval time.Duration
}

// Maintenance is what the leader runs on etcd on schedule (an *etcdstore.Store).
type Maintenance interface {
	// Compact drops etcd's history before the current revision.
	Compact(ctx context.Context) (int64, error)
	// Defragment gives the freed space back on one member.
	Defragment(ctx context.Context, endpoint string) error
}

// Leadership is one term of this node as leader. Ctx ends when the term does (the
// session expired, the group lost quorum, the node closes); every write of the
// leader's work is fenced on Key's create revision Rev.
type Leadership struct {
	Ctx context.Context
	Key string
	Rev int64
}

// Node is this agent's place in the group.
type Node struct {
	o      Options
	k      *config.Cluster
	log    *slog.Logger
	now    func() time.Time
	member *embed.Etcd // nil with an external etcd
	cli    *clientv3.Client

	quorum   atomic.Bool
	leading  atomic.Bool
	lastLat  atomic.Int64 // nanoseconds of the last quorum round trip
	sessMu   sync.Mutex
	sess     *concurrency.Session
	sessGen  chan struct{} // closed when a new session replaces the old one
	leaderMu sync.Mutex
	leader   string // the group's leader as last seen ("" unknown)

	lead      chan Leadership
	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Start starts the embedded member (or connects to the external cluster) and the
// node's loops: quorum probe, session and election, heartbeat. It does not wait for
// quorum: until the group answers, Quorum is false and no leadership is handed out.
func Start(o Options) (*Node, error) {
	if o.Config == nil {
		return nil, fmt.Errorf("cluster: Options.Config is required")
	}
	n := &Node{o: o, k: o.Config, log: o.Logger, now: o.Now, lead: make(chan Leadership), sessGen: make(chan struct{})}
	if n.log == nil {
		n.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if n.now == nil {
		n.now = time.Now
	}
	if n.o.ProbeInterval <= 0 {
		n.o.ProbeInterval = 500 * time.Millisecond
	}
	if n.o.APIAddr == nil {
		n.o.APIAddr = func() string { return "" }
	}
	endpoints := n.k.Endpoints
	if n.k.Etcd == "embedded" {
		m, err := startMember(n.k, o.DataDir, n.log)
		if err != nil {
			return nil, err
		}
		n.member = m
		endpoints = []string{n.k.ClientURL}
	}
	cli, err := newClient(n.k, endpoints)
	if err != nil {
		n.closeMember()
		return nil, err
	}
	n.cli = cli
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = cancel
	n.goRun(func() { n.probeLoop(ctx) })
	n.goRun(func() { n.sessionLoop(ctx) })
	return n, nil
}

// Connect is an etcd client for a command run beside the group (cluster import): to
// this machine's embedded member at client_url, or to the external endpoints. The
// caller closes it.
func Connect(k *config.Cluster) (*clientv3.Client, error) {
	endpoints := k.Endpoints
	if k.Etcd == "embedded" {
		endpoints = []string{k.ClientURL}
	}
	return newClient(k, endpoints)
}

// newClient connects to endpoints, with the group's TLS when it has one.
func newClient(k *config.Cluster, endpoints []string) (*clientv3.Client, error) {
	cfg := clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          2 * time.Second,
		DialKeepAliveTime:    2 * time.Second,
		DialKeepAliveTimeout: 2 * time.Second,
		DialOptions:          []grpc.DialOption{},
		Logger:               zapLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
	if k.TLS() {
		info := transport.TLSInfo{CertFile: k.CertFile, KeyFile: k.KeyFile, TrustedCAFile: k.CAFile}
		tc, err := info.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("cluster TLS (ca_file, cert_file, key_file): %w", err)
		}
		tc.MinVersion = tls.VersionTLS12
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to etcd at %v: %w", endpoints, err)
	}
	return cli, nil
}

// Client is the node's etcd client (the store on etcd uses it).
func (n *Node) Client() *clientv3.Client { return n.cli }

// Name is this node's name in the group.
func (n *Node) Name() string { return n.k.Node }

// Quorum reports whether the group answered the last probe with a majority.
func (n *Node) Quorum() bool { return n.quorum.Load() }

// Leading reports whether this node holds the leadership now.
func (n *Node) Leading() bool { return n.leading.Load() }

// Lead hands out each leadership this node wins, one at a time: the receiver runs
// the leader's work under Leadership.Ctx until it ends.
func (n *Node) Lead() <-chan Leadership { return n.lead }

// Session is the node's current session (nil while there is none), and a channel
// closed when it is replaced.
func (n *Node) Session() (*concurrency.Session, <-chan struct{}) {
	n.sessMu.Lock()
	defer n.sessMu.Unlock()
	return n.sess, n.sessGen
}

// WaitSession waits for a live session, at most until ctx ends (ErrNoQuorum then).
func (n *Node) WaitSession(ctx context.Context) (*concurrency.Session, error) {
	for {
		s, gen := n.Session()
		if s != nil {
			select {
			case <-s.Done():
			default:
				return s, nil
			}
		}
		select {
		case <-gen:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for a session with the group: %w", ErrNoQuorum)
		}
	}
}

// Close resigns a leadership, closes the session, the client and the member.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.stop()
		n.wg.Wait()
		if s, _ := n.Session(); s != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, _ = n.cli.Revoke(ctx, s.Lease()) // the others need not wait out the lease
			cancel()
		}
		n.cli.Close()
		n.closeMember()
	})
	return nil
}

func (n *Node) closeMember() {
	if n.member != nil {
		n.member.Close()
	}
}

func (n *Node) goRun(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// probeLoop asks the group for a linearizable read every ProbeInterval: it needs a
// majority, so its answer is whether this node may settle.
func (n *Node) probeLoop(ctx context.Context) {
	t := time.NewTicker(n.o.ProbeInterval)
	defer t.Stop()
	misses := 0
	for {
		ok, lat := n.probe(ctx)
		switch {
		case ok:
			misses = 0
			n.lastLat.Store(int64(lat))
			if !n.quorum.Swap(true) {
				n.log.Info("cluster: the group answers with a majority; settling on this node", "node", n.k.Node)
			}
		default:
			misses++
			if misses >= 2 && n.quorum.Swap(false) {
				n.log.Warn("cluster: NO QUORUM; this node refuses to settle until its group is back (windows are told to use another front-end)", "node", n.k.Node)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) probe(ctx context.Context) (bool, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, 2*n.o.ProbeInterval)
	defer cancel()
	start := time.Now()
	_, err := n.cli.Get(ctx, Prefix+"quorum") // linearizable: answered only with a majority
	return err == nil, time.Since(start)
}

// CommitLatency is the last quorum read's round trip.
func (n *Node) CommitLatency() time.Duration { return time.Duration(n.lastLat.Load()) }
