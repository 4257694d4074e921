package etcdstore_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/store/etcdstore"
	"github.com/settle-agent/settle-agent/store/storetest"
	"github.com/settle-agent/settle-agent/workflow"
)

// member is one real etcd member in this process, on loopback ports, its data in a
// temporary folder.
type member struct {
	etcd *embed.Etcd
	cli  *clientv3.Client
	dir  string
}

// freeURL is a loopback URL on a port free a moment ago.
func freeURL() (url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, err
	}
	defer l.Close()
	return url.URL{Scheme: "http", Host: l.Addr().String()}, nil
}

// startEtcd starts a one-member etcd in dir.
func startEtcd(dir string) (*member, error) {
	cfg := embed.NewConfig()
	cfg.Name = "test"
	cfg.Dir = dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.MaxTxnOps = 10000
	var err error
	var cu, pu url.URL
	if cu, err = freeURL(); err != nil {
		return nil, err
	}
	if pu, err = freeURL(); err != nil {
		return nil, err
	}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("etcd not ready within 60 s")
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{cu.String()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		e.Close()
		return nil, err
	}
	return &member{etcd: e, cli: cli, dir: dir}, nil
}

func (m *member) close() {
	m.cli.Close()
	m.etcd.Close()
}

// shared is the etcd member the tests of this package share, each under a prefix
// of its own.
var shared *member

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "etcdstore-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared, err = startEtcd(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start etcd:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	shared.close()
	os.RemoveAll(dir)
	os.Exit(code)
}

var prefixes atomic.Int64

// newPrefix is a key prefix no other test uses.
func newPrefix() string { return fmt.Sprintf("/test-%d/", prefixes.Add(1)) }

const testKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes, base64

func openStore(t testing.TB, cli *clientv3.Client, prefix string, q queue.Options) *etcdstore.Store {
	t.Helper()
	s, err := etcdstore.Open(context.Background(), cli, &etcdstore.Options{Prefix: prefix, Key: []byte(testKey), Queue: q, Node: "fe1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestContract: the etcd store keeps the contract of workflow.Store, on a real etcd.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, q queue.Options) workflow.Store {
		return openStore(t, shared.cli, newPrefix(), q)
	})
}
