package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/settle-agent/settle-agent/config"
)

// MemberDir is the embedded member's folder inside [store] dir.
const MemberDir = "etcd"

// startMember starts this node's embedded etcd member. It returns once the member
// serves its listeners, not once the group has quorum: a node started alone answers
// no_quorum until the others are up.
func startMember(k *config.Cluster, dataDir string, log *slog.Logger) (*embed.Etcd, error) {
	ec := embed.NewConfig()
	ec.Name = k.Node
	ec.Dir = filepath.Join(dataDir, MemberDir)
	peer, err := url.Parse(k.PeerURL())
	if err != nil {
		return nil, fmt.Errorf("cluster peer URL of %s: %w", k.Node, err)
	}
	client, err := url.Parse(k.ClientURL)
	if err != nil {
		return nil, fmt.Errorf("cluster client_url: %w", err)
	}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
	ec.InitialCluster = k.InitialCluster()
	// A data folder that holds a member already ignores these and restarts from its
	// log: a killed node rejoins by itself.
	ec.ClusterState = embed.ClusterStateFlagNew
	ec.InitialClusterToken = "settle-agent"
	ec.QuotaBackendBytes = k.QuotaBytes
	// The engine's retention removes up to 500 bills in one transaction, several
	// thousand operations (etcd's default allows 128; docs/etcdstore.md).
	ec.MaxTxnOps = 10000
	ec.PreVote = true
	ec.StrictReconfigCheck = true
	ec.ListenMetricsUrls = nil
	ec.Metrics = "basic"
	if k.TLS() {
		tls := transport.TLSInfo{CertFile: k.CertFile, KeyFile: k.KeyFile, TrustedCAFile: k.CAFile, ClientCertAuth: true}
		ec.PeerTLSInfo, ec.ClientTLSInfo = tls, tls
	}
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zapLogger(log))
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start the embedded etcd member %s in %s: %w (is another agent using the folder or the ports %s, %s?)",
			k.Node, ec.Dir, err, peer.Host, client.Host)
	}
	return e, nil
}

// zapLogger hands etcd's warnings and errors to the agent's log (etcd logs with zap;
// its info lines would drown the agent's own).
func zapLogger(log *slog.Logger) *zap.Logger {
	return zap.New(&slogCore{log: log.With("component", "etcd"), level: zapcore.WarnLevel})
}

// slogCore is a zapcore.Core writing to a *slog.Logger.
type slogCore struct {
	log    *slog.Logger
	level  zapcore.Level
	fields []zapcore.Field
}

func (c *slogCore) Enabled(l zapcore.Level) bool { return l >= c.level }

func (c *slogCore) With(f []zapcore.Field) zapcore.Core {
	return &slogCore{log: c.log, level: c.level, fields: append(append([]zapcore.Field(nil), c.fields...), f...)}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, f []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, x := range append(append([]zapcore.Field(nil), c.fields...), f...) {
		x.AddTo(enc)
	}
	args := make([]any, 0, 2*len(enc.Fields))
	for k, v := range enc.Fields {
		args = append(args, k, v)
	}
	level := slog.LevelWarn
	if e.Level >= zapcore.ErrorLevel {
		level = slog.LevelError
	}
	c.log.Log(context.Background(), level, e.Message, args...)
	return nil
}

func (c *slogCore) Sync() error { return nil }
