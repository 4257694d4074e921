package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// `bench e2e --cluster 3`: the same run against a group of agents on embedded etcd
// on this machine (docs/cluster.md). Window w talks to node w mod n; the leader
// drains the backlog; CPU is the sum of the nodes', memory the largest node's; the
// store's size is one member's etcd database (each member holds the whole group).

// newGroupSystems writes the configurations of a group of n agents, node i in
// dir/fe<i>, each with an embedded etcd member on loopback ports, and one [store] key.
func newGroupSystems(dir, simURL string, o Options) ([]*system, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	key := base64.StdEncoding.EncodeToString(raw)
	var peers, clients []string
	for i := 1; i <= o.Cluster; i++ {
		pp, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("bench e2e: find a free port: %w", err)
		}
		cp, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("bench e2e: find a free port: %w", err)
		}
		peers = append(peers, fmt.Sprintf("%q", fmt.Sprintf("fe%d=http://127.0.0.1:%d", i, pp)))
		clients = append(clients, fmt.Sprintf("http://127.0.0.1:%d", cp))
	}
	var out []*system
	for i := 1; i <= o.Cluster; i++ {
		d := filepath.Join(dir, fmt.Sprintf("fe%d", i))
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, err
		}
		cluster := fmt.Sprintf("node = \"fe%d\"\nnode_digit = %d\netcd = \"embedded\"\npeers = [%s]\nclient_url = %q\n",
			i, i, strings.Join(peers, ", "), clients[i-1])
		s, err := newSystem(d, simURL, o, key, cluster)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// startAll starts every node's agent at once (a group's members wait for each
// other) and waits until each answers /healthz.
func (r *run) startAll(ctx context.Context) error {
	r.procs = make([]*agentProc, len(r.systems))
	for i, s := range r.systems {
		p, err := startAgent(ctx, r.opt.AgentCommand(s.configPath), filepath.Join(s.dir, "agent.out"))
		if err != nil {
			return err
		}
		r.procs[i] = p
	}
	r.proc, r.sys = r.procs[0], r.systems[0]
	for i, s := range r.systems {
		if err := s.waitHealthy(ctx, r.procs[i], 60*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// stopAll stops every node's agent.
func (r *run) stopAll(grace time.Duration) error {
	var first error
	for _, p := range r.procs {
		if p == nil {
			continue
		}
		if err := p.stop(grace); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// sysFor is the node window w (from 0) talks to.
func (r *run) sysFor(w int) *system { return r.systems[w%len(r.systems)] }

// exited is the first node whose process ended, or nil.
func (r *run) exited() *agentProc {
	for _, p := range r.procs {
		if p.exited() {
			return p
		}
	}
	return nil
}

// rssMax is the largest node's peak resident memory; anonMax its anonymous part.
func (r *run) rssMax() (peak, anon int64) {
	for _, p := range r.procs {
		peak, anon = max(peak, p.rss.max()), max(anon, p.rss.anonMax())
	}
	return peak, anon
}

// waitOnlineAll waits until every node sees the platform online (or offline).
func (r *run) waitOnlineAll(ctx context.Context, online bool) error {
	for _, s := range r.systems {
		if err := s.waitOnline(ctx, online); err != nil {
			return err
		}
	}
	return nil
}

// waitReady waits until every node of a group answers /readyz with 200 (quorum, a
// store): a node answers /healthz before its group has a majority.
func (r *run) waitReady(ctx context.Context) error {
	for _, s := range r.systems {
		err := poll(ctx, 60*time.Second, 20*time.Millisecond, "the group to be ready (/readyz 200 on every node)", func() (bool, error) {
			a, err := s.do(ctx, "GET", "/readyz", "", nil)
			return err == nil && a.status == 200, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
