package doctor

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/config"
)

// DefaultGroupSkew is how far apart the group's clocks may be before doctor warns.
// A heartbeat is at most a second old, so offsets under it are noise.
const DefaultGroupSkew = 2 * time.Second

// group checks the group of front-end machines when the configuration has
// [cluster] (spec cluster.md "Interfaces"): etcd TLS off loopback from the
// configuration, then members, quorum, leader, clocks and quota as the running
// agent sees them (GET /v1/cluster). Without [cluster] it adds nothing.
func (d *doctor) group(ctx context.Context, cfg *config.Config) {
	if cfg.Cluster == nil {
		return
	}
	d.addCheck(etcdTLSCheck(cfg.Cluster))
	d.addCheck(apiTLSCheck(cfg.API))
	if d.o.Group == nil {
		d.warn("group", "this build of doctor cannot ask the agent about its group",
			"run 'settle-agent cluster status' beside the running agent")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	st, err := d.o.Group(ctx, cfg)
	if err != nil {
		d.fail("group", fmt.Sprintf("the running agent does not say how its group is (GET /v1/cluster): %v", err),
			"start the agent ('settle-agent start') with [api] admin_token set and run doctor again beside it")
		return
	}
	for _, c := range groupChecks(st, d.o.GroupSkew) {
		d.addCheck(c)
	}
}

// groupChecks are the checks of one group status, one line each: members
// reachable, quorum, leader, clock skew between nodes (warn above maxSkew) and
// etcd's quota use (warn at cluster.QuotaWarn, fail when full).
func groupChecks(st cluster.Status, maxSkew time.Duration) []Check {
	if maxSkew <= 0 {
		maxSkew = DefaultGroupSkew
	}
	return []Check{membersCheck(st), quorumCheck(st), leaderCheck(st), groupClockCheck(st, maxSkew), quotaCheck(st.Etcd)}
}

func membersCheck(st cluster.Status) Check {
	const name = "group members"
	var down []string
	for _, m := range st.Members {
		if !m.Healthy {
			down = append(down, m.Name)
		}
	}
	switch {
	case len(st.Members) == 0:
		return Check{name, CheckFail, "node " + st.Node + " knows no member of its group", "check [cluster] peers (or endpoints) and that etcd answers; see docs/cluster.md", "", ""}

	case len(down) > 0:
		return Check{name, CheckWarn, fmt.Sprintf("%d of %d reachable; not answering: %s", len(st.Members)-len(down), len(st.Members), strings.Join(down, ", ")), "start settle-agent on those machines or check the network between them (port of their peer URL)", "", ""}

	}
	return Check{Name: name, Status: CheckOK, Detail: fmt.Sprintf("all %d reachable", len(st.Members))}
}

func quorumCheck(st cluster.Status) Check {
	const name = "group quorum"
	if !st.Quorum {
		return Check{name, CheckFail, "node " + st.Node + " has no quorum: it settles nothing until a majority of the group answers", "bring back enough members for a majority; see docs/cluster.md, \"No quorum\"", "", ""}

	}
	return Check{Name: name, Status: CheckOK, Detail: "node " + st.Node + " reaches a majority"}
}

func leaderCheck(st cluster.Status) Check {
	const name = "group leader"
	if st.Leader == "" {
		return Check{name, CheckWarn, "the group has no leader now: background work (catalogue sync, day-end) waits", "wait a lease (a few seconds) and run doctor again; if it stays, check quorum", "", ""}

	}
	return Check{Name: name, Status: CheckOK, Detail: st.Leader + " leads"}
}

// groupClockCheck compares the clocks of the nodes that keep a heartbeat: the
// spread of their offsets from this node (which is at offset 0).
func groupClockCheck(st cluster.Status, maxSkew time.Duration) Check {
	const name = "group clocks"
	if len(st.Nodes) == 0 {
		return Check{name, CheckWarn, "no node keeps a heartbeat in the group, so its clocks cannot be compared", "wait a few seconds after the agents start and run doctor again", "", ""}

	}
	var lo, hi time.Duration
	loNode, hiNode := st.Node, st.Node
	for _, n := range st.Nodes {
		if n.Offset < lo {
			lo, loNode = n.Offset, n.Node
		}
		if n.Offset > hi {
			hi, hiNode = n.Offset, n.Node
		}
	}
	spread := hi - lo
	if spread > maxSkew {
		return Check{name, CheckWarn, fmt.Sprintf("%s is %s ahead of %s (over %s)", hiNode, spread.Round(time.Millisecond), loNode, maxSkew), "synchronise every front-end to the same time server (w32tm /resync or chronyc makestep)", "", ""}

	}
	return Check{Name: name, Status: CheckOK, Detail: fmt.Sprintf("%d nodes within %s of each other", len(st.Nodes), spread.Round(time.Millisecond))}
}

func quotaCheck(u cluster.Usage) Check {
	const name = "etcd quota"
	if u.QuotaBytes <= 0 {
		return Check{name, CheckWarn, "etcd's quota is unknown", "check [cluster] quota_bytes and that etcd answers", "", ""}
	}
	r := u.Ratio()
	detail := fmt.Sprintf("%d MiB of %d MiB (%.0f%%)", u.DBSizeBytes>>20, u.QuotaBytes>>20, r*100)
	switch {
	case r >= 1:
		return Check{name, CheckFail, detail + ": full, etcd refuses writes", "raise [cluster] quota_bytes (8 GiB at most) or shorten [cluster] history; see docs/cluster.md", "", ""}

	case r >= cluster.QuotaWarn:
		return Check{name, CheckWarn, detail, "raise [cluster] quota_bytes or shorten [cluster] history before it fills; see docs/cluster.md", "", ""}
	}
	return Check{Name: name, Status: CheckOK, Detail: detail}
}

// etcdTLSCheck fails when an etcd URL of [cluster] leaves this machine without TLS.
func etcdTLSCheck(k *config.Cluster) Check {
	const name = "etcd TLS"
	urls := append([]string{}, k.Endpoints...)
	if k.ClientURL != "" {
		urls = append(urls, k.ClientURL)
	}
	for _, p := range k.ParsePeers() {
		urls = append(urls, p.URL)
	}
	var plain []string
	remote := 0
	for _, a := range urls {
		u, err := url.Parse(a)
		if err != nil || loopback(u.Hostname()) {
			continue
		}
		remote++
		if u.Scheme != "https" {
			plain = append(plain, a)
		}
	}
	switch {
	case len(plain) > 0:
		return Check{name, CheckFail, "without TLS off this machine: " + strings.Join(plain, ", "), "use https:// and set [cluster] ca_file, cert_file and key_file; see docs/cluster.md, \"Certificates\"", "", ""}

	case remote == 0:
		return Check{Name: name, Status: CheckOK, Detail: "every etcd address is loopback"}
	}
	return Check{Name: name, Status: CheckOK, Detail: fmt.Sprintf("%d addresses off loopback, all https", remote)}
}

// apiTLSCheck warns when a node of a group serves windows off this machine without
// TLS: in a group the windows reach every front-end over the network, and their
// tokens and the patients' data would cross it in clear.
func apiTLSCheck(a config.API) Check {
	const name = "API TLS"
	host, _, err := net.SplitHostPort(a.Listen)
	switch {
	case err == nil && host != "" && loopback(host):
		return Check{Name: name, Status: CheckOK, Detail: "[api] listen " + a.Listen + " is loopback"}
	case a.TLSCert != "":
		return Check{Name: name, Status: CheckOK, Detail: "[api] listen " + a.Listen + " serves TLS"}
	}
	return Check{name, CheckWarn, "windows reach this node at " + a.Listen + " without TLS: their tokens and the patients' data cross the network in clear", "set [api] tls_cert and tls_key (and client_ca to require the windows' certificates); see docs/cluster.md, \"Certificates\"", "", ""}

}

// loopback reports whether host is this machine only.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// addCheck records a check made whole by a pure check function.
func (d *doctor) addCheck(c Check) { d.add(c.Name, c.Status, c.Detail, c.Fix) }
